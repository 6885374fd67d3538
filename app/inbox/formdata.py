"""Reading a step form posted from a page into the shape its schema loads."""
from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict


def values_from_form(schema: dict[str, Any], form: MultiDict) -> dict[str, Any]:
    """Keep the schema's fields; drop blank optional ones; unchecked boxes are false."""
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "boolean":
            values[name] = form.get(name) in ("on", "true", "1", "yes")
            continue
        raw = form.get(name)
        if raw is None:
            continue
        raw = raw.strip()
        if raw == "":
            if name in schema.get("required", []):
                values[name] = raw
            continue
        values[name] = raw
    return values
