"""Households: creating a case (which starts its pipeline), finding and showing cases."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validate
from marshmallow import fields as f
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    HOUSEHOLD_KINDS,
    MAX_ID,
    Batch,
    Household,
    HumanTask,
    ModuleRecord,
    ProcessInstance,
    Project,
    User,
    Village,
    WorkGroup,
)
from services import audit, instances, modules, personal, runtime, setup, store
from services.access import get_household, get_project, require_role, restrict_to_households
from services.context import Actor
from services.errors import InvalidInput
from services.forms.registry import flatten_messages
from services.modules.service import reveal_personal
from services.problems import N_, CodedSchema, Template, problem
from services.problems import register as register_problems
from services.text import writable
from services.tx import transaction

register_problems({
    "code_chars": N_("letters, digits, - and _ only"),
    "household_has_errors": N_("the household has errors"),
    "household_code_taken": N_("the household code is taken"),
    "household_code_exists": N_("already exists in this project"),
    "work_group_other": N_("not a work group of this project"),
    "village_other": N_("not a village or section of this project"),
    "batch_other": N_("not a batch of this project"),
    "household_move_invalid": N_("the household cannot move to that work group"),
    "work_group_same": N_("the household is already in this work group"),
})

MOVERS = ("admin", "supervisor")  # who moves a household to another work group of its project


class MoveInput(CodedSchema):
    """What moving a household to another work group takes."""

    work_group_id = f.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))


def move(actor: Actor, household_id: int, data: Any, *, now: datetime) -> Household:
    """Move a household to another work group of its project (admin, supervisor): its open steps follow in
    the same transaction, so the old group's people lose it and the new group's find it in their inbox."""
    with transaction():
        household = get_household(actor.user, household_id)
        require_role(actor.user, *MOVERS)
        if not isinstance(data, dict):
            raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
        try:
            group_id = MoveInput().load(data)["work_group_id"]
        except ValidationError as exc:
            raise InvalidInput(problem("household_move_invalid"), flatten_messages(exc.messages)) from None
        group = db.session.get(WorkGroup, group_id)
        if group is None or group.project_id != household.project_id:
            raise InvalidInput(problem("household_move_invalid"), {"work_group_id": [problem("work_group_other")]})
        if group.id == household.work_group_id:
            raise InvalidInput(problem("household_move_invalid"), {"work_group_id": [problem("work_group_same")]})
        instance = instance_of(household.id)
        if instance is not None:
            store.lock(instance.id)  # the instance before its steps, as every change to a case
        before = household.work_group_id
        household.work_group_id = group.id
        db.session.execute(update(HumanTask).where(HumanTask.household_id == household.id,
                                                   HumanTask.status == "ready")
                           .values(work_group_id=group.id))
        audit.record(actor, "household.move", "household", household.id, household_id=household.id,
                     before={"work_group_id": before}, after={"work_group_id": group.id}, at=now)
    return household


def movable_groups(actor: Actor, household: Household) -> list[WorkGroup]:
    """The work groups the actor may move the household to (none unless the actor may move it)."""
    if not actor.user.has_role(*MOVERS):
        return []
    return [g for g in household.project.groups if g.id != household.work_group_id]

LAND_NATURES = ("collective", "state")


class HouseholdInput(CodedSchema):
    """What creating a household takes."""

    code = f.String(required=True, validate=[validate.Length(min=1, max=32),
                                             validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
                                                             error=Template("code_chars"))])
    kind = f.String(required=True, validate=validate.OneOf(HOUSEHOLD_KINDS))
    address = f.String(required=True, validate=[validate.Length(min=1, max=255), writable])
    head_name = f.String(required=True, validate=[validate.Length(min=1, max=64), writable])
    section = f.String(validate=[validate.Length(max=64), writable], allow_none=True)
    phone = f.String(validate=[validate.Length(max=32), writable], allow_none=True)
    land_nature = f.String(validate=validate.OneOf(LAND_NATURES), allow_none=True)
    notes = f.String(validate=[validate.Length(max=2000), writable], allow_none=True)
    work_group_id = f.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    village_id = f.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    batch_id = f.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))


# the parts of a project a household may name: (field, model, problem when it is not the project's)
PARTS = (("work_group_id", WorkGroup, "work_group_other"), ("village_id", Village, "village_other"),
         ("batch_id", Batch, "batch_other"))


def _parts_of(project: Project, values: dict[str, Any]) -> None:
    """Refuse a work group, village or batch of another project (or none at all), all named at once."""
    fields = {}
    for name, model, code in PARTS:
        row_id = values.get(name)
        if row_id is not None:
            row = db.session.get(model, row_id)
            if row is None or row.project_id != project.id:
                fields[name] = [problem(code)]
    if fields:
        raise InvalidInput(problem("household_has_errors"), fields)


def create(actor: Actor, project_id: int, data: Any, *, now: datetime) -> tuple[Household, ProcessInstance]:
    """Create a household in a project and start its pipeline (surveyors and admins)."""
    with transaction():
        project = get_project(actor.user, project_id)
        require_role(actor.user, "surveyor", "admin")
        setup.ensure_open(project)
        if not isinstance(data, dict):
            raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
        try:
            values = HouseholdInput().load(data)
        except ValidationError as exc:
            raise InvalidInput(problem("household_has_errors"), flatten_messages(exc.messages)) from None
        exists = db.session.scalar(select(func.count()).where(Household.project_id == project.id,
                                                              Household.code == values["code"]))
        if exists:
            raise InvalidInput(problem("household_code_taken"), {"code": [problem("household_code_exists")]})
        _parts_of(project, values)
        group_id = values.get("work_group_id")
        if group_id is None and project.groups:
            group_id = project.groups[0].id
        if values.get("land_nature") is None:
            values["land_nature"] = "collective" if values["kind"] == "collective_house" else "state"
        household = Household(project_id=project.id, created_at=now, created_by_id=actor.id,
                              **{**values, "work_group_id": group_id})
        db.session.add(household)
        db.session.flush()
        audit.record(actor, "household.create", "household", household.id, household_id=household.id,
                     after=values, at=now)
        instance = runtime.start_instance(actor, household, now=now)
    return household, instance


@dataclass(frozen=True)
class CaseQuery:
    """The case list's filters."""

    q: str | None = None
    project_id: int | None = None
    status: str | None = None
    step: str | None = None
    page: int = 1
    per_page: int = 50


def search(actor: Actor, query: CaseQuery) -> tuple[list[tuple[Household, ProcessInstance | None]], int]:
    """Households of the actor's projects matching the filters, newest first, with their instance."""
    stmt = select(Household, ProcessInstance).outerjoin(
        ProcessInstance, ProcessInstance.household_id == Household.id)
    stmt = restrict_to_households(stmt, actor.user)
    if query.project_id:
        stmt = stmt.where(Household.project_id == query.project_id)
    if query.q:
        pattern = f"%{query.q.strip()}%"
        stmt = stmt.where(or_(Household.code.ilike(pattern), Household.head_name.ilike(pattern),
                              Household.address.ilike(pattern), Household.phone.ilike(pattern)))
    if query.status:
        stmt = stmt.where(ProcessInstance.status == query.status)
    if query.step:
        stmt = stmt.where(ProcessInstance.id.in_(
            select(HumanTask.instance_id).where(HumanTask.status == "ready", HumanTask.bpmn_id == query.step)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(
        stmt.options(selectinload(Household.project))
        .order_by(Household.id.desc())
        .limit(query.per_page).offset((query.page - 1) * query.per_page)
    ).all()
    return [(h, i) for h, i in rows], int(total)


def open_steps_by_instance(instance_ids: list[int]) -> dict[int, list[HumanTask]]:
    """The open steps of several instances in one query, by instance."""
    if not instance_ids:
        return {}
    rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                                      HumanTask.status == "ready").order_by(HumanTask.id))
    result: dict[int, list[HumanTask]] = {}
    for row in rows:
        result.setdefault(row.instance_id, []).append(row)
    return result


def instance_of(household_id: int) -> ProcessInstance | None:
    """The household's newest process instance."""
    return db.session.scalar(select(ProcessInstance).where(ProcessInstance.household_id == household_id)
                             .order_by(ProcessInstance.id.desc()).limit(1))


@dataclass
class CaseFile:
    """Everything the case page and the API show of one household."""

    household: Household
    instance: ProcessInstance | None
    records: dict[str, ModuleRecord]
    editors: dict[int, str]  # usernames (the API's `updated_by`)
    current: list[HumanTask]
    editor_names: dict[int, str] = field(default_factory=dict)  # people's names, for the pages
    revealed: bool = False  # personal data in full (an audited view of a role that needs it)

    def shown(self, module: str) -> dict[str, Any]:
        """A module's data as the page shows it: personal data masked unless revealed."""
        record = self.records.get(module)
        data = record.data if record is not None and isinstance(record.data, dict) else {}
        return data if self.revealed else personal.mask_personal(data)

    @property
    def phone(self) -> str:
        """The household's phone as the page shows it."""
        phone = self.household.phone or ""
        return phone if self.revealed else personal.mask_phone(phone)


def case_file(actor: Actor, household_id: int, *, reveal: bool = False, now: datetime | None = None,
              step: HumanTask | None = None) -> CaseFile:
    """A household of the actor's projects with its modules, instance and open steps.

    Personal data is masked; `reveal` shows it in full to a role that needs it, and audits the view (with the
    `step` whose page asked for it, if any).
    """
    household = get_household(actor.user, household_id)
    records = modules.all_records(household.id)
    editor_ids = {r.updated_by_id for r in records.values() if r.updated_by_id}
    people = db.session.execute(select(User.id, User.username, User.display_name)
                                .where(User.id.in_(editor_ids))).all() if editor_ids else []
    if reveal:
        reveal_personal(actor, household, records.get("survey"), now, step)
    instance = instance_of(household.id)
    current = instances.current_tasks(instance.id) if instance is not None else []
    return CaseFile(household, instance, records, {i: u for i, u, _n in people}, current,
                    {i: n or u for i, u, n in people}, reveal)
