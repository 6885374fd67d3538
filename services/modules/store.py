"""Storing module data: the current record per household and module, and every revision of it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Household, ModuleRecord, ModuleRevision
from services import audit
from services.context import Actor

MODULES = ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "decision",
           "agreement", "payment", "archive")


def get_record(household_id: int, module: str) -> ModuleRecord | None:
    """The module's current record for a household, if any was written."""
    return db.session.scalar(
        select(ModuleRecord).where(ModuleRecord.household_id == household_id, ModuleRecord.module == module)
    )


def all_records(household_id: int) -> dict[str, ModuleRecord]:
    """Every module record of a household, by module name (one query)."""
    rows = db.session.scalars(select(ModuleRecord).where(ModuleRecord.household_id == household_id))
    return {r.module: r for r in rows}


def write(actor: Actor, household: Household, module: str, values: dict[str, Any], *, now: datetime,
          section: str | None = None, task_id: int | None = None,
          records: dict[str, ModuleRecord] | None = None) -> ModuleRecord:
    """Merge values into a module (at a dotted section, if given), as a new version with a revision.

    records are the household's records read in this transaction, when the caller has them.
    """
    record = records.get(module) if records is not None else get_record(household.id, module)
    if record is None:
        record = ModuleRecord(household_id=household.id, module=module, data={}, version=0)
        db.session.add(record)
    # a new document that shares what it does not change: the dicts on the section's path are copied, so
    # the stored one (before) is never altered
    before = record.data or {}
    data = dict(before)
    target = data
    if section:
        for part in section.split("."):
            inner = target.get(part)
            target[part] = inner = dict(inner) if isinstance(inner, dict) else {}
            target = inner
    target.update(values)
    record.data = data
    record.version = (record.version or 0) + 1
    record.updated_at = now
    record.updated_by_id = actor.id
    if record.id is None:
        db.session.flush()  # a new record: its id names the revision
    db.session.add(ModuleRevision(record_id=record.id, version=record.version, data=data, changed_at=now,
                                  changed_by_id=actor.id, task_id=task_id))
    audit.record(actor, f"module.{module}.write", "module", record.id, before=before or None, after=data,
                 household_id=household.id, at=now)
    return record
