"""The worker: deadline escalation once per notice (two workers at once too), BPMN timers, e-mail."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, Notification, ProcessInstance, utcnow
from services import deadlines, definitions, escalation, mailer, runtime, tasks, worker
from services.context import Actor
from tests.factories import new_household

TIMES = escalation.EscalationTimes(reminder_lead=timedelta(hours=24), supervisor_after=timedelta(seconds=10))
NO_MAIL = mailer.SmtpSettings(host=None)


def notices(kind: str | None = None) -> list[tuple[int, str, int]]:
    query = select(Notification.user_id, Notification.kind, Notification.task_id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.execute(query).all())


def survey_row(instance_id: int) -> HumanTask:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.bpmn_id == "survey"))


def test_a_short_deadline_escalates_to_assignee_then_leader_then_supervisor_each_once(world):
    start = utcnow()
    deadlines.set_deadline(world.actor("supervisor"), "survey", {"due": "PT2S"}, now=start)
    _, instance = new_household(world, now=start)
    row = survey_row(instance.id)
    assert row.due_at == start + timedelta(seconds=2)
    tasks.claim(world.actor("surveyor"), row.id, start)
    surveyor, leader, supervisor = (world.users[r].id for r in ("surveyor", "group_leader", "supervisor"))

    assert escalation.run(start, TIMES) == 0                       # the reminder is due after one second
    assert escalation.run(start + timedelta(seconds=1.2), TIMES) == 1
    assert notices("reminder") == [(surveyor, "reminder", row.id)]
    assert escalation.run(start + timedelta(seconds=1.5), TIMES) == 0
    assert escalation.run(start + timedelta(seconds=2.1), TIMES) == 2
    assert sorted(n[0] for n in notices("overdue")) == sorted([surveyor, leader])
    assert escalation.run(start + timedelta(seconds=5), TIMES) == 0
    assert escalation.run(start + timedelta(seconds=12.5), TIMES) == 1
    assert notices("escalated") == [(supervisor, "escalated", row.id)]
    assert escalation.run(start + timedelta(days=3), TIMES) == 0
    assert len(notices()) == 4


def test_a_worker_that_was_down_catches_up_once_and_skips_the_stale_reminder(world):
    start = utcnow() - timedelta(days=30)
    _, instance = new_household(world, now=start)  # the survey is due after seven days
    row = survey_row(instance.id)
    assert escalation.run(utcnow(), TIMES) > 0
    kinds = sorted({n[1] for n in notices()})
    assert kinds == ["escalated", "overdue"]
    pool = {u for u, k, _ in notices("overdue")}
    assert world.users["surveyor"].id in pool and world.users["group_leader"].id in pool
    db.session.refresh(row)
    assert row.escalation_level == escalation.SUPERVISOR and row.next_escalation_at is None
    assert escalation.run(utcnow(), TIMES) == 0


def test_completing_a_step_stops_its_escalation(world):
    start = utcnow() - timedelta(days=30)
    _, instance = new_household(world, now=start)
    row = survey_row(instance.id)
    from tests.factories import STEP_DATA
    runtime.complete_task(world.actor("surveyor"), row.id, STEP_DATA["survey"], now=start + timedelta(hours=1))
    db.session.refresh(row)
    assert row.next_escalation_at is None
    escalation.run(utcnow(), TIMES)
    assert not [n for n in notices() if n[2] == row.id]


def test_two_workers_at_once_send_each_notice_exactly_once(world, ctx):
    start = utcnow() - timedelta(days=30)
    for index in range(40):
        new_household(world, code=f"W-{index:03d}", now=start)
    expected_per_task = None
    barrier = threading.Barrier(2)
    results: list[int] = []

    def one_worker():
        with ctx.app_context():
            barrier.wait()
            results.append(escalation.run(utcnow(), TIMES, batch=7))
            db.session.remove()

    threads = [threading.Thread(target=one_worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    db.session.expire_all()
    rows = db.session.execute(select(Notification.dedupe_key, func.count()).group_by(Notification.dedupe_key)).all()
    assert rows and all(count == 1 for _, count in rows)
    per_task = db.session.execute(select(Notification.task_id, func.count()).group_by(Notification.task_id)).all()
    expected_per_task = {count for _, count in per_task}
    assert len(per_task) == 40 and len(expected_per_task) == 1
    assert sum(results) == len(rows)
    # a restarted worker finds nothing left to send
    assert escalation.run(utcnow(), TIMES) == 0


def test_deadline_settings_per_project_and_for_all(world):
    now = utcnow()
    supervisor = world.actor("supervisor")
    deadlines.set_deadline(supervisor, "appraisal", {"due": "P2D"}, now=now)
    deadlines.set_deadline(supervisor, "appraisal", {"due": "P5D", "project_id": world.project.id}, now=now)
    views = {v.bpmn_id: v for v in deadlines.list_deadlines(supervisor)}
    assert views["appraisal"].due == "P2D" and views["appraisal"].scope == "all"
    assert views["survey"].due == "P7D" and views["survey"].scope == "diagram"
    own = {v.bpmn_id: v for v in deadlines.list_deadlines(supervisor, world.project.id)}
    assert own["appraisal"].due == "P5D" and own["appraisal"].scope == "project"
    process = definitions.parsed(definitions.current("relocation"))
    assert deadlines.due_at(process.user_tasks["appraisal"], world.project.id, now) == now + timedelta(days=5)
    assert deadlines.due_at(process.user_tasks["appraisal"], world.other_project.id, now) == now + timedelta(days=2)
    from services.errors import Forbidden, InvalidInput, NotFound
    with pytest.raises(Forbidden):
        deadlines.set_deadline(world.actor("surveyor"), "survey", {"due": "P1D"}, now=now)
    with pytest.raises(InvalidInput):
        deadlines.set_deadline(supervisor, "survey", {"due": "three days"}, now=now)
    with pytest.raises(NotFound):
        deadlines.set_deadline(supervisor, "no_such_step", {"due": "P1D"}, now=now)


def test_changing_a_deadline_moves_the_open_steps(world):
    start = utcnow()
    _, instance = new_household(world, now=start)
    deadlines.set_deadline(world.actor("admin"), "survey", {"due": "PT30M"}, now=start + timedelta(minutes=1))
    row = survey_row(instance.id)
    assert row.due_at == start + timedelta(minutes=30)
    assert row.escalation_level == 0


TIMER_BPMN = Path(__file__).parent / "data" / "timer.bpmn"


def test_the_worker_fires_a_boundary_timer(world):
    now = utcnow()
    from services.tx import transaction
    with transaction():
        draft = definitions.create_draft(Actor.system(), TIMER_BPMN.read_bytes(), "timed review", now)
        db.session.flush()
        definitions.deploy(Actor.system(), draft.id, now)
    household, _ = new_household(world, code="T-1")
    with transaction():
        instance = runtime.start_instance(world.actor("admin"), household, now=utcnow(), key="timed_review")
    assert instance.next_timer_at is not None
    instance_id = instance.id
    assert runtime.fire_due_timers(utcnow()) == 0  # not due yet
    time.sleep(1.1)
    result = worker.run_once(utcnow(), TIMES, NO_MAIL)
    assert result.timers == 1
    open_steps = db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                                     HumanTask.status == "ready")).all()
    assert open_steps == ["escalated_review"]
    cancelled = db.session.scalar(select(HumanTask.status).where(HumanTask.instance_id == instance_id,
                                                                 HumanTask.bpmn_id == "review"))
    assert cancelled == "cancelled"
    assert db.session.get(ProcessInstance, instance_id).next_timer_at is None


def test_emails_go_out_through_smtp_once(world):
    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            received.append(envelope)
            return "250 OK"

    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        world.users["surveyor"].email = "surveyor@example.org"
        db.session.commit()
        start = utcnow() - timedelta(days=30)
        new_household(world, now=start)
        smtp = mailer.SmtpSettings(host="127.0.0.1", port=port, sender="office@example.org")
        worker.run_once(utcnow(), TIMES, smtp)
        worker.run_once(utcnow(), TIMES, smtp)
    finally:
        controller.stop()
    to_surveyor = [e for e in received if "surveyor@example.org" in e.rcpt_tos]
    assert len(to_surveyor) == 1
    assert db.session.scalar(select(func.count()).where(Notification.email_status == "sent")) == 1


def test_the_cli_runs_one_pass(ctx, world):
    start = utcnow() - timedelta(days=30)
    new_household(world, now=start)
    result = ctx.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "notices:" in result.output
    assert db.session.scalar(select(func.count()).select_from(Notification)) > 0
