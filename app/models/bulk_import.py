"""A workbook of earlier paper work imported into a project (survey or appraisal), once per file and kind."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, utcnow


class BulkImport(db.Model):
    """One imported workbook: the project, its kind, its sha256, what it wrote and who imported it."""

    __tablename__ = "bulk_imports"
    __table_args__ = (UniqueConstraint("project_id", "sha256", "kind", name="uq_bulk_import_file"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # survey | appraisal
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    households: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
