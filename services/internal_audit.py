"""Internal audit (内审) by the reviewer: sample a project's cases, record findings per household and step, the
step's role rectifies (整改) by a deadline in working days, the reviewer closes the finding or reopens it.
States: open → rectified → closed, or rectified → reopened → rectified …
A finding is seen on the households within the user's reach, rectified by the step's role within that role's reach
(as the step itself), and each change is told to who acts next (services/finding_notices.py)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, BinaryIO

import chinese_calendar
from marshmallow import fields as f
from marshmallow import validate
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import MAX_ID, AuditFinding, Household, HumanTask, ProcessInstance, User
from app.models.integrity import FINDING_OPEN_STATES, SEVERITIES
from services import audit, definitions, finding_notices
from services.access import (
    action_problem,
    can_see_household,
    get_household,
    get_project,
    restrict_by_household,
    restrict_to_households,
    step_condition,
)
from services.context import Actor
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.integrity import store_project_file
from services.problems import N_, CodedSchema, Problem, problem
from services.problems import register as register_problems
from services.runtime import PIPELINE_KEY
from services.text import writable
from services.tx import transaction

register_problems({
    "finding_not_found": N_("finding not found"),
    "finding_invalid": N_("the finding is not valid"),
    "finding_step": N_("choose a step of the pipeline"),
    "finding_reviewer_only": N_("only the reviewer (internal audit) opens, closes and reopens findings"),
    "finding_role_only": N_("only the step's role (%(role)s) rectifies this finding"),
    "finding_state": N_("the finding is %(state)s: this cannot be done now"),
    "rectification_invalid": N_("the rectification is not valid"),
    "reopen_invalid": N_("give the reason for reopening"),
    "sample_invalid": N_("the sample is not valid"),
})

AUDITOR = "reviewer"
DEFAULT_WORKING_DAYS = 10
OPEN_STATES = FINDING_OPEN_STATES  # waiting for the responsible role
_text = [validate.Length(min=1, max=4000), writable]


def is_working_day(day: date) -> bool:
    """A working day of the State Council's holiday schedule (public holidays off, make-up days 调休 on); for a
    year the schedule does not cover yet, Monday to Friday."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after start."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            days -= 1
    return current


class FindingInput(CodedSchema):
    """A finding: the household and step, what is wrong, how serious, and how many working days to rectify it."""

    household_id = f.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    bpmn_id = f.String(required=True, validate=validate.Length(min=1, max=64))
    severity = f.String(required=True, validate=validate.OneOf(SEVERITIES))
    text = f.String(required=True, validate=_text)
    working_days = f.Integer(load_default=DEFAULT_WORKING_DAYS, validate=validate.Range(min=1, max=60))


class RectificationInput(CodedSchema):
    """What the responsible role did about the finding."""

    text = f.String(required=True, validate=_text)


class ReopenInput(CodedSchema):
    """Why the reviewer does not accept the rectification, and how many working days the role has again."""

    reason = f.String(required=True, validate=_text)
    working_days = f.Integer(load_default=DEFAULT_WORKING_DAYS, validate=validate.Range(min=1, max=60))


class SampleInput(CodedSchema):
    """Which cases to look at: a random sample of `size`, or those at/through a step, or of a batch."""

    size = f.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=200))
    step = f.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    batch_id = f.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    seed = f.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**31 - 1))


def _valid(schema: type[CodedSchema], data: Any, code: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(problem(code), {"body": [problem("body_not_object")]})
    errors = schema().validate(data)
    if errors:
        raise InvalidInput(problem(code), errors)
    return schema().load(data)


def _require_auditor(actor: Actor) -> None:
    if not actor.user.has_role(AUDITOR):
        raise Forbidden(problem("finding_reviewer_only"))


def steps() -> dict[str, tuple[str, str]]:
    """The pipeline's steps: bpmn id → (name, role)."""
    process = definitions.parsed(definitions.current(PIPELINE_KEY))
    return {t.bpmn_id: (t.name, t.role or "admin") for t in process.user_tasks.values()}


def sample(actor: Actor, project_id: int, data: Any) -> list[Household]:
    """Cases of a project (running or closed) to audit: of a batch, through a step, or a random sample of size."""
    project = get_project(actor.user, project_id)
    _require_auditor(actor)
    args = _valid(SampleInput, data, "sample_invalid")
    stmt = (select(Household).join(ProcessInstance, ProcessInstance.household_id == Household.id)
            .where(Household.project_id == project.id, ProcessInstance.status.in_(("running", "completed"))))
    if args["batch_id"]:
        stmt = stmt.where(Household.batch_id == args["batch_id"])
    if args["step"]:
        reached = select(HumanTask.household_id).where(HumanTask.project_id == project.id,
                                                       HumanTask.bpmn_id == args["step"])
        stmt = stmt.where(Household.id.in_(reached))
    found = list(db.session.scalars(stmt.order_by(Household.code, Household.id)))
    if args["size"] and args["size"] < len(found):
        found = sorted(random.Random(args["seed"]).sample(found, args["size"]), key=lambda h: (h.code, h.id))
    return found


def open_finding(actor: Actor, data: Any, *, now: datetime) -> AuditFinding:
    """The reviewer records a finding; the step's role must rectify it within the working days given."""
    _require_auditor(actor)
    values = _valid(FindingInput, data, "finding_invalid")
    household = get_household(actor.user, values["household_id"])
    known = steps()
    if values["bpmn_id"] not in known:
        raise InvalidInput(problem("finding_invalid"), {"bpmn_id": [problem("finding_step")]})
    name, role = known[values["bpmn_id"]]
    with transaction():
        row = AuditFinding(project_id=household.project_id, household_id=household.id, bpmn_id=values["bpmn_id"],
                           step_name=name[:128], role=role, severity=values["severity"], text=values["text"].strip(),
                           state="open", due_on=add_working_days(now.date(), values["working_days"]),
                           opened_at=now, opened_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        audit.record(actor, "finding.open", "audit_finding", row.id, household_id=household.id, at=now,
                     after={"step": row.bpmn_id, "severity": row.severity, "text": row.text, "role": role,
                            "due_on": row.due_on})
        finding_notices.to_rectify(actor, row, household, now)
    return row


def get_finding(actor: Actor, finding_id: int) -> AuditFinding:
    """A finding on a household within the actor's reach, or NotFound (another project's or group's alike)."""
    row = db.session.get(AuditFinding, finding_id) if 0 < finding_id <= MAX_ID else None
    if row is None or not can_see_household(actor.user, row.household):
        raise NotFound(problem("finding_not_found"))
    return row


def _in_state(row: AuditFinding, *states: str) -> None:
    if row.state not in states:
        raise Conflict(problem("finding_state", state=row.state), code="finding_state")


def rectify(actor: Actor, finding_id: int, data: Any, proof: tuple[str | None, BinaryIO] | None = None, *,
            upload_dir: str = "", max_bytes: int = 0, now: datetime) -> AuditFinding:
    """The step's role records what was put right (text, optional file); the finding waits for the reviewer."""
    row = get_finding(actor, finding_id)
    refusal = rectify_problem(actor.user, row)
    if refusal is not None:
        raise Forbidden(refusal)
    values = _valid(RectificationInput, data, "rectification_invalid")
    _in_state(row, *OPEN_STATES)
    with transaction():
        row = db.session.get(AuditFinding, finding_id, with_for_update=True, populate_existing=True)
        _in_state(row, *OPEN_STATES)
        before = {"state": row.state}
        if proof is not None:
            stored = store_project_file(actor, row.project_id, "rectification", proof[0], proof[1],
                                        upload_dir=upload_dir, max_bytes=max_bytes, now=now)
            row.rectification_file_id = stored.id
        row.rectification, row.state = values["text"].strip(), "rectified"
        row.rectified_at, row.rectified_by_id = now, actor.id
        audit.record(actor, "finding.rectify", "audit_finding", row.id, household_id=row.household_id, at=now,
                     before=before, after={"state": row.state, "rectification": row.rectification})
        finding_notices.rectified(actor, row, row.household, now)
    return row


def close(actor: Actor, finding_id: int, *, now: datetime) -> AuditFinding:
    """The reviewer accepts the rectification."""
    return _judge(actor, finding_id, "closed", None, now)


def reopen(actor: Actor, finding_id: int, data: Any, *, now: datetime) -> AuditFinding:
    """The reviewer does not accept the rectification: the role must rectify again, with the reason."""
    row = get_finding(actor, finding_id)
    _require_auditor(actor)
    values = _valid(ReopenInput, data, "reopen_invalid")
    return _judge(actor, row.id, "reopened", values["reason"].strip(), now,
                  due_on=add_working_days(now.date(), values["working_days"]))


def _judge(actor: Actor, finding_id: int, state: str, reason: str | None, now: datetime, *,
           due_on: date | None = None) -> AuditFinding:
    get_finding(actor, finding_id)
    _require_auditor(actor)
    with transaction():
        row = db.session.get(AuditFinding, finding_id, with_for_update=True, populate_existing=True)
        _in_state(row, "rectified", *(("closed",) if state == "reopened" else ()))
        before = {"state": row.state, **({"due_on": row.due_on} if due_on else {})}
        row.state = state
        if state == "closed":
            row.closed_at, row.closed_by_id = now, actor.id
        else:
            row.reopen_reason, row.closed_at, row.closed_by_id = reason, None, None
            row.due_on = due_on or row.due_on
        audit.record(actor, f"finding.{'close' if state == 'closed' else 'reopen'}", "audit_finding", row.id,
                     household_id=row.household_id, at=now, before=before,
                     after={"state": state, **({"reason": reason} if reason else {}),
                            **({"due_on": due_on} if due_on else {})})
        if state == "reopened":
            finding_notices.to_rectify(actor, row, row.household, now, reason=reason)
    return row


def rectify_problem(user: User, row: AuditFinding) -> Problem | None:
    """Why the user may not rectify the finding (a Problem), None when they may: the step's role, within that
    role's reach of the household (and the signer a signing step is bound to), as for the step itself."""
    if not user.has_role(row.role):
        return problem("finding_role_only", role=row.role)
    household = row.household
    step = SimpleNamespace(role=row.role, project_id=row.project_id, work_group_id=household.work_group_id,
                           bpmn_id=row.bpmn_id, household=household)
    refusal = action_problem(user, step)
    return problem(refusal) if refusal is not None else None


def _finding_columns() -> SimpleNamespace:
    """A finding's columns as a step's (services/access.py step_condition), its household joined."""
    return SimpleNamespace(role=AuditFinding.role, project_id=AuditFinding.project_id,
                           work_group_id=Household.work_group_id, bpmn_id=AuditFinding.bpmn_id,
                           household_id=AuditFinding.household_id)


@dataclass(frozen=True)
class FindingQuery:
    """Filters of the findings' list."""

    project_id: int | None = None
    state: str | None = None
    mine: bool = False  # only those the actor rectifies: their roles, each within its reach of the household
    household_id: int | None = None
    to_rectify: bool = False  # mine and waiting for the rectification (open or reopened): the inbox's list
    limit: int = 500


def list_findings(actor: Actor, query: FindingQuery) -> list[AuditFinding]:
    """Findings on the households within the actor's reach, the most urgent first (open ones by deadline, then
    the others); one statement, their households loaded with them."""
    stmt = restrict_to_households(select(AuditFinding).join(Household, Household.id == AuditFinding.household_id)
                                  .options(contains_eager(AuditFinding.household)), actor.user)
    if query.project_id:
        stmt = stmt.where(AuditFinding.project_id == query.project_id)
    if query.state:
        stmt = stmt.where(AuditFinding.state == query.state)
    if query.household_id:
        stmt = stmt.where(AuditFinding.household_id == query.household_id)
    if query.mine or query.to_rectify:
        stmt = stmt.where(step_condition(actor.user, _finding_columns()))
    if query.to_rectify:
        stmt = stmt.where(AuditFinding.state.in_(OPEN_STATES))
    waiting = AuditFinding.state.in_(OPEN_STATES)
    stmt = stmt.order_by(waiting.desc(), AuditFinding.due_on, AuditFinding.id)
    return list(db.session.scalars(stmt.limit(query.limit)))


def is_overdue(row: AuditFinding, today: date) -> bool:
    """Waiting for the role past its deadline."""
    return row.state in OPEN_STATES and row.due_on < today


@dataclass(frozen=True)
class FindingCounts:
    """Findings by state, and the ones overdue."""

    by_state: dict[str, int]
    overdue: list[AuditFinding]


def counts(actor: Actor, project_id: int | None, today: date) -> FindingCounts:
    """The supervisor's view of the households within reach: how many findings in each state, and the overdue
    ones (two queries)."""
    stmt = restrict_by_household(select(AuditFinding.state, func.count()), actor.user, AuditFinding.household_id)
    if project_id:
        stmt = stmt.where(AuditFinding.project_id == project_id)
    by_state = {state: 0 for state in ("open", "rectified", "closed", "reopened")}
    by_state.update(dict(db.session.execute(stmt.group_by(AuditFinding.state)).all()))
    late = restrict_by_household(select(AuditFinding), actor.user, AuditFinding.household_id).where(
        AuditFinding.state.in_(OPEN_STATES), AuditFinding.due_on < today)
    if project_id:
        late = late.where(AuditFinding.project_id == project_id)
    overdue = list(db.session.scalars(late.order_by(AuditFinding.due_on, AuditFinding.id).limit(100)))
    return FindingCounts(by_state, overdue)
