"""Fault injection against the real stack: gunicorn, `flask worker` processes, a PostgreSQL of the test's
own that is restarted under load, an SMTP sink that stalls, refuses with 451 and counts.

Asserted: no e-mail is delivered twice for one notice across worker kills (SIGKILL mid-sending) and database
restarts — at most the one copy in flight at each fault (services/mailer.py says why it cannot be zero);
temporary refusals and stalls are delivered later; claims racing completions and deadline changes with the
worker escalating never deadlock and each race has one winner; a step overdue again after its deadline
changed is announced again; a call repeated with the same Idempotency-Key after its answer was cut off is
answered with the first answer and done once; with the database away the API answers 503 in its error shape
with Retry-After and comes back by itself. PostgreSQL leg only; each case is bounded (≤ 60 s).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import HumanTask, Notification, TaskEvent, utcnow
from services import identity, notifications
from services.tx import transaction
from tests import factories
from tests.fault_support import OwnPostgres, Processes, Sink, wait_until

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="the fault-injection tests run on the PostgreSQL leg")
LEASE = 3  # seconds: a claim of a killed worker is taken again after this


class Stack:
    def __init__(self, pg: OwnPostgres, sink: Sink, procs: Processes, app, world) -> None:
        self.pg, self.sink, self.procs, self.app, self.world = pg, sink, procs, app, world
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            status, body, _ = self.procs.request("POST", "/api/v1/auth/token",
                                                 {"username": username, "password": factories.PASSWORD})
            assert status == 200, body
            self.tokens[username] = body["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, as_: str, body=None, headers: dict | None = None):
        return self.procs.request(method, path, body, {"Authorization": f"Bearer {self.token(as_)}",
                                                       **(headers or {})})

    def deadlocks(self) -> int:
        time.sleep(1.2)  # the server flushes its statistics within a second
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return conn.scalar(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    pg = OwnPostgres()
    sink = Sink()
    procs = None
    try:
        from sqlalchemy import create_engine
        admin = create_engine(pg.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "relocation"'))
        admin.dispose()
        config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
        uploads = tmp_path_factory.mktemp("fault-uploads")
        config.update(SQLALCHEMY_DATABASE_URI=pg.url("relocation"), UPLOAD_DIR=str(uploads))
        app = create_app(config)
        context = app.app_context()
        context.push()
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        world = factories.build_world()
        world.users["surveyor"].email = "surveyor@example.org"
        world.project.groups[0].members.append(identity.create_user("surveyor2", factories.PASSWORD, "第二调查员",
                                                                    ["surveyor"]))
        db.session.commit()
        env = {**os.environ, "DATABASE_URL": pg.url("relocation"), "SECRET_KEY": "fault-tests",
               "UPLOAD_DIR": str(uploads), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
               "SMTP_TIMEOUT": "1", "SMTP_LEASE_SECONDS": str(LEASE), "SMTP_RETRY_SECONDS": "1",
               "REMINDER_LEAD": "PT1H", "SUPERVISOR_ESCALATION_AFTER": "P30D"}
        env.pop("TEST_DATABASE_URL", None)
        procs = Processes(env, tmp_path_factory.mktemp("fault-logs"))
        procs.start_web()
        yield Stack(pg, sink, procs, app, world)
        db.session.remove()
        db.engine.dispose()
        context.pop()
    finally:
        if procs is not None:
            procs.stop()
        sink.stop()
        pg.destroy()


def pending_copies(prefix: str, count: int, user_id: int) -> list[str]:
    texts = [f"{prefix}-{index:04d} 通知" for index in range(count)]
    with transaction():
        for body in texts:
            notifications.notify({user_id}, "note", {"text": body}, now=utcnow())
    return texts


def email_states(prefix: str) -> dict[str, int]:
    db.session.rollback()
    return dict(db.session.execute(select(Notification.email_status, func.count())
                                   .where(Notification.message.like(f"{prefix}-%"))
                                   .group_by(Notification.email_status)).all())


def all_sent(prefix: str, count: int):
    return lambda: email_states(prefix).get("sent", 0) == count


def wait_for_deliveries(sink: Sink, texts: list[str], count: int) -> None:
    """Until count more of these texts have arrived (the worker is in the middle of sending them)."""
    start = sum(sink.received[t] for t in texts)
    wait_until(lambda: sum(sink.received[t] for t in texts) >= start + count, 20, "deliveries")


def repeats(sink: Sink, texts: list[str]) -> tuple[int, int]:
    """(copies beyond the first, the most copies of one text); every text must have come."""
    counts = [sink.received[t] for t in texts]
    assert min(counts) >= 1, [t for t in texts if not sink.received[t]]
    return sum(c - 1 for c in counts), max(counts)


def test_worker_kills_mid_sending_repeat_at_most_the_copy_in_flight(stack):
    texts = pending_copies("K", 80, stack.world.users["surveyor"].id)
    stack.sink.delay = 0.02
    worker = stack.procs.start_worker()
    kills = 0
    for _ in range(3):
        wait_for_deliveries(stack.sink, texts, 10)  # killed while it is sending
        stack.procs.kill_worker(worker)
        kills += 1
        worker = stack.procs.start_worker()
    wait_until(all_sent("K", len(texts)), 50, "every copy sent")
    stack.procs.kill_worker(worker)
    stack.sink.delay = 0
    extra, most = repeats(stack.sink, texts)
    assert extra <= kills and most <= 2, (extra, most)


def test_database_restarts_while_sending_repeat_at_most_the_copy_in_flight(stack):
    texts = pending_copies("R", 120, stack.world.users["surveyor"].id)
    stack.sink.delay = 0.02
    worker = stack.procs.start_worker()
    wait_for_deliveries(stack.sink, texts, 10)  # the database goes while the worker is sending
    stack.pg.restart()
    wait_for_deliveries(stack.sink, texts, 10)
    stack.pg.restart(pause=1.5)
    db.session.rollback()
    db.engine.dispose()
    wait_until(all_sent("R", len(texts)), 50, "every copy sent after the restarts")
    stack.procs.kill_worker(worker)
    stack.sink.delay = 0
    extra, most = repeats(stack.sink, texts)
    assert extra <= 2 and most <= 2, (extra, most)


def test_temporary_refusals_and_a_stalled_server_are_delivered_later_once(stack):
    texts = pending_copies("T", 30, stack.world.users["surveyor"].id)
    stack.sink.refuse_first = True
    stack.sink.stall_until = time.time() + 2
    worker = stack.procs.start_worker()
    try:
        wait_until(all_sent("T", len(texts)), 50, "every refused copy sent later")
    finally:
        stack.procs.kill_worker(worker)
        stack.sink.refuse_first = False
    assert all(stack.sink.refused[t] == 1 for t in texts)
    assert repeats(stack.sink, texts) == (0, 1)
    assert email_states("T") == {"sent": len(texts)}


def open_surveys(stack: Stack, prefix: str, count: int, days_ago: int) -> list[int]:
    ids = []
    for index in range(count):
        _, instance = factories.new_household(stack.world, code=f"{prefix}-{index:03d}",
                                              now=utcnow() - timedelta(days=days_ago))
        ids.append(db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id)))
    db.session.commit()
    return ids


def test_claims_racing_completions_and_deadline_changes_never_deadlock(stack):
    task_ids = open_surveys(stack, "D", 10, days_ago=30)
    before = stack.deadlocks()
    worker = stack.procs.start_worker()
    stop = threading.Event()
    deadline_answers: list[int] = []

    def change_deadlines() -> None:
        dues = ["P1D", "P2D"]
        while not stop.is_set():
            status, _, _ = stack.call("PUT", "/api/v1/deadlines/survey", "supervisor", {"due": dues[0]})
            deadline_answers.append(status)
            dues.reverse()

    changer = threading.Thread(target=change_deadlines)
    changer.start()
    outcomes = []
    try:
        for task_id in task_ids:
            barrier = threading.Barrier(2)
            answers: list = [None, None]

            def move(index: int, task_id=task_id, barrier=barrier, answers=answers) -> None:
                barrier.wait(10)
                if index == 0:
                    answers[0] = stack.call("POST", f"/api/v1/tasks/{task_id}/complete", "surveyor",
                                            {"data": factories.STEP_DATA["survey"]})
                else:
                    answers[1] = stack.call("POST", f"/api/v1/tasks/{task_id}/claim", "surveyor2")

            threads = [threading.Thread(target=move, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            outcomes.append(tuple((a[0], (a[1] or {}).get("error", {}).get("code")) for a in answers))
    finally:
        stop.set()
        changer.join(30)
        stack.procs.kill_worker(worker)
    for complete, claim in outcomes:  # one winner: the completion (then the step is gone) or the claim
        assert sorted([complete, claim]) in ([(200, None), (409, "task_not_ready")],
                                             [(200, None), (409, "claimed")]), outcomes
    db.session.rollback()
    done = db.session.scalar(select(func.count()).where(TaskEvent.human_task_id.in_(task_ids),
                                                         TaskEvent.action == "completed"))
    assert done == sum(1 for complete, _ in outcomes if complete[0] == 200)
    assert deadline_answers and set(deadline_answers) == {200}, deadline_answers
    assert stack.deadlocks() == before
    assert "deadlock detected" not in stack.pg.server_log()


def test_a_step_overdue_again_after_its_deadline_changed_is_announced_again(stack):
    (task_id,) = open_surveys(stack, "O", 1, days_ago=20)
    surveyor = stack.world.users["surveyor"].id

    def overdue_notices() -> int:
        db.session.rollback()
        return db.session.scalar(select(func.count()).where(Notification.kind == "overdue",
                                                             Notification.task_id == task_id,
                                                             Notification.user_id == surveyor))

    worker = stack.procs.start_worker()
    try:
        status, _, _ = stack.call("PUT", "/api/v1/deadlines/survey", "supervisor", {"due": "P7D"})
        assert status == 200
        wait_until(lambda: overdue_notices() == 1, 20, "the first overdue notice")
        status, _, _ = stack.call("PUT", "/api/v1/deadlines/survey", "supervisor", {"due": "P10D"})
        assert status == 200
        wait_until(lambda: overdue_notices() == 2, 20, "the overdue notice of the new deadline")
        time.sleep(1)
        assert overdue_notices() == 2
    finally:
        stack.procs.kill_worker(worker)


def test_a_completion_cut_off_and_sent_again_with_its_key_is_done_once(stack):
    (task_id,) = open_surveys(stack, "I", 1, days_ago=0)
    path = f"/api/v1/tasks/{task_id}/complete"
    body = factories.STEP_DATA["survey"]
    payload = json.dumps({"data": body}).encode()
    with socket.create_connection(("127.0.0.1", stack.procs.web_port), timeout=10) as conn:
        conn.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      f"Authorization: Bearer {stack.token('surveyor')}\r\nIdempotency-Key: cut-1\r\n"
                      f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode() + payload)
    # the answer was never read; the client only knows it sent the call

    def completed() -> bool:
        db.session.rollback()
        return db.session.get(HumanTask, task_id, populate_existing=True).status == "completed"

    wait_until(completed, 20, "the first call committed")
    answers = [stack.call("POST", path, "surveyor", {"data": body}, {"Idempotency-Key": "cut-1"}) for _ in range(2)]
    assert [a[0] for a in answers] == [200, 200], answers
    assert all(a[2].get("Idempotent-Replayed") == "true" for a in answers)
    assert answers[0][1] == answers[1][1] and answers[0][1]["instance"]["current_tasks"][0]["bpmn_id"] == "appraisal"
    status, problem, _ = stack.call("POST", path, "surveyor", {"data": body})
    assert (status, problem["error"]["code"]) == (409, "task_not_ready")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(TaskEvent.human_task_id == task_id,
                                                         TaskEvent.action == "completed")) == 1


def test_the_database_away_is_a_503_in_the_api_shape_and_the_service_comes_back_by_itself(stack):
    stack.token("surveyor")  # signed in before the outage
    db.session.remove()  # the test's own connections are not part of the outage
    db.engine.dispose()
    stack.pg._run("pg_ctl", "-D", str(stack.pg.data), "-m", "fast", "-w", "-t", "30", "stop")
    try:
        status, body, headers = stack.call("GET", "/api/v1/tasks", "surveyor")
        assert status == 503, body
        assert body["error"]["code"] == "unavailable"
        assert int(headers.get("Retry-After", "0")) > 0
        health, _, _ = stack.procs.request("GET", "/healthz")
        assert health == 503
    finally:
        stack.pg.start()
        db.engine.dispose()
    wait_until(lambda: stack.call("GET", "/api/v1/tasks", "surveyor")[0] == 200, 30, "the API answers again")
