"""The household's file in typed tables: persons, buildings, ancillary items, business details,
attachments, the agreement and its number, payments."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, utcnow


class Person(db.Model):
    """A member of the household; whether they are a resettlement person is decided in rights confirmation."""

    __tablename__ = "persons"
    __table_args__ = (Index("ix_persons_household", "household_id", "position"), Index("ix_persons_id_number",
                                                                                        "id_number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(String(18))
    relation: Mapped[str] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None]
    hukou_here: Mapped[bool] = mapped_column(default=True)
    special_group: Mapped[str | None] = mapped_column(String(24))
    resettlement: Mapped[bool | None]


class Building(db.Model):
    """A building of the household with its areas, structure, use and legal status."""

    __tablename__ = "buildings"
    __table_args__ = (Index("ix_buildings_household", "household_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(64))
    certified_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    measured_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    structure: Mapped[str] = mapped_column(String(24))
    floors: Mapped[int] = mapped_column(default=1)
    year_built: Mapped[int | None]
    use: Mapped[str] = mapped_column(String(24))
    legal_status: Mapped[str] = mapped_column(String(24))


class AncillaryItem(db.Model):
    """Ancillary items (air conditioners, meters, water heaters …) with their count."""

    __tablename__ = "ancillary_items"
    __table_args__ = (UniqueConstraint("household_id", "code", name="uq_ancillary_household_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    count: Mapped[int]


class BusinessDetail(db.Model):
    """An enterprise's or shop's licence, business area, tenant and equipment."""

    __tablename__ = "business_details"
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    licence_no: Mapped[str | None] = mapped_column(String(64))
    business_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    tenant: Mapped[str | None] = mapped_column(String(128))
    equipment: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    interruption_basis: Mapped[str | None] = mapped_column(Text)


class Attachment(db.Model):
    """An uploaded file of a household's module, stored outside the database by its sha256."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_household_module", "household_id", "module"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # the earlier version this file replaced (kept, marked deleted when it was replaced)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))


class AgreementCounter(db.Model):
    """The last agreement number given in a project and year (numbers run per project)."""

    __tablename__ = "agreement_counters"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Agreement(db.Model):
    """A household's agreement: its number, the template version and the figures it was drafted with."""

    __tablename__ = "agreements"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(64), unique=True)
    revision: Mapped[int] = mapped_column(default=1)
    template_version: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str | None] = mapped_column(String(32))
    option: Mapped[str | None] = mapped_column(String(8))
    total: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(db.Model):
    """A disbursement against the household's agreement, with its voucher."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_household", "household_id", "paid_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_on: Mapped[date]
    voucher_no: Mapped[str] = mapped_column(String(64))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
