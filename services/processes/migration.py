"""Moving running cases to a newer version of their process, when SpiffWorkflow's diff says it is safe.

Each case is planned on a copy of its workflow first: the diff aligns the old
steps with the new ones, the workflow is migrated and stepped, saved and
restored again. Only a plan that survives all of that is applied — in one
transaction per case, under the same lock as every other change of a case.
Waiting timers restart from the moment of the move (SpiffWorkflow resets them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import undefer

from app.extensions import db
from app.models import MAX_ID, Household, HumanTask, ProcessDefinition, ProcessInstance, Project
from services import audit, definitions, history, runtime, store
from services.access import can_see_household, require_role, restrict_to_households
from services.context import Actor
from services.deadlines import due_at
from services.engine import ACTIVE_STATES, EngineError, ParsedProcess, ready_user_tasks
from services.errors import Conflict, InvalidInput, ServiceError
from services.expressions import ExpressionError
from services.problems import N_, problem
from services.problems import register as register_problems
from services.processes import versions
from services.processes.versions import EDITOR_ROLES
from services.tx import transaction

register_problems({
    "migrate_choose": N_("choose the cases to move"),
    "migrate_none": N_("give a non-empty list of case ids"),
    "migrate_too_many": N_("too many cases"),
    "migrate_at_most": N_("at most %(max)s at a time"),
    "migrate_ids": N_("the case ids are not valid"),
    "migrate_id_numbers": N_("each must be a positive whole number"),
    "migrate_not_deployed": N_("cases can only move to a deployed version"),
})

MAX_INSTANCES = 200


class Refused(Exception):
    """A case that cannot move safely, and why."""

    def __init__(self, reason: str, changes: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.changes = changes or {}


@dataclass
class Outcome:
    """What happened (or, in a dry run, would happen) to one case."""

    instance_id: Any
    ok: bool
    reason: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """A case's workflow, already moved to the new version, with the summary of what changed."""

    workflow: BpmnWorkflow
    process: ParsedProcess
    changes: dict[str, Any]


def instance_ids(value: Any) -> list[int]:
    """The ids of the cases to move: a non-empty list of at most 200 row ids, each once."""
    if not isinstance(value, list) or not value:
        raise InvalidInput(problem("migrate_choose"), {"instance_ids": [problem("migrate_none")]})
    if len(value) > MAX_INSTANCES:
        raise InvalidInput(problem("migrate_too_many"),
                           {"instance_ids": [problem("migrate_at_most", max=MAX_INSTANCES)]})
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_ID for v in value):
        raise InvalidInput(problem("migrate_ids"), {"instance_ids": [problem("migrate_id_numbers")]})
    return list(dict.fromkeys(value))


@dataclass(frozen=True)
class Candidate:
    """A running case on an older version of the process, with its open steps."""

    instance: ProcessInstance
    household_code: str
    head_name: str | None
    project_name: str
    version: int
    open_steps: list[str]


def candidates(actor: Actor, target_id: int, limit: int = 500) -> list[Candidate]:
    """The running cases of the actor's projects on older versions of the target's process."""
    require_role(actor.user, *EDITOR_ROLES)
    target = versions.find(target_id)
    query = (select(ProcessInstance, Household, Project.name, ProcessDefinition.version)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .join(Household, Household.id == ProcessInstance.household_id)
             .join(Project, Project.id == ProcessInstance.project_id)
             .where(ProcessDefinition.key == target.key, ProcessDefinition.version < target.version,
                    ProcessInstance.status == "running")
             .order_by(ProcessDefinition.version, Household.code, ProcessInstance.id).limit(limit))
    rows = db.session.execute(restrict_to_households(query, actor.user)).all()
    steps: dict[int, list[str]] = {}
    ids = [instance.id for instance, *_ in rows]
    for instance_id, name in db.session.execute(
            select(HumanTask.instance_id, HumanTask.name)
            .where(HumanTask.instance_id.in_(ids or [-1]), HumanTask.status == "ready").order_by(HumanTask.id)):
        steps.setdefault(instance_id, []).append(name)
    return [Candidate(instance, household.code, household.head_name, project, version, steps.get(instance.id, []))
            for instance, household, project, version in rows]


def migrate(actor: Actor, target_id: int, ids: Any, now: datetime, *, dry_run: bool) -> list[Outcome]:
    """Move each chosen case to the target version (or only say what would change); one transaction per case."""
    require_role(actor.user, *EDITOR_ROLES)
    target = versions.find(target_id)
    if target.status != "deployed":
        raise Conflict(problem("migrate_not_deployed"), code="not_deployed")
    outcomes = []
    for instance_id in instance_ids(ids):
        try:
            outcomes.append(_move(actor, target.id, instance_id, now, dry_run))
        except Refused as refused:
            outcomes.append(Outcome(instance_id, False, refused.reason, refused.changes))
        except ServiceError as exc:
            outcomes.append(Outcome(instance_id, False, exc.message))
    return outcomes


def _move(actor: Actor, target_id: int, instance_id: int, now: datetime, dry_run: bool) -> Outcome:
    if dry_run:
        instance = _visible(actor, db.session.get(ProcessInstance, instance_id,
                                                  options=[undefer(ProcessInstance.state)]))
        plan = plan_move(instance, db.session.get(ProcessDefinition, target_id))
        return Outcome(instance_id, True, None, plan.changes)
    with transaction():
        instance = _visible(actor, store.lock(instance_id))
        target = db.session.get(ProcessDefinition, target_id)
        if target is None or target.status != "deployed":
            raise Refused("the target version is no longer deployed")
        plan = plan_move(instance, target)
        _apply(actor, instance, target, plan, now)
    return Outcome(instance_id, True, None, plan.changes)


def _visible(actor: Actor, instance: ProcessInstance | None) -> ProcessInstance:
    if instance is None or not can_see_household(actor.user, instance.household):
        raise Refused("case not found")
    return instance


def plan_move(instance: ProcessInstance, target: ProcessDefinition) -> Plan:
    """The case's workflow moved to the target version in memory; Refused when the move is not safe."""
    source = instance.definition
    if instance.status != "running":
        raise Refused(f"the case is {instance.status}, not running")
    if source.key != target.key:
        raise Refused(f"the case runs the process '{source.key}', not '{target.key}'")
    if source.id == target.id:
        raise Refused(f"the case runs v{target.version} already")
    if source.version > target.version:
        raise Refused(f"the case runs v{source.version}, newer than v{target.version}")
    engine = definitions.get_engine()
    process = definitions.parsed(target)
    workflow = store.load(instance)
    before = _open_steps(workflow)
    top, subs = diff_workflow(engine.serializer.registry, workflow, process.spec, process.subprocess_specs)
    changes = {"from_version": source.version, "to_version": target.version, "open_steps": [], "closed": [],
               "opened": [], "timers_restart": _has_waiting_timer(workflow)}
    _refuse_unsafe(workflow, top, subs, target.version, changes)
    migrate_workflow(top, workflow, process.spec)
    for sp_id, subprocess in list(workflow.subprocesses.items()):
        if subs.get(sp_id) is not None:
            migrate_workflow(subs[sp_id], subprocess, process.subprocess_specs[subprocess.spec.name])
    workflow.subprocess_specs = process.subprocess_specs
    workflow.definition_sha = process.sha256
    _drop_stale_events(workflow)
    try:
        workflow.do_engine_steps()
        moved = engine.loads(engine.dumps(workflow))  # what the next load will see
    except (SpiffWorkflowException, ExpressionError, EngineError, KeyError, AttributeError, TypeError) as exc:
        raise Refused(f"the case cannot continue on v{target.version}: {exc}", changes) from None
    _summarise(before, _open_steps(moved), process, changes)
    return Plan(moved, process, changes)


def _open_steps(workflow: BpmnWorkflow) -> dict[str, tuple[str, str]]:
    return {str(t.id): (t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id)
            for t in ready_user_tasks(workflow)}


def _has_waiting_timer(workflow: BpmnWorkflow) -> bool:
    return any(e.event_type.endswith("TimerEventDefinition") for e in workflow.waiting_events())


def _name(task: Any) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name


def _refuse_unsafe(workflow: BpmnWorkflow, top: Any, subs: dict[Any, Any], version: int,
                   changes: dict[str, Any]) -> None:
    """An open step (or a running subprocess) that the new version removes or turns into something else."""
    diffs = [top, *[d for d in subs.values() if d is not None]]
    for diff in diffs:
        for task in diff.removed:
            if task.has_state(ACTIVE_STATES):
                raise Refused(f"the open step '{_name(task)}' is removed in v{version}", changes)
            if task.has_state(TaskState.FINISHED_MASK):
                raise Refused(f"'{_name(task)}', which the case passed last, is removed in v{version}; move the "
                              "case once its open steps are done", changes)
        for task in diff.changed:
            if task.has_state(ACTIVE_STATES) and "typename" in _changed_attributes(diff, task):
                raise Refused(f"the open step '{_name(task)}' is a different kind of element in v{version}",
                              changes)
    for sp_id, diff in subs.items():
        subprocess = workflow.subprocesses[sp_id]
        if diff is None and not subprocess.completed:
            raise Refused(f"the running subprocess '{subprocess.spec.name}' is removed in v{version}", changes)


def _changed_attributes(diff: Any, task: Any) -> list[str]:
    new_spec = diff.alignment.get(task)
    if new_spec is None:
        return []
    return ["typename"] if type(new_spec) is not type(task.task_spec) else []


def _drop_stale_events(workflow: BpmnWorkflow) -> None:
    """Forget waiting events of tasks the migration dropped (SpiffWorkflow leaves them behind)."""
    manager = workflow.event_manager
    for task_id, task in list(manager.tasks.items()):
        if task.workflow.tasks.get(task_id) is not task or not task.has_state(TaskState.WAITING):
            del manager.tasks[task_id]


def _summarise(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]], process: ParsedProcess,
               changes: dict[str, Any]) -> None:
    for guid, (bpmn_id, name) in before.items():
        if guid in after:
            new_id, new_name = after[guid]
            info = process.user_tasks.get(new_id)
            changes["open_steps"].append({
                "task_guid": guid, "from": {"id": bpmn_id, "name": name},
                "to": {"id": new_id, "name": new_name, "role": info.role if info else None,
                       "form": info.form if info else None}})
        else:
            changes["closed"].append({"task_guid": guid, "id": bpmn_id, "name": name})
    for guid, (bpmn_id, name) in after.items():
        if guid not in before:
            changes["opened"].append({"task_guid": guid, "id": bpmn_id, "name": name})


def _apply(actor: Actor, instance: ProcessInstance, target: ProcessDefinition, plan: Plan, now: datetime) -> None:
    """Write the moved workflow, bring the open-step rows in line, and record the move."""
    source = instance.definition
    progress = instance.last_progress_at
    instance.definition = target
    rows = {r.task_guid: r for r in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "ready"))}
    for step in plan.changes["open_steps"]:
        row = rows.get(step["task_guid"])
        info = plan.process.user_tasks.get(step["to"]["id"])
        if row is not None and info is not None:
            _update_row(row, info, instance.project_id)
    runtime._advance(instance, plan.workflow, plan.process, actor, now, runtime.Change())
    instance.last_progress_at = progress  # a move is not progress on the case
    detail = {"from": f"{source.key} v{source.version}", "to": f"{target.key} v{target.version}",
              "open_steps": [f"{s['from']['name']} → {s['to']['name']}" for s in plan.changes["open_steps"]],
              "closed": [s["name"] for s in plan.changes["closed"]],
              "opened": [s["name"] for s in plan.changes["opened"]]}
    history.record(instance.id, "migrated", actor=actor, at=now, detail=detail)
    audit.record(actor, "instance.migrate", "process_instance", instance.id, household_id=instance.household_id,
                 before={"definition_id": source.id, "version": source.version},
                 after={"definition_id": target.id, "version": target.version, **detail}, at=now)


def _update_row(row: HumanTask, info: Any, project_id: int) -> None:
    """An open step keeps its row (and its assignee, while they hold the role) under the new version's terms."""
    if info.role and info.role != row.role:
        row.role = info.role
        if row.assignee is not None and not row.assignee.has_role(info.role):
            row.assignee_id, row.claimed_at = None, None
    row.bpmn_id = info.bpmn_id
    row.name = info.name[:128]
    row.form_key = info.form or ""
    due = due_at(info, project_id, row.created_at)
    if due != row.due_at:
        row.due_at = due
        row.escalation_level = 0
        row.next_escalation_at = row.created_at if due else None
