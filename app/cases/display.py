"""Showing a module's stored data with the labels of the forms that wrote it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.forms import FORMS, json_schema
from services.roles import role_label

_EXTRA = {"by_name": _l("Signed by"), "at": _l("Signed at")}
_SKIPPED = ("by", "by_username")


@dataclass(frozen=True)
class Table:
    """A list of records of a module (persons, buildings …) shown as a table."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


def _labels(module: str) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = {}
    for form in FORMS.values():
        if form.module == module:
            props.update(json_schema(form).get("properties", {}))
    return props


def _hidden(prop: dict[str, Any] | None) -> bool:
    return bool(prop) and prop.get("x-widget") == "hidden"


def _value(prop: dict[str, Any] | None, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "、".join(_value(prop.get("items") if prop else None, v) for v in value) or "—"
    if prop and "x-labels" in prop:
        return str(prop["x-labels"].get(value, value))
    if prop and str(prop.get("x-widget") or "").startswith("file:"):
        from app.cases.files import file_label

        return file_label(value)
    return str(value)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _title(prop: dict[str, Any] | None, key: str) -> str:
    return str(prop.get("title", key)) if prop else key


def _rows(data: dict[str, Any], props: dict[str, dict[str, Any]], locale: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in (data or {}).items():
        prop = props.get(key)
        if key in _SKIPPED or _hidden(prop) or _is_records(value):
            continue
        if key == "signatures" and isinstance(value, dict):
            for role, signature in value.items():
                who = signature.get("by_name") or signature.get("by") or ""
                when = (signature.get("at") or "").replace("T", " ").rstrip("Z")[:16]
                opinion = signature.get("opinion") or ""
                rows.append((_("Signature: %(role)s", role=role_label(role, locale)),
                             " · ".join(p for p in (who, when, opinion) if p)))
        elif isinstance(value, dict):
            inner_props = {**props, **(prop or {}).get("properties", {})}
            inner = _rows({k: v for k, v in value.items() if k not in _SKIPPED}, inner_props, locale)
            title = _("Tracking audit") if key == "tracking_audit" else _title(prop, key)
            rows.extend((f"{title} · {label}", shown) for label, shown in inner)
        elif key in _EXTRA:
            rows.append((str(_EXTRA[key]), _value(None, value)))
        else:
            rows.append((_title(prop, key), _value(prop, value)))
    return rows


def module_rows(module: str, data: dict[str, Any], locale: str) -> list[tuple[str, str]]:
    """(label, shown value) pairs of a module's data; signatures and nested parts flattened, record lists left out."""
    return _rows(data, _labels(module), locale)


def _tables(data: dict[str, Any], props: dict[str, dict[str, Any]], prefix: str = "") -> list[Table]:
    tables: list[Table] = []
    for key, value in (data or {}).items():
        prop = props.get(key) or {}
        if _is_records(value):
            item_props = (prop.get("items") or {}).get("properties", {})
            keys = [k for k in item_props if not _hidden(item_props[k])]
            for record in value:  # columns the form does not know, in the order they first appear
                keys.extend(k for k in record if k not in keys and k not in item_props and k not in _SKIPPED)
            columns = [_title(item_props.get(k), k) for k in keys]
            rows = [[_value(item_props.get(k), record.get(k)) for k in keys] for record in value]
            tables.append(Table(prefix + _title(prop or None, key), columns, rows))
        elif isinstance(value, dict) and key != "signatures":
            tables.extend(_tables(value, prop.get("properties", {}), prefix + _title(prop or None, key) + " · "))
    return tables


def module_tables(module: str, data: dict[str, Any]) -> list[Table]:
    """The lists of records in a module's data (persons, buildings, payments …), one table each."""
    return _tables(data, _labels(module))
