"""Households (户): the cases of a project, and the data each module records about them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.identity import Batch, Project, Village, WorkGroup
from app.models.types import JsonType, utcnow

HOUSEHOLD_KINDS = ("collective_house", "state_house", "enterprise", "shop")


class Household(db.Model):
    """One household of a project; its pipeline is one process instance."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("project_id", "code", name="uq_household_project_code"),
        Index("ix_households_project_kind", "project_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    work_group_id: Mapped[int | None] = mapped_column(ForeignKey("work_groups.id", ondelete="SET NULL"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id", ondelete="SET NULL"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    section: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255))
    head_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    land_nature: Mapped[str | None] = mapped_column(String(24))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    project: Mapped[Project] = relationship()
    work_group: Mapped[WorkGroup | None] = relationship()
    village: Mapped[Village | None] = relationship()
    batch: Mapped[Batch | None] = relationship()

    @property
    def cadre_signs(self) -> bool:
        """Whether a village cadre signs the agreement: collective land only (a state-land house, or any
        household of a state-land project, signs with three)."""
        return cadre_signs(self.kind, self.project.kind)


def cadre_signs(kind: str, project_kind: str) -> bool:
    """Household.cadre_signs for a household of this kind in a project of this kind."""
    return kind != "state_house" and project_kind != "state"


class ModuleRecord(db.Model):
    """The current data of one module (survey, appraisal, …) of one household, versioned."""

    __tablename__ = "module_records"
    __table_args__ = (UniqueConstraint("household_id", "module", name="uq_module_household"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    # the service increments version itself; the ORM adds "WHERE version = old" to every UPDATE
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ModuleRevision(db.Model):
    """Every saved version of a module's data: who changed what, when."""

    __tablename__ = "module_revisions"
    __table_args__ = (Index("ix_module_revisions_record", "record_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("module_records.id", ondelete="CASCADE"))
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id", ondelete="SET NULL"))
