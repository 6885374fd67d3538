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
    """Steps completed in one project and work group on one closed (past, UTC) day, counted once for the
    reports' trend (work_group_id None: households without a group; the household's group when the day was
    counted).

    project_id 0 (no group) marks the day as counted, with the day's total over every project.
    """

    __tablename__ = "completion_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    project_id: Mapped[int]
    work_group_id: Mapped[int | None]
    completed: Mapped[int] = mapped_column(default=0)


# one row per day, project and group (migration 0014); coalesce makes "no group" a value the index can compare
Index("uq_completion_days_day_group", CompletionDay.day, CompletionDay.project_id,
      func.coalesce(CompletionDay.work_group_id, 0), unique=True)
