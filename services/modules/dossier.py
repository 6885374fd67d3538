"""The per-household dossier (档案目录): which documents a complete file holds, by household kind."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

# code, label, required for which kinds ("*" every kind), the attachment categories that fill it
DOSSIER: list[tuple[str, Any, tuple[str, ...], tuple[str, ...]]] = [
    ("decision_notice", _l("Expropriation decision / announcement"), ("*",), ("decision_notice",)),
    ("survey_form", _l("Household survey form"), ("*",), ("survey_form", "photo")),
    ("identity", _l("ID cards / hukou booklet"), ("*",), ("id_scan", "hukou")),
    ("title", _l("Proof of title"), ("*",), ("title_deed",)),
    ("measurement", _l("Measurement table"), ("*",), ("measurement",)),
    ("rights_table", _l("Rights confirmation table"), ("*",), ("rights_table",)),
    ("appraisal_report", _l("Appraisal report"), ("*",), ("appraisal_report",)),
    ("special_group", _l("Special group certificates"), (), ("special_group",)),
    ("licence", _l("Business licence / lease"), ("enterprise", "shop"), ("licence", "lease")),
    ("calculation_sheet", _l("Compensation calculation sheet"), ("*",), ("calculation_sheet",)),
    ("review_minutes", _l("Policy review / meeting minutes"), (), ("minutes", "review")),
    ("agreement", _l("Compensation agreement"), ("*",), ("signed_agreement", "agreement")),
    ("housing_choice", _l("Housing choice / lottery confirmation"), (), ("housing_choice",)),
    ("payment_voucher", _l("Payment vouchers"), ("*",), ("voucher",)),
    ("vacated", _l("Vacating acceptance"), ("*",), ("vacated",)),
    ("demolished", _l("Demolition acceptance"), (), ("demolished",)),
    ("title_cancelled", _l("Cancellation of title"), (), ("title_cancelled",)),
    ("legal", _l("Administrative ruling / court documents"), (), ("ruling", "court")),
    ("audit_report", _l("Audit report"), (), ("audit_report",)),
]
CATEGORIES: set[str] = {c for *_, cats in DOSSIER for c in cats} | {"other"}


def required(code: str, kind: str) -> bool:
    """Whether a dossier item must be present for a household of this kind."""
    for item, _label, kinds, _cats in DOSSIER:
        if item == code:
            return "*" in kinds or kind in kinds
    return False


def label(code: str) -> str:
    """The display name of a dossier item."""
    for item, name, _kinds, _cats in DOSSIER:
        if item == code:
            return str(name)
    return code


def checklist(kind: str, with_files: set[str], previous: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The checklist for a household: each item, whether required, whether a file is attached."""
    before = {row.get("code"): row for row in previous or []}
    rows = []
    for code, _name, _kinds, categories in DOSSIER:
        has_file = bool(with_files & set(categories))
        old = before.get(code, {})
        rows.append({"code": code, "present": bool(old.get("present")) or has_file, "note": old.get("note"),
                     "required": required(code, kind), "has_file": has_file})
    return rows
