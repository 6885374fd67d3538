"""A household's case as the modules read it: its records and the typed rows of its survey."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    AncillaryItem,
    Attachment,
    Building,
    BusinessDetail,
    Household,
    HumanTask,
    ModuleRecord,
    Payment,
    Person,
)
from services import idnumbers
from services.modules.store import all_records


@dataclass
class Case:
    """One household with its module records; typed rows load on first use."""

    household: Household
    records: dict[str, ModuleRecord] = field(default_factory=dict)
    policies: dict[str, Any] = field(default_factory=dict)  # policy versions read for it, by name

    def doc(self, module: str) -> dict[str, Any]:
        record = self.records.get(module)
        return dict(record.data) if record is not None and record.data else {}

    def version(self, module: str) -> int:
        record = self.records.get(module)
        return record.version if record is not None else 0

    @cached_property
    def persons(self) -> list[Person]:
        return list(db.session.scalars(select(Person).where(Person.household_id == self.household.id)
                                       .order_by(Person.position, Person.id)))

    @cached_property
    def buildings(self) -> list[Building]:
        return list(db.session.scalars(select(Building).where(Building.household_id == self.household.id)
                                       .order_by(Building.position, Building.id)))

    @cached_property
    def attachments(self) -> list[Attachment]:
        return list(db.session.scalars(select(Attachment).where(Attachment.household_id == self.household.id,
                                                                Attachment.deleted_at.is_(None))
                                       .order_by(Attachment.id)))

    def categories_with_files(self) -> set[str]:
        return {a.category for a in self.attachments}

    def agreement_total(self) -> Decimal | None:
        total = self.doc("agreement").get("total")
        return Decimal(total) if total is not None else None


def load(household: Household) -> Case:
    """The case of a household, its records read in one query."""
    return Case(household, all_records(household.id))


def project_survey(case: Case, doc: dict[str, Any]) -> dict[str, Any]:
    """Write the survey's people, buildings, items and business details to their tables; ids go back in."""
    hid = case.household.id
    doc = dict(doc)
    doc["persons"] = _upsert(Person, hid, doc.get("persons") or [], _person_values, PERSON_NEEDS)
    doc["buildings"] = _upsert(Building, hid, doc.get("buildings") or [], _building_values, BUILDING_NEEDS)
    db.session.execute(delete(AncillaryItem).where(AncillaryItem.household_id == hid))
    for item in doc.get("ancillary") or []:
        db.session.add(AncillaryItem(household_id=hid, code=item["code"], count=int(item["count"])))
    business = doc.get("business")
    detail = db.session.get(BusinessDetail, hid)
    if business:
        detail = detail or BusinessDetail(household_id=hid)
        detail.licence_no = business.get("licence_no")
        detail.business_area = business.get("business_area")
        detail.tenant = business.get("tenant")
        detail.equipment = business.get("equipment") or []
        detail.interruption_basis = business.get("interruption_basis")
        db.session.add(detail)
    elif detail is not None:
        db.session.delete(detail)
    household = case.household
    household.head_name = doc.get("head_name") or household.head_name
    household.address = doc.get("address") or household.address
    household.phone = doc.get("phone") or household.phone
    household.land_nature = doc.get("land_nature") or household.land_nature
    db.session.flush()
    case.__dict__.pop("persons", None)
    case.__dict__.pop("buildings", None)
    return doc


# what a row needs before it becomes a person or a building (a draft's unfinished rows stay in the document only)
PERSON_NEEDS = ("name", "id_number", "relation")
BUILDING_NEEDS = ("label", "measured_area", "structure", "use", "legal_status")


def _person_values(row: dict[str, Any]) -> dict[str, Any]:
    number = row["id_number"]
    return {"name": row["name"], "id_number": number, "relation": row["relation"],
            "gender": idnumbers.gender(number), "birth_date": idnumbers.birth_date(number),
            "hukou_here": bool(row.get("hukou_here", True)), "special_group": row.get("special_group")}


def _building_values(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("label", "certified_area", "measured_area", "structure", "floors", "year_built",
                                    "use", "legal_status")}


def _upsert(model: Any, household_id: int, rows: list[dict[str, Any]], values: Any,
            needs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Update rows by id, add new ones, delete the missing; return the rows with their ids. An unfinished row
    (a draft's) leaves its table row as it was."""
    existing = {r.id: r for r in db.session.scalars(select(model).where(model.household_id == household_id))}
    kept, out = set(), []
    for position, row in enumerate(rows):
        target = existing.get(row.get("id")) if row.get("id") else None
        if any(row.get(name) in (None, "") for name in needs):
            if target is not None:
                kept.add(target.id)
            out.append(row)
            continue
        if target is None:
            target = model(household_id=household_id)
            db.session.add(target)
        for key, value in values(row).items():
            setattr(target, key, value)
        target.position = position
        db.session.flush()
        kept.add(target.id)
        out.append({**row, "id": target.id})
    for row_id, row in existing.items():
        if row_id not in kept:
            db.session.delete(row)
    return out


PAYMENT_NEEDS = ("amount", "paid_on", "voucher_no")  # what a payment row needs before it is in the table


def project_payments(case: Case, doc: dict[str, Any], actor_id: int | None, now: datetime) -> dict[str, Any]:
    """Keep the payments table in line with the payment module's rows (a draft's unfinished row stays in the
    document only, its table row as it was)."""
    hid = case.household.id
    doc = dict(doc)
    existing = {p.id: p for p in db.session.scalars(select(Payment).where(Payment.household_id == hid))}
    kept, out = set(), []
    for row in doc.get("payments") or []:
        payment = existing.get(row.get("id")) if row.get("id") else None
        if any(row.get(name) in (None, "") for name in PAYMENT_NEEDS):
            if payment is not None:
                kept.add(payment.id)
            out.append(row)
            continue
        if payment is None:
            payment = Payment(household_id=hid, created_at=now, created_by_id=actor_id)
            db.session.add(payment)
        payment.amount = Decimal(str(row["amount"]))
        payment.paid_on = row["paid_on"] if not isinstance(row["paid_on"], str) else \
            datetime.fromisoformat(row["paid_on"]).date()
        payment.voucher_no = row["voucher_no"]
        payment.attachment_id = row.get("attachment_id")
        db.session.flush()
        kept.add(payment.id)
        out.append({**row, "id": payment.id})
    for payment_id, payment in existing.items():
        if payment_id not in kept:
            db.session.delete(payment)
    doc["payments"] = out
    return doc


def open_step(household_id: int, module: str) -> HumanTask | None:
    """The household's open step that writes this module (not a signature or audit inside it)."""
    from services.forms import FORMS

    keys = [k for k, form in FORMS.items() if form.module == module and form.section is None]
    return db.session.scalar(select(HumanTask).where(HumanTask.household_id == household_id,
                                                     HumanTask.status == "ready", HumanTask.form_key.in_(keys))
                             .order_by(HumanTask.id.desc()).limit(1))
