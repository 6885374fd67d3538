"""Showing a module's stored data with the labels of the forms that wrote it."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.forms import FORMS, json_schema
from services.roles import role_label

_EXTRA = {"by_name": _l("Signed by"), "at": _l("Signed at")}


def _labels(module: str) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = {}
    for form in FORMS.values():
        if form.module == module:
            props.update(json_schema(form).get("properties", {}))
    return props


def _value(prop: dict[str, Any] | None, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if prop and "x-labels" in prop:
        return str(prop["x-labels"].get(value, value))
    return str(value)


def module_rows(module: str, data: dict[str, Any], locale: str) -> list[tuple[str, str]]:
    """(label, shown value) pairs of a module's data; nested signatures and audits flattened."""
    props = _labels(module)
    rows: list[tuple[str, str]] = []
    for key, value in (data or {}).items():
        if key == "signatures" and isinstance(value, dict):
            for role, signature in value.items():
                who = signature.get("by_name") or signature.get("by") or ""
                when = (signature.get("at") or "").replace("T", " ").rstrip("Z")[:16]
                opinion = signature.get("opinion") or ""
                rows.append((_("Signature: %(role)s", role=role_label(role, locale)),
                             " · ".join(p for p in (who, when, opinion) if p)))
        elif isinstance(value, dict):
            inner = module_rows(module, {k: v for k, v in value.items() if k not in ("by", "by_username")}, locale)
            title = _("Tracking audit") if key == "tracking_audit" else key
            rows.extend((f"{title} · {label}", shown) for label, shown in inner)
        elif key in _EXTRA:
            rows.append((str(_EXTRA[key]), _value(None, value)))
        elif key not in ("by",):
            prop = props.get(key)
            rows.append((str(prop.get("title", key)) if prop else key, _value(prop, value)))
    return rows
