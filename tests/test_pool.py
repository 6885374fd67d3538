"""Pooled connections: pinged only after sitting idle, and a dead one is replaced before anyone gets it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from app import pool
from app.extensions import db


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    made = create_engine(database_url, pool_size=1, max_overflow=0)
    pool.install(made, idle_seconds=10)
    yield made
    made.dispose()


@pytest.fixture()
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection):
        seen.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return seen


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real = pool.time.monotonic
    monkeypatch.setattr(pool.time, "monotonic", lambda: real() + seconds)


def test_a_connection_used_moments_ago_is_not_pinged(engine: Engine, pings: list[int]) -> None:
    for _ in range(5):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []


def test_a_connection_idle_for_a_while_is_pinged_once(engine: Engine, pings: list[int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _later(monkeypatch, 11)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == [1]


def test_the_application_installs_it(app) -> None:
    with app.app_context():
        assert db.engine in pool._installed


def test_a_dead_connection_is_replaced_before_use(engine: Engine, is_postgres: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if not is_postgres:
        pytest.skip("a server that drops connections: PostgreSQL")
    with engine.connect() as conn:
        before = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with create_engine(engine.url, isolation_level="AUTOCOMMIT").connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before}).scalar() is True
    _later(monkeypatch, 11)
    with engine.connect() as conn:  # without the ping this would fail: the pooled connection is gone
        after = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    assert after != before
