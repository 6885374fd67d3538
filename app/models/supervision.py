"""Supervision settings: the due duration of each step, per project or for all."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import utcnow


class StepDeadline(db.Model):
    """A supervisor's due duration for a step, overriding the diagram's (project_id None: every project)."""

    __tablename__ = "step_deadlines"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    due: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# one setting per step and scope; coalesce makes "every project" (NULL) a value the index can compare
Index("uq_step_deadline_scope", func.coalesce(StepDeadline.project_id, 0), StepDeadline.bpmn_id, unique=True)


class CompletionDay(db.Model):
    """Steps completed in one project on one closed (past, UTC) day, counted once for the reports' trend.

    project_id 0 marks the day as counted, with the day's total over every project.
    """

    __tablename__ = "completion_days"
    day: Mapped[date] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    completed: Mapped[int] = mapped_column(default=0)
