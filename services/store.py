"""Loading and saving instances: the row lock, the workflow state and its timestamps."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import joinedload, undefer

from app.extensions import db
from app.models import Household, HumanTask, ProcessInstance
from services import definitions
from services.engine import next_timer_at
from services.errors import NotFound
from services.problems import problem
from services.tx import is_sqlite, take_write_lock

# the definition and the household (with its project: the gateways' variables) come in the same statement:
# every change needs them
_LOCK_OPTIONS = (undefer(ProcessInstance.state), joinedload(ProcessInstance.definition, innerjoin=True),
                 joinedload(ProcessInstance.household, innerjoin=True).joinedload(Household.project, innerjoin=True))


def lock(instance_id: int) -> ProcessInstance:
    """Load an instance for a change, holding its lock until the transaction ends.

    PostgreSQL takes the row with SELECT … FOR UPDATE. SQLite has no row locks:
    a no-op UPDATE takes the database's write lock first, so concurrent changes
    queue up behind each other instead of failing. The version column guards both.
    """
    if is_sqlite():
        take_write_lock()
        instance = db.session.get(ProcessInstance, instance_id, populate_existing=True, options=_LOCK_OPTIONS)
    else:
        instance = db.session.get(ProcessInstance, instance_id, with_for_update={"of": ProcessInstance},
                                  populate_existing=True, options=_LOCK_OPTIONS)
    if instance is None:
        raise NotFound(problem("instance_not_found"))
    return instance


def lock_for_step(task_id: int, *conditions: Any) -> ProcessInstance | None:
    """The instance of a step, locked as lock() does, in one statement with the step's own conditions (who
    may act on it); None when no step matches them. The step itself is read with the open steps after it."""
    stmt = (select(ProcessInstance).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(HumanTask.id == task_id, *conditions)
            .options(*_LOCK_OPTIONS).execution_options(populate_existing=True))
    if is_sqlite():
        take_write_lock()
    else:
        stmt = stmt.with_for_update(of=ProcessInstance)
    return db.session.scalar(stmt)


def lock_instances_of_steps(task_ids: list[int]) -> list[int]:
    """Lock the instances of these steps (in id order) before the steps themselves are written.

    The one lock order for everything that changes a case: its instance first, then its steps. A change
    that locked a step first and then reached its instance (a history row's foreign key takes a share lock
    on it) would deadlock against a completion, which holds the instance and then writes the step.
    """
    if not task_ids:
        return []
    owners = select(HumanTask.instance_id).where(HumanTask.id.in_(task_ids)).scalar_subquery()
    if is_sqlite():
        take_write_lock()
        return list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(owners))))
    return list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(owners))
                                   .order_by(ProcessInstance.id).with_for_update(of=ProcessInstance)))


def open_steps(instance_id: int) -> dict[str, HumanTask]:
    """The instance's open steps by task guid, read afresh (call it holding the instance's lock)."""
    rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status == "ready")
                              .execution_options(populate_existing=True))
    return {r.task_guid: r for r in rows}


def load(instance: ProcessInstance) -> BpmnWorkflow:
    """The instance's workflow, restored with the safe script engine attached."""
    return definitions.get_engine().loads(instance.state, definitions.parsed(instance.definition))


def save(instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime) -> None:
    """Write the workflow's state and the columns derived from it."""
    instance.state = definitions.get_engine().dumps(workflow)
    instance.updated_at = now
    instance.next_timer_at = next_timer_at(workflow)
    if workflow.is_completed():
        instance.status = "completed"
        instance.completed_at = now
