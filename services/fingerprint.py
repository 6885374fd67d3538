"""Optimistic concurrency of the administration's edit forms: a record's editable values hashed into a short
fingerprint that the form (or an API client) sends back with its change. A change made on a fingerprint that is no
longer the record's is refused (409 stale_edit) naming who changed the record and when, so that two administrators
editing the same record at once never silently overwrite each other."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, validate
from marshmallow import fields as f
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, User
from services.context import office
from services.errors import Conflict, InvalidInput
from services.forms.registry import flatten_messages
from services.problems import N_, CodedSchema, name_param, problem, register

LENGTH = 16
FIELD = "fingerprint"

register({
    "stale_edit": N_("%(by)s changed this record at %(changed_at)s, after you opened it. Nothing of yours was "
                     "saved; what you typed is still on the page. Compare it with the record, then save again to "
                     "keep your version."),
    "stale_edit_system": N_("The system changed this record at %(changed_at)s, after you opened it. Nothing of "
                            "yours was saved; what you typed is still on the page. Compare it with the record, then "
                            "save again to keep your version."),
    "stale_edit_unknown": N_("Someone else changed this record after you opened it. Nothing of yours was saved; "
                             "what you typed is still on the page. Compare it with the record, then save again to "
                             "keep your version."),
})


def _local(value: Any, locale: str) -> str:
    """A stored UTC time in the office's time zone, to the minute (both languages)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(office().timezone)).strftime("%Y-%m-%d %H:%M")


name_param("changed_at", _local)


def field() -> f.String:
    """The optional field of a change's body that carries the fingerprint the change was made on."""
    return f.String(allow_none=True, validate=[validate.Length(max=64), validate.Regexp(r"^[0-9a-f]*$")],
                    metadata={"description": "the fingerprint the record was read with (its GET answers it); when "
                                             "given and the record has changed since, the change is refused with "
                                             "409 stale_edit. Without it the change is made as sent."})


class _Sent(CodedSchema):
    fingerprint = field()


def of(values: Mapping[str, Any]) -> str:
    """The fingerprint of a record's editable values: a short sha256 of their deterministic JSON (dates and
    numbers as their text)."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:LENGTH]


def take(data: Any) -> tuple[Any, str | None]:
    """The body of a change without its fingerprint, and the fingerprint sent (None when none was)."""
    if not isinstance(data, dict) or FIELD not in data:
        return data, None
    try:
        sent = _Sent().load({FIELD: data[FIELD]})[FIELD]
    except ValidationError as exc:
        raise InvalidInput(problem("has_errors"), flatten_messages(exc.messages)) from None
    return {k: v for k, v in data.items() if k != FIELD}, sent or None


def check(sent: str | None, current: Mapping[str, Any], target_type: str, target_id: int,
          actions: tuple[str, ...]) -> None:
    """Refuse a change made on a fingerprint that is not the record's current one (none sent: no check); the
    refusal names who last changed the record and when, from its latest audit row of those actions."""
    if sent is None or sent == of(current):
        return
    row = db.session.scalars(select(AuditLog).where(
        AuditLog.target_type == target_type, AuditLog.target_id == str(target_id), AuditLog.action.in_(actions))
        .order_by(AuditLog.id.desc()).limit(1)).first()
    if row is None:
        raise Conflict(problem("stale_edit_unknown"), code="stale_edit")
    editor = db.session.get(User, row.actor_id) if row.actor_id is not None else None
    if editor is None:
        raise Conflict(problem("stale_edit_system", changed_at=row.at), code="stale_edit")
    raise Conflict(problem("stale_edit", by=editor.display_name, changed_at=row.at), code="stale_edit")
