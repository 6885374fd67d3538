"""Reading a step form posted from a page into the shape its schema loads.

Fields are posted under dotted names: `head_name`, `business.tenant`, `persons.0.name` — the same
paths the field errors come back under, so every problem finds its input again.
"""
from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

_TRUE = ("on", "true", "1", "yes")
VERSION_FIELD = "_version"  # the module's version the page was loaded with; a stale save is refused
ROWS_MARKER = "_rows"  # posted with every record table, so an emptied table still reaches the schema


def values_from_form(schema: dict[str, Any], form: MultiDict) -> dict[str, Any]:
    """The schema's fields, trimmed; blank ones left out (a required one then reads as missing).

    Unchecked boxes are false, as a browser does not send them; blank rows of record tables are dropped.
    """
    return _object(schema, form, "")


def _is_records(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "array" and bool((prop.get("items") or {}).get("properties"))


def _is_part(prop: dict[str, Any]) -> bool:
    return prop.get("type") in ("object", ["object", "null"]) and bool(prop.get("properties"))


def _object(schema: dict[str, Any], form: MultiDict, prefix: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    required = schema.get("required", [])
    for name, prop in schema.get("properties", {}).items():
        path = prefix + name
        if _is_records(prop):
            rows = _records(prop["items"], form, path)
            if rows:
                values[name] = rows
            elif f"{path}.{ROWS_MARKER}" in form and name not in required:
                values[name] = []  # the table was shown and emptied
        elif _is_part(prop):
            part = _object(prop, form, path + ".")
            if _filled(part):
                values[name] = part
        elif prop.get("type") == "boolean":
            if prefix == "" or path in form:
                values[name] = form.get(path, "").strip().lower() in _TRUE
        else:
            raw = (form.get(path) or "").strip()
            if raw:
                values[name] = raw
    return values


def _records(item_schema: dict[str, Any], form: MultiDict, path: str) -> list[dict[str, Any]]:
    """The rows posted as path.N.field, in the order of N, without the rows left blank."""
    prefix = path + "."
    heads = (key[len(prefix):].split(".", 1)[0] for key in form if key.startswith(prefix))
    indexes = sorted({int(head) for head in heads if head.isascii() and head.isdigit()})
    rows = []
    for index in indexes:
        row_prefix = f"{prefix}{index}."
        if not _row_has_input(item_schema, form, row_prefix):
            continue
        row = _object(item_schema, form, row_prefix)
        for name, prop in item_schema.get("properties", {}).items():
            if prop.get("type") == "boolean" and name not in row:
                row[name] = form.get(row_prefix + name, "").strip().lower() in _TRUE
        rows.append(row)
    return rows


def _row_has_input(item_schema: dict[str, Any], form: MultiDict, row_prefix: str) -> bool:
    """True when anything but hidden ids, check boxes and choices left at their default was filled in (a blank
    spare row is not a record)."""
    for name, prop in item_schema.get("properties", {}).items():
        if prop.get("x-widget") == "hidden" or prop.get("type") == "boolean":
            continue
        raw = (form.get(row_prefix + name) or "").strip()
        if raw and raw != prop.get("default"):
            return True
    return False


def _filled(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_filled(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value not in (None, "", False)
