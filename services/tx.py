"""One database transaction per state change, with conflicts turned into 409s."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from services.errors import Conflict


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
        raise Conflict("someone else changed this record at the same time; reload and try again",
                       code="stale") from None
    except IntegrityError:
        _fail(unit)
        raise Conflict("the change conflicts with existing data", code="integrity") from None
    except OperationalError as exc:
        _fail(unit)
        if "locked" in str(exc).lower() or "deadlock" in str(exc).lower():
            raise Conflict("the case is busy; try again", code="busy") from None
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


def take_write_lock() -> None:
    """On SQLite, take the database's write lock now, so concurrent workers queue instead of racing.

    PostgreSQL needs nothing here: its workers claim rows with FOR UPDATE SKIP LOCKED.
    """
    if is_sqlite():
        db.session.execute(text("UPDATE roles SET code = code WHERE 1 = 0"))
