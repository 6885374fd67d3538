"""The history of an instance: every task event with actor and time."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import joinedload, lazyload

from app.extensions import db
from app.models import HumanTask, TaskEvent, User
from services.context import Actor

_imported: ContextVar[bool] = ContextVar("history_imported", default=False)


@contextmanager
def imported() -> Iterator[None]:
    """Mark every event recorded inside the block as made by a bulk import (detail "imported": true)."""
    token = _imported.set(True)
    try:
        yield
    finally:
        _imported.reset(token)


def is_imported() -> bool:
    """True inside `imported()`: the events recorded now are marked as made by a bulk import."""
    return _imported.get()


def record(instance_id: int, action: str, *, actor: Actor, at: datetime, task: HumanTask | None = None,
           bpmn_id: str | None = None, task_name: str | None = None, detail: dict[str, Any] | None = None,
           ) -> TaskEvent:
    """Add one event to an instance's history (marked imported inside `imported()`)."""
    if _imported.get():
        detail = {**(detail or {}), "imported": True}
    event = TaskEvent(
        instance_id=instance_id,
        at=at,
        actor_id=actor.id,
        action=action,
        bpmn_id=task.bpmn_id if task is not None else bpmn_id,
        task_name=task.name if task is not None else task_name,
        detail=detail or None,
    )
    if task is not None and task.id is None:
        event.human_task = task  # a step not written yet: the flush writes it first, then its events
    else:
        event.human_task_id = task.id if task is not None else None
    db.session.add(event)
    return event


def for_instance(instance_id: int) -> list[TaskEvent]:
    """The whole history of an instance, oldest first."""
    query = (
        select(TaskEvent)
        .where(TaskEvent.instance_id == instance_id)
        .options(joinedload(TaskEvent.actor).options(lazyload(User.roles), lazyload(User.groups)))
        .order_by(TaskEvent.at, TaskEvent.id)
    )
    return list(db.session.scalars(query))


def entries_of(instance_ids: Sequence[int]) -> dict[int, list[RowMapping]]:
    """The histories of several instances (at, actor, action, task, detail), oldest first, in one statement."""
    stmt = (select(TaskEvent.instance_id, TaskEvent.at, User.username.label("actor"), TaskEvent.action,
                   TaskEvent.task_name.label("task"), TaskEvent.detail)
            .outerjoin(User, User.id == TaskEvent.actor_id)
            .where(TaskEvent.instance_id.in_(instance_ids))
            .order_by(TaskEvent.instance_id, TaskEvent.at, TaskEvent.id))
    found: dict[int, list[RowMapping]] = {i: [] for i in instance_ids}
    for row in db.session.execute(stmt):
        found[row.instance_id].append(row._mapping)
    return found
