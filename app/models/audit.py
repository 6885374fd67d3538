"""The audit trail: who did what to which record, when, from where — append-only, hash-chained."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, utcnow


class AuditLog(db.Model):
    """One audited operation, written in the same transaction as the change it records."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_actor_at", "actor_id", "at"),
        Index("ix_audit_target", "target_type", "target_id"),
        Index("ix_audit_household", "household_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    household_id: Mapped[int | None]
    before: Mapped[Any | None] = mapped_column(JsonType)
    after: Mapped[Any | None] = mapped_column(JsonType)
    ip: Mapped[str | None] = mapped_column(String(64))
    # the chain: the hash of the row before this one, and this row's own hash over its content
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
