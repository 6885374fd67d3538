"""The audit trail (操作有痕、查询有迹): one row per write or sensitive read, in the same transaction,
chained by hashes so that an edited, deleted or reordered row is found.

Services call record(); the rows wait in the session until it commits. Just before the
commit the rows are appended under a lock (PostgreSQL: a transaction-level advisory
lock; SQLite: the database write lock), each carrying the hash of the row before it and
its own hash over its canonical content, so the chain stays linear whatever the number
of concurrent writers.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, scoped_session

from app.extensions import db
from app.models import AuditLog, utcnow
from services.context import Actor
from services.tx import take_write_lock

GENESIS = "0" * 64
_PENDING = "audit_pending"
_LOCK_KEY = 7_242_026  # the advisory lock that orders appends to the chain


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
           at: datetime | None = None) -> dict[str, Any]:
    """Queue an audit row; it is written when (and only if) the surrounding transaction commits."""
    row = {
        "at": (at or utcnow()).replace(tzinfo=None),
        "actor_id": actor.id,
        "actor_name": actor.username,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "household_id": household_id,
        "before": _plain(before),
        "after": _plain(after),
        "ip": actor.ip,
    }
    db.session().info.setdefault(_PENDING, []).append(row)
    return row


def canonical(row: dict[str, Any]) -> bytes:
    """The bytes a row's hash covers: every recorded field and the previous hash, in a fixed form."""
    content = {k: _plain(row.get(k)) for k in ("at", "actor_id", "actor_name", "action", "target_type",
                                                "target_id", "household_id", "before", "after", "ip", "prev_hash")}
    if isinstance(row.get("at"), datetime):
        content["at"] = row["at"].isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(row: dict[str, Any]) -> str:
    """The hash of a row's canonical content."""
    return hashlib.sha256(canonical(row)).hexdigest()


def _append(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        take_write_lock(connection)
    previous = connection.execute(select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).scalar()
    previous = previous or GENESIS
    for row in pending:
        row["prev_hash"] = previous
        row["hash"] = previous = digest(row)
    connection.execute(insert(AuditLog), pending)


def _discard(session: Session, *args: Any) -> None:
    session.info.pop(_PENDING, None)


def install(sessions: scoped_session) -> None:
    """Hook the chain into the commits of the application's sessions (the app factory does; idempotent).

    Only those sessions: a session SQLAlchemy makes elsewhere in the process is left alone."""
    if not event.contains(sessions, "before_commit", _append):
        event.listen(sessions, "before_commit", _append)
        event.listen(sessions, "after_rollback", _discard)


@dataclass(frozen=True)
class Broken:
    """The first row where the chain does not hold, and why."""

    row_id: int
    reason: str


def _rows(batch: int = 2000) -> Iterator[AuditLog]:
    last = 0
    while True:
        chunk = list(db.session.scalars(select(AuditLog).where(AuditLog.id > last).order_by(AuditLog.id)
                                        .limit(batch)))
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id
        db.session.expunge_all()


def verify() -> tuple[int, Broken | None]:
    """Walk the whole chain; return how many rows hold and the first broken link, if any."""
    previous, count = GENESIS, 0
    for row in _rows():
        values = {c: getattr(row, c) for c in ("at", "actor_id", "actor_name", "action", "target_type",
                                                "target_id", "household_id", "before", "after", "ip", "prev_hash")}
        if row.prev_hash != previous:
            return count, Broken(row.id, "its link to the row before it does not match (a row was deleted, "
                                         "inserted or reordered)")
        if digest(values) != row.hash:
            return count, Broken(row.id, "its content does not match its hash (the row was edited)")
        previous, count = row.hash, count + 1
    return count, None
