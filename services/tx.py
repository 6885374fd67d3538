"""One database transaction per state change, with conflicts turned into 409s."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from services.errors import Conflict
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "record_stale": N_("someone else changed this record at the same time; reload and try again"),
    "integrity": N_("the change conflicts with existing data"),
    "busy": N_("the case is busy; try again"),
})


@dataclass
class Unit:
    """A request whose changes commit together with what it writes last (an API call's idempotency key):
    while active, each transaction block only flushes; a failed block ends it, and later blocks commit."""

    active: bool = True


_unit: ContextVar[Unit | None] = ContextVar("unit", default=None)


def begin_unit() -> Unit:
    """Defer the commits of this context's transaction blocks to the caller (see Unit)."""
    unit = Unit()
    _unit.set(unit)
    return unit


def end_unit() -> None:
    """Back to committing at the end of each block."""
    _unit.set(None)


@contextmanager
def transaction(*, keep_loaded: bool = False) -> Iterator[None]:
    """Commit what the block did, or roll all of it back; a lost race is a Conflict.

    keep_loaded leaves the objects the block loaded as they were committed, so that answering with them
    (the changed case, its steps) does not read each one back. Inside an active Unit the block flushes
    instead of committing (the unit's owner commits).
    """
    unit = _unit.get()
    try:
        yield
        if unit is not None and unit.active:
            db.session.flush()
        else:
            commit(keep_loaded=keep_loaded)
    except StaleDataError:
        _fail(unit)
        raise Conflict(problem("record_stale"), code="stale") from None
    except IntegrityError:
        _fail(unit)
        raise Conflict(problem("integrity"), code="integrity") from None
    except OperationalError as exc:
        _fail(unit)
        if "locked" in str(exc).lower() or "deadlock" in str(exc).lower():
            raise Conflict(problem("busy"), code="busy") from None
        raise
    except BaseException:
        _fail(unit)
        raise


def _fail(unit: Unit | None) -> None:
    db.session.rollback()
    if unit is not None:
        unit.active = False


def commit(*, keep_loaded: bool = False) -> None:
    """Commit the session; keep_loaded skips expiring what it holds (its values are what was just written)."""
    session = db.session()
    if not keep_loaded or not session.expire_on_commit:
        session.commit()
        return
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def is_sqlite() -> bool:
    """True when the session talks to SQLite."""
    return db.session.get_bind().dialect.name == "sqlite"


# a write that changes nothing: SQLite has no row locks, and any UPDATE takes the database's write lock
_WRITE_LOCK = text("UPDATE roles SET code = code WHERE 1 = 0")


def take_write_lock(connection: Connection | None = None) -> None:
    """On SQLite, take the database's write lock now (on the session's connection, or the one given), so
    concurrent changes queue up behind each other instead of racing or failing.

    PostgreSQL needs nothing here: it locks rows (FOR UPDATE, advisory locks).
    """
    if connection is None and is_sqlite():
        connection = db.session.connection()
    if connection is not None and connection.dialect.name == "sqlite":
        connection.execute(_WRITE_LOCK)


def locked(model: type, row_id: int) -> Any:
    """A row read afresh for a change and held until the transaction ends (PostgreSQL: SELECT … FOR UPDATE;
    SQLite: its write lock first), so that a check of its current values holds until the commit; None if missing."""
    take_write_lock()
    return db.session.get(model, row_id, with_for_update=True, populate_existing=True)
