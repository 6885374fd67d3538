"""E-mail copies of notifications, sent by the worker when SMTP is configured.

Each copy is claimed on its own and its state committed before and after it is handed to the server:

    pending ──claim (commit)──▶ sending ──server accepts──▶ sent (commit)
                                    │  ──4xx / no answer──▶ pending again, after a backoff (up to max_attempts)
                                    │  ──5xx──────────────▶ failed (shown on the notification and to the admin)
                                    └─ lease runs out (the worker died) ─▶ claimed again, once

Exactly once by e-mail cannot be had: SMTP has no way to ask a server whether it took a message, and the
server's "250 OK" and our commit of "sent" are two events — a crash or a lost database between them leaves
a copy that was delivered but is still marked "sending". Such a copy is sent again when its lease runs
out, so a crash re-sends at most the one copy each worker had in flight; committing "sent" is retried
through short database outages, which closes that window for blips. A copy found interrupted a second
time is marked failed rather than sent a third time. Claims use FOR UPDATE SKIP LOCKED (on SQLite the
write lock), so two workers never hold the same copy.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import Notification, User, utcnow
from services.tx import take_write_lock, transaction

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted"  # email_error of a copy whose worker died while sending it


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail; host None means no e-mail."""

    host: str | None
    port: int = 25
    username: str | None = None
    password: str | None = None
    sender: str = "noreply@localhost"
    starttls: bool = False
    timeout: float = 10.0
    lease: float = 120.0  # seconds a claim holds; a claim older than this was a worker that died
    retry_after: float = 60.0  # first wait after a temporary refusal; doubled each time, at most 6 hours
    max_attempts: int = 8  # temporary refusals before the copy is given up as failed


def _message(settings: SmtpSettings, to: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = "征迁安置系统提醒 · " + text[:60]
    message.set_content(text)
    return message


@dataclass
class _Claimed:
    id: int
    to: str
    text: str
    attempts: int


def worker_name() -> str:
    """A name for this worker's claims: host, process and a random part (a restarted process differs)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_pending(settings: SmtpSettings, now: datetime, batch: int = 200, *, claim: str | None = None) -> int:
    """Send up to batch pending e-mail copies, one claimed and committed at a time; returns how many were sent."""
    if not settings.host:
        with transaction():
            take_write_lock()
            db.session.execute(update(Notification).where(Notification.email_status == "pending")
                               .values(email_status="skipped"))
        return 0
    claim = claim or worker_name()
    sent = 0
    connection: smtplib.SMTP | None = None
    try:
        for _ in range(batch):
            item = _claim_next(settings, claim, now)
            if item is None:
                break
            try:
                if connection is None:
                    connection = _connect(settings)
                connection.send_message(_message(settings, item.to, item.text))
            except smtplib.SMTPResponseException as exc:
                _refused(settings, item, claim, now, exc.smtp_code, exc.smtp_error)
                connection = _drop_if_gone(connection, exc)
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                code, reason = next(iter(exc.recipients.values()), (450, b"refused"))
                _refused(settings, item, claim, now, code, reason)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # no answer at all (unreachable, stalled, cut): a temporary failure; stop this pass
                _refused(settings, item, claim, now, 0, str(exc).encode())
                connection = _drop_if_gone(connection, None)
                break
            _settle(settings, item.id, claim, {"email_status": "sent", "emailed_at": now, "email_error": None})
            sent += 1
    finally:
        _drop_if_gone(connection, None)
    return sent


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.starttls:
        connection.starttls(context=ssl.create_default_context())
    if settings.username:
        connection.login(settings.username, settings.password or "")
    return connection


def _drop_if_gone(connection: smtplib.SMTP | None, exc: smtplib.SMTPResponseException | None
                  ) -> smtplib.SMTP | None:
    """Keep a connection that answered a refusal; close one that failed (or at the end of the pass)."""
    if connection is not None and exc is not None and not isinstance(exc, smtplib.SMTPServerDisconnected):
        return connection
    if connection is not None:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return None


def _claim_next(settings: SmtpSettings, claim: str, now: datetime) -> _Claimed | None:
    """Claim the next copy that is due (or whose claim ran out) and commit the claim before sending it."""
    clock = max(now, utcnow())
    due = or_(and_(Notification.email_status == "pending",
                   or_(Notification.email_next_at.is_(None), Notification.email_next_at <= now)),
              and_(Notification.email_status == "sending", Notification.email_lease_until < clock))
    with transaction():
        take_write_lock()
        while True:
            row = db.session.execute(
                select(Notification, User.email).join(User, User.id == Notification.user_id).where(due)
                .order_by(Notification.id).limit(1).with_for_update(skip_locked=True, of=Notification)
            ).first()
            if row is None:
                return None
            note, email = row
            if note.email_status != "sending":
                break
            # its worker died while sending it: it may have gone out already
            if note.email_error != INTERRUPTED:
                note.email_error = INTERRUPTED
                note.email_attempts = max(note.email_attempts - 1, 0)  # that try ended without an answer
                break
            note.email_status, note.email_claim, note.email_lease_until = "failed", None, None  # a second time
            db.session.flush()
        note.email_status, note.email_claim = "sending", claim
        note.email_lease_until = clock + timedelta(seconds=settings.lease)
        note.email_attempts += 1
        item = _Claimed(note.id, email or "", note.message, note.email_attempts)
    return item


def _refused(settings: SmtpSettings, item: _Claimed, claim: str, now: datetime, code: int, reason: bytes | str
             ) -> None:
    """A 5xx is final: failed. A 4xx or no answer: pending again after a backoff, failed after max_attempts."""
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    error = f"{code} {text}".strip()[:300] if code else text[:300] or "no answer"
    if 500 <= code < 600 or item.attempts >= settings.max_attempts:
        values = {"email_status": "failed", "email_error": error}
    else:
        wait = min(settings.retry_after * 2 ** (item.attempts - 1), 6 * 3600)
        values = {"email_status": "pending", "email_error": error,
                  "email_next_at": now + timedelta(seconds=wait)}
    log.warning("e-mail copy %s refused (%s): %s", item.id, values["email_status"], error)
    _settle(settings, item.id, claim, values)


def _settle(settings: SmtpSettings, note_id: int, claim: str, values: dict) -> None:
    """Commit a copy's outcome if the claim is still ours; a lost database is waited for (up to half the
    lease), so a short outage does not leave a delivered copy marked as sending."""
    deadline = time.monotonic() + settings.lease / 2
    delay = 0.2
    while True:
        try:
            with transaction():
                take_write_lock()
                db.session.execute(update(Notification)
                                   .where(Notification.id == note_id, Notification.email_claim == claim)
                                   .values(email_claim=None, email_lease_until=None, **values))
            return
        except DBAPIError:
            db.session.remove()
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def failed_count() -> int:
    """How many e-mail copies could not be delivered (for the admin)."""
    return db.session.scalar(select(func.count()).where(Notification.email_status == "failed")) or 0
