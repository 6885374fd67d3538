"""Due times of open steps: the diagram's 'due' property, overridden by a supervisor per project or for all."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validate
from marshmallow import fields as f
from sqlalchemy import or_, select

from app.extensions import db
from app.models import MAX_ID, HumanTask, ProcessDefinition, StepDeadline
from services import audit, definitions, durations, store
from services.access import get_project, require_role
from services.context import Actor
from services.engine import UserTaskInfo
from services.errors import InvalidInput, NotFound
from services.forms.registry import flatten_messages, schema_instance
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems
from services.tx import transaction

register_problems({
    "step_unknown": N_("unknown step"),
    "duration_invalid": N_("an ISO 8601 duration such as P3D or PT4H, at most ten years"),
    "project_id_invalid": N_("must be a project id"),
    "deadline_invalid": N_("the deadline is not valid"),
})

PIPELINE_KEY = "relocation"


def _override(bpmn_id: str, project_id: int | None) -> str | None:
    """The supervisor's duration for a step: the project's own, else the one for every project."""
    rows = db.session.execute(
        select(StepDeadline.project_id, StepDeadline.due)
        .where(StepDeadline.bpmn_id == bpmn_id,
               or_(StepDeadline.project_id.is_(None), StepDeadline.project_id == project_id))
    ).all()
    by_scope = {pid: due for pid, due in rows}
    return by_scope.get(project_id) or by_scope.get(None)


def duration_for(info: UserTaskInfo | None, project_id: int | None) -> str | None:
    """The due duration that applies to a step in a project."""
    if info is None:
        return None
    return _override(info.bpmn_id, project_id) or info.due


def due_at(info: UserTaskInfo | None, project_id: int, now: datetime) -> datetime | None:
    """When a step opened now falls due; None when it has no valid due duration."""
    text = duration_for(info, project_id)
    if not text:
        return None
    try:
        return now + durations.to_timedelta(text, now)
    except durations.DurationError:
        return None


@dataclass(frozen=True)
class StepDeadlineView:
    """One step's due duration as the deadlines page and API show it."""

    bpmn_id: str
    name: str
    role: str | None
    due: str | None
    default: str | None
    scope: str  # "diagram", "all" or "project"
    project_id: int | None


def _steps() -> list[UserTaskInfo]:
    definition = definitions.current(PIPELINE_KEY)
    return list(definitions.parsed(definition).user_tasks.values())


def list_deadlines(actor: Actor, project_id: int | None = None) -> list[StepDeadlineView]:
    """Each step of the pipeline with the duration in force (for a project, or for every project)."""
    if project_id is not None:
        get_project(actor.user, project_id)
    rows = db.session.execute(select(StepDeadline.bpmn_id, StepDeadline.project_id, StepDeadline.due)).all()
    overrides = {(b, p): d for b, p, d in rows}
    views = []
    for info in _steps():
        own = overrides.get((info.bpmn_id, project_id)) if project_id is not None else None
        common = overrides.get((info.bpmn_id, None))
        due, scope = (own, "project") if own else (common, "all") if common else (info.due, "diagram")
        views.append(StepDeadlineView(info.bpmn_id, info.name, info.role, due, info.due, scope, project_id))
    return views


def _duration(value: str) -> None:
    if not durations.is_valid(value):
        raise ValidationError(problem("duration_invalid"))


class DeadlineUpdate(CodedSchema):
    """The body of setting a step's deadline (the API's DeadlineUpdate)."""

    due = f.String(required=True, validate=_duration,
                   metadata={"description": "ISO 8601 duration, e.g. P3D or PT2S"})
    project_id = f.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID),
                           metadata={"description": "only this project (default: every one)"})


def set_deadline(actor: Actor, bpmn_id: str, data: Any, *, now: datetime) -> StepDeadlineView:
    """Set a step's due duration (supervisor, admin); open steps of that kind get the new due time."""
    with transaction():
        require_role(actor.user, "supervisor", "admin")
        steps = {info.bpmn_id: info for info in _steps()}
        if bpmn_id not in steps:
            raise NotFound(problem("step_unknown"))
        if not isinstance(data, dict):
            raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
        try:
            body = schema_instance(DeadlineUpdate).load(data)
        except ValidationError as exc:
            raise InvalidInput(problem("deadline_invalid"), flatten_messages(exc.messages)) from None
        due, project_id = body["due"], body.get("project_id")
        if project_id is not None:
            get_project(actor.user, project_id)
        due = due.strip().upper()
        row = db.session.scalar(select(StepDeadline).where(
            StepDeadline.bpmn_id == bpmn_id,
            StepDeadline.project_id.is_(None) if project_id is None else StepDeadline.project_id == project_id))
        before = row.due if row else None
        if row is None:
            row = StepDeadline(bpmn_id=bpmn_id, project_id=project_id, due=due)
            db.session.add(row)
        row.due, row.updated_at, row.updated_by_id = due, now, actor.id
        db.session.flush()
        rescheduled = _reschedule_open_steps(bpmn_id, project_id, now)
        audit.record(actor, "deadline.set", "step_deadline", row.id, before={"due": before},
                     after={"bpmn_id": bpmn_id, "project_id": project_id, "due": due, "rescheduled": rescheduled},
                     at=now)
    return next(v for v in list_deadlines(actor, project_id) if v.bpmn_id == bpmn_id)


def _reschedule_open_steps(bpmn_id: str, project_id: int | None, now: datetime) -> int:
    """Open steps of the changed kind fall due counted from when they opened, and escalate afresh."""
    query = select(HumanTask).where(HumanTask.status == "ready", HumanTask.bpmn_id == bpmn_id)
    if project_id is not None:
        query = query.where(HumanTask.project_id == project_id)
    store.lock_instances_of_steps(list(db.session.scalars(query.with_only_columns(HumanTask.id))))
    count = 0
    for row in db.session.scalars(query.order_by(HumanTask.id).with_for_update(of=HumanTask)):
        if project_id is None and _override(bpmn_id, row.project_id) != _override(bpmn_id, None):
            continue  # the project keeps its own setting
        text = _override(bpmn_id, row.project_id)
        row.due_at = row.created_at + durations.to_timedelta(text, row.created_at)
        row.escalation_level = 0
        row.next_escalation_at = now
        count += 1
    return count


def deployed_step_names() -> dict[str, str]:
    """bpmn_id → name of the user tasks of every deployed version (for labels)."""
    names: dict[str, str] = {}
    for definition in db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.status == "deployed")):
        for info in definitions.parsed(definition).user_tasks.values():
            names.setdefault(info.bpmn_id, info.name)
    return names
