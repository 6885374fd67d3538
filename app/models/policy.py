"""Versions of the compensation policy table; a version never changes once stored."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, utcnow


class PolicyVersion(db.Model):
    """One version of the rule table (e.g. "2026.1"), in force from effective_from."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    effective_from: Mapped[date] = mapped_column(index=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JsonType)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ImmutablePolicyVersion(RuntimeError):
    """Raised when code tries to change a stored policy version."""


@event.listens_for(PolicyVersion, "before_update")
@event.listens_for(PolicyVersion, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: PolicyVersion) -> None:
    raise ImmutablePolicyVersion(f"policy version {target.version} is immutable; save a new version instead")
