"""Reading instances: one case's state and history, and lists by status or lack of progress."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import RowMapping, and_, func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from services.access import restrict_by_household
from services.context import Actor
from services.tasks import assignee_only, step_rows


@dataclass(frozen=True)
class InstanceQuery:
    """Filters of the instance list."""

    status: str | None = None
    project_id: int | None = None
    stuck_days: int | None = None
    page: int = 1
    per_page: int = 50


def search(actor: Actor, query: InstanceQuery, now: datetime) -> tuple[list[ProcessInstance], int]:
    """Instances of the actor's projects matching the filters, least recent progress first."""
    stmt = restrict_by_household(select(ProcessInstance), actor.user, ProcessInstance.household_id)
    if query.status:
        stmt = stmt.where(ProcessInstance.status == query.status)
    if query.project_id:
        stmt = stmt.where(ProcessInstance.project_id == query.project_id)
    if query.stuck_days is not None:
        stmt = stmt.where(ProcessInstance.status.in_(("running", "error")),
                          ProcessInstance.last_progress_at <= now - timedelta(days=query.stuck_days))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(ProcessInstance.last_progress_at, ProcessInstance.id)
                              .limit(query.per_page).offset((query.page - 1) * query.per_page))
    return list(rows), int(total)


def current_tasks(instance_id: int) -> list[HumanTask]:
    """The open steps of an instance, with household and assignee loaded."""
    stmt = (select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == "ready")
            .options(joinedload(HumanTask.household), assignee_only())
            .order_by(HumanTask.id))
    return list(db.session.scalars(stmt))


def open_steps_of(instance_ids: Sequence[int]) -> dict[int, list[RowMapping]]:
    """The open steps of several instances (rows of tasks.ROW_COLUMNS), by instance, in one statement."""
    stmt = step_rows(and_(HumanTask.instance_id.in_(instance_ids), HumanTask.status == "ready")).order_by(HumanTask.id)
    found: dict[int, list[RowMapping]] = {i: [] for i in instance_ids}
    for row in db.session.execute(stmt):
        found[row.instance_id].append(row._mapping)
    return found
