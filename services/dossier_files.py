"""The household's dossier on the case page: per item of its kind, the files there and what is missing,
and the whole dossier as one .zip (files named in Chinese by item, category and order; audited)."""
from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.models import Attachment, Household
from services import audit, files
from services.access import get_household
from services.context import Actor
from services.modules.dossier import DOSSIER
from services.tx import transaction

CATEGORY_LABELS: dict[str, Any] = {
    "decision_notice": _l("Expropriation decision / announcement"), "survey_form": _l("Survey form"),
    "photo": _l("Site photo"), "id_scan": _l("ID card scan"), "hukou": _l("Hukou booklet"),
    "title_deed": _l("Title deed"), "measurement": _l("Measurement table"), "rights_table": _l("Rights table"),
    "appraisal_report": _l("Appraisal report"), "special_group": _l("Special group certificate"),
    "licence": _l("Business licence"), "lease": _l("Lease contract"),
    "calculation_sheet": _l("Calculation sheet"), "minutes": _l("Meeting minutes"), "review": _l("Review opinion"),
    "signed_agreement": _l("Signed agreement (scan)"), "agreement": _l("Agreement"),
    "housing_choice": _l("Housing choice confirmation"), "voucher": _l("Payment voucher"),
    "vacated": _l("Vacating acceptance"), "demolished": _l("Demolition acceptance"),
    "title_cancelled": _l("Title cancellation"), "ruling": _l("Administrative ruling"),
    "court": _l("Court document"), "audit_report": _l("Audit report"), "other": _l("Other"),
    # a project's own files (integrity and internal audit), named in the trail the same way
    "selection_minutes": _l("Minutes of the appraisal firm's selection"),
    "rectification": _l("Rectification evidence"),
}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
              "application/pdf": ".pdf", files.DOCX: ".docx", files.XLSX: ".xlsx"}


def category_label(code: str | None) -> str:
    """A category's name for pages."""
    return str(CATEGORY_LABELS.get(code or "", code or ""))


def item_categories(code: str) -> tuple[str, ...]:
    """The upload categories that fill a dossier item."""
    return next((cats for item, _label, _kinds, cats in DOSSIER if item == code), ("other",))


def _applies(kinds: tuple[str, ...], kind: str) -> bool:
    return "*" in kinds or kind in kinds


def categories_for(kind: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The upload categories offered for a household of this kind, grouped by dossier item: the items it
    requires first, then the others, then "other"."""
    ordered = sorted(DOSSIER, key=lambda item: not _applies(item[2], kind))
    groups = [(str(label), [(c, category_label(c)) for c in cats]) for _code, label, _kinds, cats in ordered]
    return groups + [(category_label("other"), [("other", category_label("other"))])]


@dataclass
class DossierItem:
    """One item of the dossier: whether it is required, its files, whether it was ticked by the archivist."""

    code: str
    label: str
    required: bool
    files: list[Attachment] = field(default_factory=list)
    ticked: bool = False

    @property
    def missing(self) -> bool:
        return self.required and not self.files and not self.ticked


def items(household: Household, attachments: list[Attachment], checklist: list[dict[str, Any]] | None = None
          ) -> list[DossierItem]:
    """The dossier of a household: every item its kind requires, and every other item that has files."""
    ticked = {row.get("code") for row in checklist or [] if row.get("present")}
    out = []
    for code, label, kinds, cats in DOSSIER:
        item = DossierItem(code, str(label), _applies(kinds, household.kind),
                           [a for a in attachments if a.category in cats], code in ticked)
        if item.required or item.files or item.ticked:
            out.append(item)
    others = [a for a in attachments if not any(a.category in cats for *_rest, cats in DOSSIER)]
    if others:
        out.append(DossierItem("other", category_label("other"), False, others))
    return out


def _member_names(entries: list[DossierItem]) -> list[tuple[str, Attachment]]:
    """Each file's name in the archive: 序号_事项_类别_次序.扩展名 (Chinese, whatever the reader's language)."""
    out = []
    with force_locale("zh"):
        for number, item in enumerate([e for e in entries if e.files], start=1):
            label = item.label if item.code == "other" else next(str(lb) for c, lb, *_ in DOSSIER if c == item.code)
            for order, row in enumerate(item.files, start=1):
                ext = EXTENSIONS.get(row.content_type, "")
                category = category_label(row.category)
                parts = [f"{number:02d}", label] + ([category] if category != label else []) + [f"{order}{ext}"]
                name = "_".join(parts).replace("/", "／")
                out.append((name, row))
    return out


def archive(actor: Actor, household_id: int, *, upload_dir: str, now: datetime) -> tuple[IO[bytes], str]:
    """The household's whole dossier as one .zip (a temporary file, rewound) and its Chinese file name."""
    household = get_household(actor.user, household_id)
    entries = items(household, files.current(household.id))
    members = _member_names(entries)
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - handed to send_file
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as zipped:
        for name, row in members:
            path = files.storage_path(upload_dir, row.sha256)
            if path.is_file():
                zipped.write(path, name)
    spool.seek(0)
    with transaction():
        audit.record(actor, "dossier.download", "household", household.id, household_id=household.id,
                     after={"files": len(members)}, at=now)
    with force_locale("zh"):
        filename = f"{household.code}_{household.head_name}_档案.zip"
    return spool, files.filecheck.clean_name(filename)
