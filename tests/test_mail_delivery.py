"""E-mail copies: one claimed and committed at a time (a crash re-sends at most the one in flight),
temporary refusals retried with backoff, permanent ones shown; re-overdue steps announced afresh."""
from __future__ import annotations

import smtplib
import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import HumanTask, Notification, utcnow
from services import deadlines, escalation, mailer
from tests.factories import new_household
from tests.test_processes import sign_in

TIMES = escalation.EscalationTimes(reminder_lead=timedelta(hours=24), supervisor_after=timedelta(days=30))


class Sink:
    """An SMTP server of the test's own: counts what it receives; can refuse with a given reply."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.refuse: list[str] = []  # replies to give, one per message, before accepting again

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            return self.refuse.pop(0)
        self.received.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture()
def sink():
    from aiosmtpd.controller import Controller

    handler = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.settings = mailer.SmtpSettings(host="127.0.0.1", port=port, timeout=5, lease=60, retry_after=30)
    yield handler
    controller.stop()


def pending_copies(world, count: int) -> list[int]:
    """count notifications with an e-mail copy pending, for the surveyor (who has an address)."""
    world.users["surveyor"].email = "surveyor@example.org"
    db.session.commit()
    from services import notifications
    from services.tx import transaction
    with transaction():
        for index in range(count):
            notifications.notify({world.users["surveyor"].id}, "note", {"text": f"通知 {index:03d}"}, now=utcnow())
    return list(db.session.scalars(select(Notification.id).order_by(Notification.id)))


def statuses() -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(Notification.email_status, func.count())
                                   .group_by(Notification.email_status)).all())


def test_a_worker_dying_mid_batch_sends_none_of_the_delivered_copies_again(world, sink, monkeypatch):
    pending_copies(world, 5)
    original = smtplib.SMTP.send_message
    calls = {"n": 0}

    def dies_before_the_third(self, message, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return original(self, message, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "send_message", dies_before_the_third)
    with pytest.raises(SystemExit):
        mailer.send_pending(sink.settings, utcnow())
    db.session.rollback()
    monkeypatch.setattr(smtplib.SMTP, "send_message", original)
    assert len(sink.received) == 2
    assert statuses() == {"sent": 2, "sending": 1, "pending": 2}
    # the restarted worker sends the rest; the one in flight waits for its lease
    assert mailer.send_pending(sink.settings, utcnow()) == 2
    assert len(sink.received) == 4
    assert mailer.send_pending(sink.settings, utcnow() + timedelta(seconds=61)) == 1
    assert len(sink.received) == 5 and len(set(sink.received)) == 5
    assert statuses() == {"sent": 5}


def test_a_copy_interrupted_twice_is_given_up_not_sent_a_third_time(world, sink):
    (note_id,) = pending_copies(world, 1)
    past = utcnow() - timedelta(minutes=5)
    db.session.execute(update(Notification).where(Notification.id == note_id).values(
        email_status="sending", email_claim="dead-worker", email_lease_until=past, email_attempts=1))
    db.session.commit()
    assert mailer.send_pending(sink.settings, utcnow()) == 1  # interrupted once: sent again
    db.session.execute(update(Notification).where(Notification.id == note_id).values(
        email_status="sending", email_claim="dead-worker", email_lease_until=past,
        email_error=mailer.INTERRUPTED))
    db.session.commit()
    assert mailer.send_pending(sink.settings, utcnow()) == 0
    assert statuses() == {"failed": 1} and len(sink.received) == 1


def test_a_live_claim_is_not_taken_by_another_worker(world, sink):
    (note_id,) = pending_copies(world, 1)
    db.session.execute(update(Notification).where(Notification.id == note_id).values(
        email_status="sending", email_claim="other-worker", email_lease_until=utcnow() + timedelta(minutes=1)))
    db.session.commit()
    assert mailer.send_pending(sink.settings, utcnow()) == 0
    assert sink.received == []


def test_a_temporary_refusal_is_retried_later_and_a_permanent_one_is_shown(world, sink, client):
    pending_copies(world, 2)
    sink.refuse = ["451 4.3.0 try again later", "550 5.1.1 no such mailbox"]
    now = utcnow()
    assert mailer.send_pending(sink.settings, now) == 0
    first, second = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert (first.email_status, first.email_attempts) == ("pending", 1)
    assert first.email_next_at == now + timedelta(seconds=30) and first.email_error.startswith("451")
    assert second.email_status == "failed" and second.email_error.startswith("550")
    assert mailer.send_pending(sink.settings, now + timedelta(seconds=10)) == 0  # not yet
    sink.refuse = ["451 4.3.0 still busy"]
    assert mailer.send_pending(sink.settings, now + timedelta(seconds=31)) == 0
    db.session.expire_all()
    assert first.email_next_at == now + timedelta(seconds=31 + 60)  # the wait doubles
    assert mailer.send_pending(sink.settings, now + timedelta(seconds=92)) == 1
    assert statuses() == {"sent": 1, "failed": 1} and len(sink.received) == 1
    assert mailer.failed_count() == 1

    sign_in(client, "surveyor")
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("邮件未送达") == 1 and 'data-testid="undelivered-mail"' not in page
    client.post("/logout")
    sign_in(client, "admin")
    page = client.get("/notifications").get_data(as_text=True)
    assert "有 1 封邮件提醒未能送达" in page


def test_temporary_refusals_end_in_failed_after_the_limit(world, sink):
    pending_copies(world, 1)
    settings = mailer.SmtpSettings(host=sink.settings.host, port=sink.settings.port, retry_after=1,
                                   max_attempts=3)
    now = utcnow()
    for step in range(3):
        sink.refuse = ["421 4.7.0 busy"]
        mailer.send_pending(settings, now + timedelta(hours=step))
    assert statuses() == {"failed": 1} and sink.received == []


def test_an_unreachable_server_leaves_the_copies_pending(world):
    pending_copies(world, 2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = mailer.SmtpSettings(host="127.0.0.1", port=port, timeout=2)
    assert mailer.send_pending(settings, utcnow()) == 0
    assert statuses() == {"pending": 2}


def test_a_step_overdue_again_after_its_deadline_changed_is_announced_again(world):
    start = utcnow() - timedelta(days=30)
    _, instance = new_household(world, now=start)  # the survey fell due after seven days
    surveyor = world.users["surveyor"].id
    assert escalation.run(utcnow(), TIMES) > 0

    def overdue_notices() -> int:
        return db.session.scalar(select(func.count()).where(Notification.kind == "overdue",
                                                             Notification.user_id == surveyor))

    assert overdue_notices() == 1
    deadlines.set_deadline(world.actor("supervisor"), "survey", {"due": "P10D"}, now=utcnow())
    row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert row.escalation_level == 0 and row.due_at == start + timedelta(days=10)
    assert escalation.run(utcnow(), TIMES) > 0
    assert overdue_notices() == 2
    assert escalation.run(utcnow(), TIMES) == 0  # and once only
    assert overdue_notices() == 2
