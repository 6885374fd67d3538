"""E-mail copies of notifications, sent by the worker when SMTP is configured."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select

from app.extensions import db
from app.models import Notification, User
from services.tx import take_write_lock, transaction


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


def _message(settings: SmtpSettings, to: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = "征迁安置系统提醒 · " + text[:60]
    message.set_content(text)
    return message


def send_pending(settings: SmtpSettings, now: datetime, batch: int = 200) -> int:
    """Send the pending e-mail copies (claimed with SKIP LOCKED); returns how many were sent."""
    sent = 0
    while True:
        with transaction():
            take_write_lock()
            rows = db.session.execute(
                select(Notification, User.email)
                .join(User, User.id == Notification.user_id)
                .where(Notification.email_status == "pending")
                .order_by(Notification.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=Notification)
            ).all()
            if rows and not settings.host:
                for row, _email in rows:
                    row.email_status = "skipped"
            elif rows:
                sent += _deliver(settings, rows, now)
        if len(rows) < batch:
            return sent


def _deliver(settings: SmtpSettings, rows: list, now: datetime) -> int:
    sent = 0
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            for row, email in rows:
                try:
                    smtp.send_message(_message(settings, email, row.message))
                    row.email_status, row.emailed_at = "sent", now
                    sent += 1
                except smtplib.SMTPException:
                    row.email_status = "failed"
    except (OSError, smtplib.SMTPException):
        # the server is unreachable: leave them pending for the next pass
        return sent
    return sent
