"""In-app notifications: reminders, returned cases, new tasks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, utcnow


class Notification(db.Model):
    """A message to one user, optionally about a task or an instance."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),
        Index("ix_notifications_email", "email_status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)  # as written, in the default language
    params: Mapped[dict | None] = mapped_column(JsonType)  # to render the message in the reader's language
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id", ondelete="SET NULL"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # e-mail copy: None (none wanted), "pending", "sending" (claimed by a worker), "sent", "failed",
    # "skipped" (no SMTP configured) — see services/mailer.py
    email_status: Mapped[str | None] = mapped_column(String(16))
    emailed_at: Mapped[datetime | None]
    email_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    email_next_at: Mapped[datetime | None]  # a pending copy refused for now waits until then
    email_claim: Mapped[str | None] = mapped_column(String(64))  # the worker that is sending it
    email_lease_until: Mapped[datetime | None]  # after this the claim is taken to have died with its worker
    email_error: Mapped[str | None] = mapped_column(String(300))  # the server's last refusal


class IdempotencyKey(db.Model):
    """The first answer to a state-changing API call sent with an Idempotency-Key (kept a day)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
                      Index("ix_idempotency_keys_created_at", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body: a different call is refused
    status: Mapped[int]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
