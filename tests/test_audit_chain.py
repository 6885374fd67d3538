"""The audit trail is append-only and hash-chained: editing, deleting or reordering a row is found."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import AuditLog
from services import audit
from services.context import Actor
from services.tx import transaction
from tests.factories import new_household


def _tamper(sql: str, **params) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def test_every_write_is_chained_and_the_chain_verifies(world):
    new_household(world, "A-1")
    new_household(world, "A-2")
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert len(rows) >= 4
    assert rows[0].prev_hash == audit.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))
    count, broken = audit.verify()
    assert broken is None and count == len(rows)


def test_a_rolled_back_transaction_leaves_no_audit_row(world):
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    with pytest.raises(RuntimeError), transaction():
        audit.record(Actor(world.users["admin"]), "test.nothing")
        raise RuntimeError("abandon")
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before
    assert audit.verify()[1] is None


@pytest.mark.parametrize("attack", ["edit", "delete", "reorder"])
def test_tampering_is_named_by_the_cli(ctx, world, attack):
    for index in range(3):
        new_household(world, f"T-{index}")
    ids = db.session.scalars(select(AuditLog.id).order_by(AuditLog.id)).all()
    victim = ids[3]
    if attack == "edit":
        _tamper("UPDATE audit_log SET actor_name = 'someone_else' WHERE id = :id", id=victim)
    elif attack == "delete":
        _tamper("DELETE FROM audit_log WHERE id = :id", id=victim)
    else:
        for old, new in ((victim, -1), (ids[4], victim), (-1, ids[4])):  # swap two rows' places
            _tamper("UPDATE audit_log SET id = :new WHERE id = :old", old=old, new=new)
    db.session.expire_all()
    result = ctx.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    expected = ids[4] if attack == "delete" else victim
    assert f"BROKEN at row {expected}" in result.output


def test_the_intact_chain_passes_the_cli(ctx, world):
    new_household(world, "OK-1")
    result = ctx.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_postgresql_refuses_update_and_delete(world, is_postgres):
    if not is_postgres:
        pytest.skip("the database-level refusal is PostgreSQL's trigger")
    new_household(world, "PG-1")
    from sqlalchemy.exc import DBAPIError
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.execute(text(statement))


def test_concurrent_writers_keep_the_chain_linear(ctx, world):
    admin_id = world.users["admin"].id
    barrier = threading.Barrier(6)

    def writer(n: int) -> None:
        with ctx.app_context():
            from app.models import User
            actor = Actor(db.session.get(User, admin_id))
            barrier.wait()
            for i in range(15):
                with transaction():
                    audit.record(actor, "test.concurrent", "thread", f"{n}-{i}")
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    db.session.expire_all()
    count, broken = audit.verify()
    assert broken is None
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "test.concurrent")) == 90
    hashes = db.session.scalars(select(AuditLog.prev_hash)).all()
    assert len(hashes) == len(set(hashes))  # no two rows claim the same predecessor: no fork
