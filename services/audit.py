"""The audit trail: one row per write, in the same transaction as the write."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.extensions import db
from app.models import AuditLog, utcnow
from services.context import Actor


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record(actor: Actor, action: str, target_type: str | None = None, target_id: Any = None, *,
           before: Any = None, after: Any = None, household_id: int | None = None,
           at: datetime | None = None) -> AuditLog:
    """Add an audit row for an operation; it commits or rolls back with the operation."""
    row = AuditLog(
        at=at or utcnow(),
        actor_id=actor.id,
        actor_name=actor.username,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        household_id=household_id,
        before=_plain(before),
        after=_plain(after),
        ip=actor.ip,
    )
    db.session.add(row)
    return row
