"""What changed upstream since a module was filled: for each changed module, who changed it and its fields
old → new, by their titles and by the names of the buildings and persons (never their ids)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import ModuleRevision, User
from services.modules.case import Case

SKIPPED = {"id", "upstream", "computed_at", "by", "at", "checks", "signatures"}
# the parts of computed modules that no form declares, by their titles
EXTRA_TITLES = {"total": _l("Total (yuan)"), "items": _l("Compensation items"), "amount": _l("Amount (yuan)"),
                "label": _l("Item"), "basis": _l("Basis")}
ROW_KEYS = ("id", "building_id", "person_id", "code")


@dataclass
class FieldChange:
    """One field of one row (or of the module itself) before and after."""

    row: str
    field: str
    old: str
    new: str


@dataclass
class UpstreamChange:
    """A module this one was filled from, changed since: its versions, who changed it last, what changed."""

    module: str
    synced_version: int
    current_version: int
    changed_by: str | None
    changed_at: datetime | None
    fields: list[FieldChange] = field(default_factory=list)


def upstream_changes(case: Case, changed: list[dict[str, Any]]) -> list[UpstreamChange]:
    """The changed upstream modules (as service.changed_upstream lists them) with their field changes."""
    out = []
    for entry in changed:
        source = entry["module"]
        record = case.records.get(source)
        if record is None:
            continue
        before = db.session.scalar(select(ModuleRevision.data).where(
            ModuleRevision.record_id == record.id, ModuleRevision.version == entry["synced_version"])) or {}
        editor = db.session.get(User, record.updated_by_id) if record.updated_by_id else None
        out.append(UpstreamChange(source, entry["synced_version"], entry["current_version"],
                                  editor.display_name if editor else None, record.updated_at,
                                  diff(case, source, before, record.data or {})))
    return out


def _schema_props(module: str) -> dict[str, Any]:
    from services.forms import FORMS, json_schema

    form = next((f for f in FORMS.values() if f.module == module and f.section is None), None)
    return json_schema(form).get("properties", {}) if form else {}


def diff(case: Case, module: str, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """The fields that differ between two documents of a module, worded for a page."""
    props = _schema_props(module)
    names = _names(case)
    changes: list[FieldChange] = []
    for key in [*after.keys(), *(k for k in before if k not in after)]:
        if key in SKIPPED or (key not in props and key not in EXTRA_TITLES):
            continue
        prop = props.get(key, {})
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, list) or isinstance(new, list):
            changes += _rows(prop, key, old or [], new or [], names)
        elif not isinstance(old, dict) and not isinstance(new, dict):
            changes.append(FieldChange("", _title(prop, key), shown(prop, old), shown(prop, new)))
    return changes


def _names(case: Case) -> dict[str, dict[Any, str]]:
    return {"building_id": {b.id: b.label for b in case.buildings},
            "person_id": {p.id: p.name for p in case.persons}}


def _row_key(row: dict[str, Any], index: int) -> Any:
    for key in ROW_KEYS:
        if row.get(key) is not None:
            return (key, row[key])
    return ("index", index)


def _row_name(row: dict[str, Any], key: Any, names: dict[str, dict[Any, str]], title: str) -> str:
    kind, value = key
    if kind in names and value in names[kind]:
        return names[kind][value]
    return str(row.get("label") or row.get("name") or gettext("%(table)s, row %(n)s", table=title,
                                                                 n=value + 1 if kind == "index" else "?"))


def _rows(prop: dict[str, Any], key: str, old: list[Any], new: list[Any],
          names: dict[str, dict[Any, str]]) -> list[FieldChange]:
    """Row by row (matched by id, building, person or code): added, removed and changed fields."""
    title = _title(prop, key)
    item_props = (prop.get("items") or {}).get("properties") or {}
    before = {_row_key(r, i): r for i, r in enumerate(old) if isinstance(r, dict)}
    after = {_row_key(r, i): r for i, r in enumerate(new) if isinstance(r, dict)}
    out = []
    for row_key, row in after.items():
        name = f"{title} · {_row_name(row, row_key, names, title)}"
        previous = before.get(row_key)
        if previous is None:
            out.append(FieldChange(name, gettext("Row"), "—", gettext("added")))
            continue
        for sub in [*row.keys(), *(k for k in previous if k not in row)]:
            if sub in SKIPPED or sub in ROW_KEYS or (item_props.get(sub) or {}).get("x-widget") == "hidden":
                continue
            sub_prop = item_props.get(sub, {})
            if previous.get(sub) != row.get(sub) and (sub in item_props or sub in EXTRA_TITLES):
                out.append(FieldChange(name, _title(sub_prop, sub), shown(sub_prop, previous.get(sub)),
                                       shown(sub_prop, row.get(sub))))
    for row_key, row in before.items():
        if row_key not in after:
            out.append(FieldChange(f"{title} · {_row_name(row, row_key, names, title)}", gettext("Row"),
                                   gettext("present"), gettext("removed")))
    return out


def _title(prop: dict[str, Any], key: str) -> str:
    return str(prop.get("title") or EXTRA_TITLES.get(key) or key)


def shown(prop: dict[str, Any], value: Any) -> str:
    """A stored value as a page shows it: choices by their labels, yes/no, — for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    labels = prop.get("x-labels") or {}
    if isinstance(value, str) and value in labels:
        return str(labels[value])
    return str(value)
