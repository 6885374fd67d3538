"""The persisted engine: process definitions, instances, open human tasks and their history."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, LargeBinary, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.household import Household
from app.models.types import JsonType, utcnow

DEFINITION_STATUSES = ("draft", "deployed", "retired")
INSTANCE_STATUSES = ("running", "completed", "suspended", "error", "cancelled")
TASK_STATUSES = ("ready", "completed", "cancelled")
_OPEN = text("status = 'ready'")
_UNFINISHED = text("status IN ('running', 'error')")
_SIGNED = text("signed_at IS NOT NULL")
_COMPLETED = text("action = 'completed'")


class ProcessDefinition(db.Model):
    """One version of a BPMN process; instances stay pinned to the version they started on."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_definition_key_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(128))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deployed_at: Mapped[datetime | None]
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ProcessInstance(db.Model):
    """A running pipeline of one household, with its serialized workflow state."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_project_status", "project_id", "status"),
        Index("ix_instances_status_progress", "status", "last_progress_at"),
        Index("ix_instances_next_timer", "next_timer_at"),
        Index("ix_instances_unfinished_progress", "last_progress_at", "id", postgresql_where=_UNFINISHED,
              sqlite_where=_UNFINISHED, postgresql_include=["status", "next_timer_at"]),  # migration 0007
        Index("ix_instances_signed_at", "signed_at", postgresql_where=_SIGNED, sqlite_where=_SIGNED),
        Index("ix_instances_household_totals", "household_id",
              postgresql_include=["status", "signed_at", "agreed_amount", "paid_amount"]),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id", ondelete="RESTRICT"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="running")
    state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    lock_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_progress_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_timer_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    # milestones the reports aggregate: agreement amount, when all four signed, what was paid
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    signed_at: Mapped[datetime | None]
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"), server_default="0")

    definition: Mapped[ProcessDefinition] = relationship()
    household: Mapped[Household] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(db.Model):
    """One manual step of an instance as the inbox sees it; queried without the workflow."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid", name="uq_human_task_guid"),
        # partial indexes over the open steps (migration 0007; on SQLite the included columns are key columns)
        Index("ix_human_tasks_open_inbox", "role", "project_id", "due_at", "created_at", "id",
              postgresql_where=_OPEN, sqlite_where=_OPEN, postgresql_include=["assignee_id", "returned"]),
        Index("ix_human_tasks_open_due", "due_at", postgresql_where=_OPEN, sqlite_where=_OPEN,
              postgresql_include=["project_id", "role", "assignee_id"]),
        Index("ix_human_tasks_open_steps", "project_id", "bpmn_id", postgresql_where=_OPEN, sqlite_where=_OPEN,
              postgresql_include=["due_at", "name"]),
        Index("ix_human_tasks_open_group", "work_group_id", "bpmn_id", postgresql_where=_OPEN, sqlite_where=_OPEN,
              postgresql_include=["project_id", "role", "due_at", "assignee_id", "name"]),  # migration 0014
        Index("ix_human_tasks_open_instance", "instance_id", postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_human_tasks_open_household", "household_id", postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_human_tasks_open_assignee", "assignee_id", "due_at", "created_at", "id", postgresql_where=_OPEN,
              sqlite_where=_OPEN),
        Index("ix_human_tasks_instance_status", "instance_id", "status"),
        Index("ix_human_tasks_assignee_status", "assignee_id", "status"),
        Index("ix_human_tasks_escalation", "status", "next_escalation_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    # the household's work group, kept in step with it (migration 0012): whose step it is, without a join
    work_group_id: Mapped[int | None] = mapped_column(ForeignKey("work_groups.id", ondelete="SET NULL"))
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    form_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="ready")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    returned: Mapped[bool] = mapped_column(default=False)
    return_reason: Mapped[str | None] = mapped_column(Text)
    returned_from: Mapped[str | None] = mapped_column(String(128))
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # 0 nothing sent, 1 reminder sent, 2 overdue notice sent, 3 supervisor notified
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")
    next_escalation_at: Mapped[datetime | None]

    instance: Mapped[ProcessInstance] = relationship()
    household: Mapped[Household] = relationship()
    assignee = relationship("User", foreign_keys=[assignee_id])


class TaskEvent(db.Model):
    """The history of an instance: every task created, claimed, completed, returned, …"""

    __tablename__ = "task_events"
    __table_args__ = (
        Index("ix_task_events_instance_at", "instance_id", "at"),
        Index("ix_task_events_completed_at", "at", postgresql_where=_COMPLETED, sqlite_where=_COMPLETED,
              postgresql_include=["instance_id"]),  # migration 0007
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(24))
    bpmn_id: Mapped[str | None] = mapped_column(String(64))
    task_name: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict | None] = mapped_column(JsonType)

    actor = relationship("User")
    human_task = relationship("HumanTask")  # lets one flush write a new step and its events together
