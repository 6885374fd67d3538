"""Integrity controls (廉政) and internal audit (内审): how the appraisal firm was chosen, conflict-of-interest
declarations of appraisers and signers, audit findings and their rectification."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.identity import Batch, Project, User
from app.models.types import JsonType, utcnow

SELECTION_METHODS = ("negotiation", "lottery")
SEVERITIES = ("low", "medium", "high")
FINDING_STATES = ("open", "rectified", "closed", "reopened")
FINDING_OPEN_STATES = ("open", "reopened")  # waiting for the responsible role


class ProjectFile(db.Model):
    """A file of a project rather than of a household (minutes of a firm selection, a rectification's proof),
    stored outside the database by its sha256 like the households' attachments."""

    __tablename__ = "project_files"
    __table_args__ = (Index("ix_project_files_project", "project_id", "purpose"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class FirmSelection(db.Model):
    """How the appraisal firm of a project (or of one of its batches) was chosen, with the minutes."""

    __tablename__ = "firm_selections"
    __table_args__ = (Index("ix_firm_selections_project", "project_id", "batch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date]
    candidates: Mapped[list[str]] = mapped_column(JsonType, default=list)
    chosen_firm: Mapped[str] = mapped_column(String(128))
    minutes_file_id: Mapped[int | None] = mapped_column(ForeignKey("project_files.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    project: Mapped[Project] = relationship()
    batch: Mapped[Batch | None] = relationship()
    minutes_file: Mapped[ProjectFile | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class ConflictDeclaration(db.Model):
    """A person's declaration on a household's step: no conflict of interest (回避声明), or a conflict (then
    someone else must take the step)."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (Index("ix_conflict_declarations_household", "household_id", "bpmn_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id", ondelete="SET NULL"))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conflict: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(500))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class AuditFinding(db.Model):
    """An internal-audit finding on a household's step: the responsible role rectifies it by a deadline, the
    reviewer closes it (or reopens it with a reason). States: open → rectified → closed, or reopened."""

    __tablename__ = "audit_findings"
    __table_args__ = (Index("ix_audit_findings_project_state", "project_id", "state"),
                      Index("ix_audit_findings_role_state", "role", "state"))
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    step_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    due_on: Mapped[date]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rectification: Mapped[str | None] = mapped_column(Text)
    rectification_file_id: Mapped[int | None] = mapped_column(ForeignKey("project_files.id", ondelete="SET NULL"))
    rectified_at: Mapped[datetime | None]
    rectified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    sample: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    household = relationship("Household")
    rectification_file: Mapped[ProjectFile | None] = relationship()
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    rectified_by: Mapped[User | None] = relationship(foreign_keys=[rectified_by_id])
