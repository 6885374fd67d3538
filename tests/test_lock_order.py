"""One lock order for everything that changes a case (its instance, then its steps): claims, releases,
reassignments and the escalation worker racing completions never deadlock, and each race has one winner.

PostgreSQL only (SQLite has one write lock, nothing to order): the server counts deadlocks per database.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import HumanTask, TaskEvent, User, utcnow
from services import escalation, identity, runtime, supervision, tasks
from services.context import Actor
from services.errors import ServiceError
from tests.factories import PASSWORD, STEP_DATA, new_household

ROUNDS = 8


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks and their order are PostgreSQL's")


def deadlocks() -> int:
    """Deadlocks the server has detected in the test database (its statistics are flushed within a second)."""
    time.sleep(1.2)
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return conn.scalar(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))


def race(app: Flask, *moves: Callable[[], object]) -> list[str]:
    """Run the moves at the same moment, each in its own thread and session: 'ok' or the refusal's code."""
    barrier = threading.Barrier(len(moves))
    outcomes = [""] * len(moves)

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                moves[index]()
                outcomes[index] = "ok"
            except ServiceError as exc:
                outcomes[index] = exc.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(moves))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def open_surveys(world, count: int, *, overdue: bool = False) -> list[int]:
    start = utcnow() - timedelta(days=30) if overdue else utcnow()
    ids = []
    for index in range(count):
        _, instance = new_household(world, code=f"L-{index:03d}", now=start)
        ids.append(db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id)))
    db.session.commit()
    return ids


def completions(task_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(TaskEvent.human_task_id == task_id,
                                                         TaskEvent.action == "completed"))


@pytest.fixture()
def second_surveyor(world):
    user = identity.create_user("surveyor2", PASSWORD, "第二调查员", ["surveyor"])
    world.project.groups[0].members.append(user)
    db.session.commit()
    return user


def actor_of(user_id: int) -> Actor:
    """The user as the racing thread's own session loads them."""
    return Actor(db.session.get(User, user_id), "127.0.0.1")


def complete(world, task_id: int) -> Callable[[], object]:
    surveyor = world.users["surveyor"].id
    return lambda: runtime.complete_task(actor_of(surveyor), task_id, STEP_DATA["survey"], now=utcnow())


def test_claims_and_releases_racing_completions_never_deadlock(app, world, second_surveyor):
    before = deadlocks()
    for task_id in open_surveys(world, ROUNDS):
        def claim(task_id=task_id, other=second_surveyor.id):
            return tasks.claim(actor_of(other), task_id, utcnow())
        outcomes = race(app, complete(world, task_id), claim)
        assert sorted(outcomes) in (["claimed", "ok"], ["ok", "task_not_ready"]), outcomes
        assert completions(task_id) == (1 if outcomes[0] == "ok" else 0)
    assert deadlocks() == before


def test_reassignments_racing_completions_never_deadlock(app, world, second_surveyor):
    before = deadlocks()
    for task_id in open_surveys(world, ROUNDS):
        def reassign(task_id=task_id, boss=world.users["supervisor"].id, other=second_surveyor.id):
            return supervision.reassign(actor_of(boss), [task_id], other, utcnow())
        outcomes = race(app, complete(world, task_id), reassign)
        assert sorted(outcomes) in (["claimed", "ok"], ["invalid_input", "ok"]), outcomes
        assert completions(task_id) == (1 if outcomes[0] == "ok" else 0)
    assert deadlocks() == before


def test_the_escalation_worker_racing_completions_never_deadlocks_nor_refuses_one(app, world):
    before = deadlocks()
    for task_id in open_surveys(world, ROUNDS, overdue=True):
        db.session.execute(update(HumanTask).where(HumanTask.id == task_id).values(next_escalation_at=utcnow()))
        db.session.commit()
        outcomes = race(app, complete(world, task_id), lambda: escalation.run(utcnow()))
        assert outcomes == ["ok", "ok"], outcomes
        assert completions(task_id) == 1
    assert deadlocks() == before
