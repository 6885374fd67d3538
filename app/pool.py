"""Connection pool care: a pooled connection is checked before use only when it sat idle for a while.

SQLAlchemy's pool_pre_ping checks every checkout, and a request checks a connection out several
times (the token, the change, the answer): three round trips and six autocommit switches per
request on psycopg for nothing while the pool is busy. A connection that was used moments ago is
alive as far as anyone can know without using it; one that sat idle longer than PING_IDLE_SECONDS
(a firewall's idle cut, a database restart overnight) is pinged, and a dead one is replaced before
the request sees it. A database that fails in the middle of a busy period fails the requests in
flight either way; SQLAlchemy then invalidates the whole pool, so the next ones reconnect.
"""
from __future__ import annotations

import time
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

_IDLE_SINCE = "idle_since"
_installed: weakref.WeakSet[Engine] = weakref.WeakSet()


def install(engine: Engine, idle_seconds: float) -> None:
    """Ping the engine's pooled connections on checkout when they were idle longer than idle_seconds."""
    if engine in _installed:
        return
    _installed.add(engine)
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= idle_seconds:  # new, or used moments ago
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means: do not hand this connection out
            raise DisconnectionError(f"a pooled connection did not answer its ping: {exc}") from exc

    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "checkout", checkout)
    if dialect.name == "postgresql":
        event.listen(engine, "connect", _more_prepared)


def _checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()


def _more_prepared(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement on the server after a few runs and keeps 100 of them per connection;
    # a request's statements (their IN lists and batch sizes vary) outgrow that and churn, so keep more
    dbapi_connection.prepared_max = 500
