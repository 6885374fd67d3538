"""Moving cases through the pipeline: start, complete, return — each change one transaction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.extensions import db
from app.models import Household, HumanTask, ProcessInstance, User
from app.models.household import cadre_signs
from services import audit, definitions, duties, history, integrity, milestones, signals, store
from services.access import get_household
from services.context import Actor
from services.deadlines import due_at
from services.engine import EngineError, ParsedProcess, ready_user_tasks
from services.errors import Conflict, InvalidInput, NotFound
from services.expressions import ExpressionError
from services.forms import get_form
from services.modules.completion import complete_module
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tasks import actionable, task_for_action
from services.text import first_unwritable
from services.tx import take_write_lock, transaction

register_problems({
    "return_reason": N_("give the reason for the return"),
    "return_impossible": N_("this step cannot send the case back"),
    "return_target": N_("must be one of: %(targets)s"),
    "return_invalid": N_("the return is not valid"),
    "return_not_routed": N_("the process does not route a return from this step"),
    "case_running": N_("the household's case is already running"),
    "case_not_running": N_("the case is %(case_status)s"),
    "form_unknown": N_("the step names an unknown form '%(form)s'"),
    "engine_failed": N_("the process could not continue: %(reason)s"),
})

PIPELINE_KEY = "relocation"
T = TypeVar("T")


def _itself(instance: ProcessInstance) -> Any:
    return instance


@dataclass(frozen=True)
class Change:
    """What moved the workflow: the completed task, and where it was sent back to, if anywhere."""

    task: HumanTask | None = None
    return_to: str | None = None
    reason: str | None = None


def start_instance(actor: Actor, household: Household, *, now: datetime, key: str = PIPELINE_KEY,
                   ) -> ProcessInstance:
    """Start the pipeline for a household (in the caller's transaction)."""
    return start_workflow(actor, household, now=now, key=key)[0]


def start_workflow(actor: Actor, household: Household, *, now: datetime, key: str = PIPELINE_KEY,
                   ) -> tuple[ProcessInstance, BpmnWorkflow]:
    """start_instance, also handing back the running workflow (for a bulk import that goes on at once)."""
    definition = definitions.current(key)
    process = definitions.parsed(definition)
    workflow = definitions.get_engine().new_workflow(process, start_variables(household))
    instance = ProcessInstance(definition=definition, household_id=household.id, project_id=household.project_id,
                               status="running", state=b"", created_at=now, updated_at=now, last_progress_at=now)
    db.session.add(instance)
    db.session.flush()
    history.record(instance.id, "started", actor=actor, at=now,
                   detail={"definition": f"{definition.key} v{definition.version}"})
    _advance(instance, workflow, process, actor, now, Change(), open_rows={})
    return instance, workflow


def start_variables(household: Household) -> dict[str, Any]:
    """What the diagram's gateways know of the household from the start (and again at every completion, so
    that a case started before a variable existed has it by the time a gateway asks)."""
    return kind_variables(household.kind, household.project.kind)


def kind_variables(kind: str, project_kind: str) -> dict[str, Any]:
    """start_variables of a household of this kind in a project of this kind."""
    return {"cadre_signs": cadre_signs(kind, project_kind)}


class _EngineFailure(Exception):
    def __init__(self, instance_id: int, message: str):
        super().__init__(message)
        self.instance_id = instance_id
        self.message = message


def complete_task(actor: Actor, task_id: int, data: Any, *, now: datetime,
                  answer: Callable[[ProcessInstance], T] = _itself) -> T:
    """Complete a step with its form data; the case moves on to the next steps.

    Returns the instance, or what answer makes of it: answer runs in the same transaction, after the
    change is written and before it commits, so the reply reads what was just written without a
    transaction of its own.
    """
    try:
        return _complete(actor, task_id, data, now=now, answer=answer)
    except _EngineFailure as failure:
        _mark_error(actor, failure, now)
        raise Conflict(problem("engine_failed", reason=failure.message), code="engine_error") from None


def return_task(actor: Actor, task_id: int, to: Any, reason: Any, *, now: datetime,
                answer: Callable[[ProcessInstance], T] = _itself) -> T:
    """Send the case back from a reviewing step to an earlier one, with a written reason (answer: as for
    complete_task)."""
    try:
        return _return(actor, task_id, to, reason, now=now, answer=answer)
    except _EngineFailure as failure:
        _mark_error(actor, failure, now)
        raise Conflict(problem("engine_failed", reason=failure.message), code="engine_error") from None


def _mark_error(actor: Actor, failure: _EngineFailure, now: datetime) -> None:
    """Record, in a transaction of its own, that an instance stopped on an engine error."""
    with transaction():
        instance = store.lock(failure.instance_id)
        instance.status = "error"
        instance.error_message = failure.message[:2000]
        instance.updated_at = now
        history.record(instance.id, "error", actor=actor, at=now, detail={"message": failure.message[:2000]})
        audit.record(actor, "instance.error", "process_instance", instance.id, household_id=instance.household_id,
                     after={"message": failure.message[:2000]}, at=now)


def _complete(actor: Actor, task_id: int, data: Any, *, now: datetime, answer: Callable[[ProcessInstance], T]) -> T:
    with transaction(keep_loaded=True):  # the caller answers with the instance as committed
        row, instance, open_rows = _open_for_change(actor, task_id)
        duties.check(actor, row)
        _complete_open(actor, row, instance, open_rows, data, now, store.load(instance))
        result = answer(instance)
    return result


def complete_checked(actor: Actor, row: HumanTask, instance: ProcessInstance, data: Any, *, now: datetime,
                     workflow: BpmnWorkflow | None = None, open_rows: dict[str, HumanTask] | None = None) -> None:
    """Complete a ready step the caller has already cleared the actor for (a bulk import of the step's module,
    in the caller's transaction): exactly what complete_task does after its checks. An engine failure is a
    Conflict that leaves the caller to roll back."""
    if open_rows is None:
        open_rows = store.open_steps(instance.id)
    try:
        _complete_open(actor, row, instance, open_rows, data, now,
                       workflow if workflow is not None else store.load(instance))
    except _EngineFailure as failure:
        raise Conflict(problem("engine_failed", reason=failure.message), code="engine_error") from None


def _complete_open(actor: Actor, row: HumanTask, instance: ProcessInstance, open_rows: dict[str, HumanTask],
                   data: Any, now: datetime, workflow: BpmnWorkflow) -> None:
    """The step's module written, the workflow run on, the next steps opened (the instance is locked)."""
    form = get_form(row.form_key)
    if form is None:
        raise Conflict(problem("form_unknown", form=row.form_key), code="engine_error")
    task = _spiff_task(workflow, row)
    stored = complete_module(actor, row, instance.household, form, data, now)
    integrity.declare_on_completion(actor, row, stored, now)
    task.data.pop("return_to", None)
    gateway = form.gateway(stored, {"project_id": instance.project_id, "now": now})
    task.data.update({"decision": "approve", **gateway, **start_variables(instance.household)})
    _finish(row, actor, now, "completed")
    history.record(instance.id, "completed", actor=actor, at=now, task=row)
    _run(instance, task, workflow)
    process = definitions.parsed(instance.definition)
    steps = _sync_steps(instance, workflow, process, actor, now, Change(task=row), open_rows)
    milestones.after_complete(instance, row, stored, steps.open_forms, now)
    _announce(instance, steps, actor, now)
    audit.record(actor, "task.complete", "human_task", row.id, household_id=row.household_id,
                 after={"step": row.bpmn_id, "instance": instance.id}, at=now)
    signals.task_completed.send(row, actor=actor, now=now)


def _return(actor: Actor, task_id: int, to: Any, reason: Any, *, now: datetime,
            answer: Callable[[ProcessInstance], T]) -> T:
    with transaction(keep_loaded=True):
        row, instance, open_rows = _open_for_change(actor, task_id)
        process = definitions.parsed(instance.definition)
        info = process.user_tasks.get(row.bpmn_id)
        targets = info.return_targets if info else ()
        fields: dict[str, list[str]] = {}
        if not isinstance(reason, str) or not reason.strip():
            fields["reason"] = [problem("return_reason")]
        elif len(reason) > 2000:
            fields["reason"] = [problem("at_most_chars", max=2000)]
        elif first_unwritable(reason) is not None:
            fields["reason"] = [problem("unwritable_text", char=first_unwritable(reason))]
        if not targets:
            fields["to"] = [problem("return_impossible")]
        elif to not in targets:
            fields["to"] = [problem("return_target", targets=targets)]
        if fields:
            raise InvalidInput(problem("return_invalid"), fields)
        reason = reason.strip()
        workflow = store.load(instance)
        task = _spiff_task(workflow, row)
        task.data.update({"decision": "return", "return_to": to})
        _finish(row, actor, now, "completed")
        target_name = process.user_tasks[to].name
        history.record(instance.id, "returned", actor=actor, at=now, task=row,
                       detail={"to": to, "to_name": target_name, "reason": reason})
        _run(instance, task, workflow)
        if to not in {t.task_spec.bpmn_id for t in ready_user_tasks(workflow)}:  # the diagram let it go on instead
            raise Conflict(problem("return_not_routed"), code="return_not_routed")
        milestones.after_return(instance, process.user_tasks[to].form)
        _advance(instance, workflow, process, actor, now, Change(task=row, return_to=to, reason=reason), open_rows)
        audit.record(actor, "task.return", "human_task", row.id, household_id=row.household_id,
                     after={"step": row.bpmn_id, "to": to, "reason": reason}, at=now)
        result = answer(instance)
    return result


def _open_for_change(actor: Actor, task_id: int) -> tuple[HumanTask, ProcessInstance, dict[str, HumanTask]]:
    """The step, its instance under lock, and the instance's open steps read after the lock.

    The instance is locked only when the actor may act on the step (its project and role); otherwise the
    step is looked up on its own for the right refusal (NotFound, Forbidden).
    """
    instance = store.lock_for_step(task_id, *actionable(actor.user))
    if instance is None:
        task_for_action(actor.user, task_id)  # raises why the actor may not act on it
        raise NotFound(problem("task_not_found"))
    open_rows = store.open_steps(instance.id)
    row = next((r for r in open_rows.values() if r.id == task_id), None)
    if row is None:
        raise Conflict(problem("task_not_ready"), code="task_not_ready")
    if row.assignee_id is not None and row.assignee_id != actor.id:
        raise Conflict(problem("task_claimed"), code="claimed")
    if instance.status != "running":
        raise Conflict(problem("case_not_running", case_status=instance.status), code="instance_not_running")
    return row, instance, open_rows


def _spiff_task(workflow: BpmnWorkflow, row: HumanTask):
    task = workflow.get_task_from_id(UUID(row.task_guid))
    if task is None or task.state != TaskState.READY:
        raise Conflict(problem("task_not_ready"), code="task_not_ready")
    return task


def _finish(row: HumanTask, actor: Actor, now: datetime, status: str) -> None:
    if row.assignee_id is None:
        row.assignee_id = actor.id
        row.claimed_at = now
    row.status = status
    row.completed_at = now
    row.completed_by_id = actor.id
    row.next_escalation_at = None


def _run(instance: ProcessInstance, task: Any, workflow: BpmnWorkflow) -> None:
    try:
        task.run()
        workflow.do_engine_steps()
    except (SpiffWorkflowException, ExpressionError, EngineError) as exc:
        raise _EngineFailure(instance.id, str(exc)) from None


@dataclass
class _Steps:
    """What bringing the step rows in line with the workflow did: the steps opened, the forms still open."""

    created: list[HumanTask]
    open_forms: set[str]


def _advance(instance: ProcessInstance, workflow: BpmnWorkflow, process: ParsedProcess, actor: Actor,
             now: datetime, change: Change, open_rows: dict[str, HumanTask] | None = None) -> set[str]:
    """Save the workflow, bring the HumanTask rows in line with its READY tasks; the open forms remain."""
    steps = _sync_steps(instance, workflow, process, actor, now, change, open_rows)
    _announce(instance, steps, actor, now)
    return steps.open_forms


def _sync_steps(instance: ProcessInstance, workflow: BpmnWorkflow, process: ParsedProcess, actor: Actor,
                now: datetime, change: Change, open_rows: dict[str, HumanTask] | None) -> _Steps:
    """Save the workflow and open or cancel step rows to match its READY tasks (nothing written yet).

    open_rows are the instance's open steps read under its lock (read here when not given); a step the
    change completed is no longer among them. Reads here do not flush: _announce writes it all at once.
    """
    with db.session.no_autoflush:
        store.save(instance, workflow, now)
        instance.last_progress_at = now
        ready = {str(t.id): t for t in ready_user_tasks(workflow)}
        if open_rows is None:
            open_rows = store.open_steps(instance.id)
        open_rows = {guid: r for guid, r in open_rows.items() if r.status == "ready"}
        for guid, row in open_rows.items():
            if guid not in ready:
                row.status = "cancelled"
                row.completed_at = now
                row.next_escalation_at = None
                history.record(instance.id, "cancelled", actor=actor, at=now, task=row)
        created = []
        for guid, task in ready.items():
            if guid in open_rows:
                continue
            info = process.user_tasks.get(task.task_spec.bpmn_id)
            row = HumanTask(
                instance_id=instance.id, project_id=instance.project_id, household_id=instance.household_id,
                work_group_id=instance.household.work_group_id, task_guid=guid, bpmn_id=task.task_spec.bpmn_id,
                name=(info.name if info else task.task_spec.bpmn_id)[:128],
                role=(info.role if info and info.role else "admin"), form_key=(info.form if info else "") or "",
                status="ready", created_at=now, due_at=due_at(info, instance.project_id, now),
            )
            row.next_escalation_at = now if row.due_at else None  # the worker schedules its reminders
            if change.return_to and change.return_to == row.bpmn_id:
                row.returned = True
                row.return_reason = change.reason
                row.returned_from = change.task.name if change.task else None
                row.returned_by_id = actor.id
                row.assignee_id = _previous_assignee(instance.id, row.bpmn_id, row.role)
                row.claimed_at = now if row.assignee_id else None
            db.session.add(row)
            detail = {"returned": True, "reason": row.return_reason} if row.returned else None
            history.record(instance.id, "created", actor=actor, at=now, task=row, detail=detail)
            created.append(row)
        if instance.status == "completed":
            history.record(instance.id, "closed", actor=actor, at=now)
        open_forms = {r.form_key for r in open_rows.values() if r.status == "ready"} | {r.form_key for r in created}
    return _Steps(created, open_forms)


def _announce(instance: ProcessInstance, steps: _Steps, actor: Actor, now: datetime) -> None:
    """Write the changes (one flush: the instance, its steps and their events) and tell who needs to know."""
    db.session.flush()
    for row in steps.created:
        signals.task_created.send(row, now=now, returned=row.returned)
        if row.returned:
            signals.task_returned.send(row, actor=actor, reason=row.return_reason, returned_from=row.returned_from,
                                       now=now)
    signing = [r for r in steps.created if r.form_key == "sign"]
    if signing:
        signals.agreement_ready.send(instance, tasks=signing, now=now)
    if instance.status == "completed":
        signals.instance_completed.send(instance, actor=actor, now=now)


def _previous_assignee(instance_id: int, bpmn_id: str, role: str) -> int | None:
    """Who completed this step last time, if they still hold its role — they get the rework."""
    user_id = db.session.scalar(
        select(HumanTask.completed_by_id)
        .where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id,
               HumanTask.status == "completed")
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        .limit(1)
    )
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user_id if user is not None and user.active and user.has_role(role) else None


def instance_or_404(actor: Actor, instance_id: int) -> ProcessInstance:
    """An instance of the actor's projects, or NotFound."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(problem("instance_not_found"))
    get_household(actor.user, instance.household_id)
    return instance


def fire_due_timers(now: datetime, limit: int = 200) -> int:
    """Fire the BPMN timers that are due (boundary timers included), one instance per transaction."""
    fired = 0
    seen: list[int] = [-1]  # an instance whose timer the engine does not find due yet waits for the next pass
    for _ in range(limit):
        with transaction():
            take_write_lock()
            instance = db.session.scalar(
                select(ProcessInstance)
                .where(ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now,
                       ProcessInstance.id.not_in(seen))
                .order_by(ProcessInstance.next_timer_at, ProcessInstance.id)
                .limit(1)
                .with_for_update(skip_locked=True, of=ProcessInstance)
            )
            if instance is None:
                return fired
            seen.append(instance.id)
            actor = Actor.system()
            process = definitions.parsed(instance.definition)
            workflow = store.load(instance)
            try:
                workflow.refresh_timers()
                workflow.do_engine_steps()
            except (SpiffWorkflowException, ExpressionError, EngineError) as exc:
                instance.status, instance.error_message = "error", str(exc)[:2000]
                history.record(instance.id, "error", actor=actor, at=now, detail={"message": str(exc)[:2000]})
                continue
            history.record(instance.id, "timer", actor=actor, at=now)
            _advance(instance, workflow, process, actor, now, Change())
            fired += 1
    return fired
