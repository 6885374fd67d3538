"""The inbox: open steps a user may work on, queried from HumanTask without loading workflows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, literal_column, or_, select, update
from sqlalchemy.orm import joinedload, lazyload

from app.extensions import db
from app.models import Household, HumanTask, ProcessInstance, User, utcnow
from services import audit, definitions, history, personal, store
from services.access import action_problem, in_scope, step_condition
from services.context import Actor
from services.errors import Conflict, Forbidden, NotFound
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tx import transaction

register_problems({
    "task_other_role": N_("this step belongs to another role"),
})


@dataclass(frozen=True)
class TaskQuery:
    """The inbox's filters (all optional)."""

    role: str | None = None
    project_id: int | None = None
    instance_id: int | None = None
    assigned: str | None = None  # "me" | "unassigned"
    overdue: bool | None = None
    returned: bool | None = None
    due_soon: timedelta | None = None  # only steps falling due within this time from now (not yet overdue)
    q: str | None = None
    sort: str = "due"  # a key of SORTS
    descending: bool = False
    page: int = 1
    per_page: int = 50


def get_task(user: User, task_id: int) -> HumanTask:
    """A step of a household within the user's reach (open or not), or NotFound."""
    row = db.session.get(HumanTask, task_id)
    if row is None or not in_scope(user, row.project_id, row.work_group_id):
        raise NotFound(problem("task_not_found"))
    return row


def actionable(user: User) -> list[Any]:
    """SQL conditions on HumanTask of the steps the user may act on: their roles, each within its reach,
    and the signer a household binds a signing step to (the rule task_for_action applies to one step)."""
    return [step_condition(user, HumanTask)]


def task_for_action(user: User, task_id: int) -> HumanTask:
    """A step the user may act on: NotFound outside their reach, Forbidden without its role, outside that
    role's reach or when the household binds the signature to someone else."""
    row = get_task(user, task_id)
    refusal = action_problem(user, row)
    if refusal is not None:
        raise Forbidden(problem(refusal))
    return row


# "ready" written into the statement, not bound: the partial indexes of open steps (WHERE status = 'ready')
# are then usable on SQLite and in PostgreSQL's generic plans too
IS_OPEN = HumanTask.status == literal_column("'ready'")


# what a list of steps shows of each (the API's Task object, and the inbox page's columns): read as plain rows
ROW_COLUMNS = (HumanTask.id, HumanTask.name, HumanTask.bpmn_id, HumanTask.role, HumanTask.instance_id,
               HumanTask.household_id, Household.code.label("household_code"), Household.head_name,
               Household.address, HumanTask.project_id, HumanTask.status, HumanTask.assignee_id,
               User.username.label("assignee"), User.display_name.label("assignee_name"), HumanTask.created_at,
               HumanTask.due_at, HumanTask.returned, HumanTask.return_reason, HumanTask.returned_from)


def step_rows(where: Any) -> Select:
    """SELECT ROW_COLUMNS of the steps matching where (households joined, assignees outer-joined)."""
    return (select(*ROW_COLUMNS).select_from(HumanTask)
            .join(Household, Household.id == HumanTask.household_id)
            .outerjoin(User, User.id == HumanTask.assignee_id)
            .where(where))


def _inbox_base(user: User, now: datetime, query: TaskQuery, *, rows: bool = False):
    """The user's open steps with the query's filters: the steps, or (rows) their ROW_COLUMNS."""
    where = and_(IS_OPEN, *actionable(user))
    if rows:
        stmt = step_rows(where)
    else:
        stmt = select(HumanTask).where(where)
        if query.q:
            stmt = stmt.join(Household, Household.id == HumanTask.household_id)
    if query.role:
        stmt = stmt.where(HumanTask.role == query.role)
    if query.project_id:
        stmt = stmt.where(HumanTask.project_id == query.project_id)
    if query.instance_id:
        stmt = stmt.where(HumanTask.instance_id == query.instance_id)
    if query.assigned == "me":
        stmt = stmt.where(HumanTask.assignee_id == user.id)
    elif query.assigned == "unassigned":
        stmt = stmt.where(HumanTask.assignee_id.is_(None))
    if query.overdue is True:
        stmt = stmt.where(HumanTask.due_at < now)
    elif query.overdue is False:
        stmt = stmt.where(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now))
    if query.returned is not None:
        stmt = stmt.where(HumanTask.returned.is_(query.returned))
    if query.due_soon is not None:
        stmt = stmt.where(HumanTask.due_at >= now, HumanTask.due_at < now + query.due_soon)
    if query.q:
        pattern = f"%{query.q.strip()}%"
        stmt = stmt.where(or_(Household.code.ilike(pattern), Household.head_name.ilike(pattern),
                              Household.address.ilike(pattern)))
    # people with the role but another assignee do not see a claimed step as theirs to take,
    # but they do see it: the office wants to know who holds what
    return stmt


def assignee_only():
    """Load a step's assignee in the same query, without the roles and groups every User load fetches."""
    return joinedload(HumanTask.assignee).options(lazyload(User.roles), lazyload(User.groups))


# the inbox's orders: the columns after the first break ties, the id last keeps every order stable (paging
# never shows a step twice); "due" is the order of the open-steps index ix_human_tasks_open_inbox
SORTS: dict[str, tuple[Any, ...]] = {
    "due": (HumanTask.due_at, HumanTask.created_at),
    "arrival": (HumanTask.created_at,),
    "household": (Household.code,),
    "step": (HumanTask.name, HumanTask.due_at),
    "returned": (HumanTask.returned, HumanTask.due_at, HumanTask.created_at),  # returned steps first
}


def _order(query: TaskQuery) -> list[Any]:
    """ORDER BY of the query's sort: due times missing last in both directions; returned-first is one order."""
    columns = SORTS.get(query.sort, SORTS["due"])
    descending = query.descending and query.sort != "returned"
    order = []
    for column in columns:
        if column is HumanTask.returned:
            order.append(column.desc())
        elif column is HumanTask.due_at:
            order.append((column.desc() if descending else column.asc()).nulls_last())
        else:
            order.append(column.desc() if descending else column.asc())
    order.append(HumanTask.id.desc() if descending else HumanTask.id.asc())
    return order


def list_tasks(user: User, query: TaskQuery, now: datetime, *, known_total: int | None = None,
               ) -> tuple[list[Row], int]:
    """One page of the user's open steps (rows of ROW_COLUMNS) in the query's order (the most urgent first
    unless told otherwise), and the total count.

    The count is not queried when known_total gives it (see total_from_counts) or when the page is the last
    one (fewer rows than a page: the total is the rows before it and on it).
    """
    stmt = (
        _inbox_base(user, now, query, rows=True)
        .order_by(*_order(query))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    )
    rows = list(db.session.execute(stmt))
    if known_total is not None:
        return rows, known_total
    before = (query.page - 1) * query.per_page
    if len(rows) < query.per_page and (rows or not before):
        return rows, before + len(rows)
    total = db.session.scalar(select(func.count()).select_from(_inbox_base(user, now, query).subquery()))
    return rows, int(total or 0)


def total_from_counts(query: TaskQuery, counts: dict[str, Any]) -> int | None:
    """How many steps the query lists, when one of the inbox's badge counts (inbox_counts) is exactly that."""
    given = {name for name in ("role", "project_id", "instance_id", "assigned", "overdue", "returned", "due_soon",
                               "q") if getattr(query, name) is not None}
    if not given:
        return counts["total"]
    if given == {"overdue"} and query.overdue is True:
        return counts["overdue"]
    if given == {"returned"} and query.returned is True:
        return counts["returned"]
    if given == {"due_soon"} and counts.get("due_soon_window") == query.due_soon:
        return counts["due_soon"]
    if given == {"assigned"}:
        return counts["mine"] if query.assigned == "me" else counts["unassigned"]
    if given == {"role"}:
        return counts["by_role"].get(query.role, 0)
    if given == {"project_id"}:
        return counts["by_project"].get(query.project_id, 0)
    if given == {"role", "project_id"}:
        return counts["by_role_project"].get((query.role, query.project_id), 0)
    return None


def inbox_counts(user: User, now: datetime, due_soon: timedelta) -> dict[str, Any]:
    """Counts for the inbox's badges (mine, returned, overdue, due soon, per role) and for the totals of the
    common filters (unclaimed, per project): one pass over the user's open steps."""
    base = _inbox_base(user, now, TaskQuery()).subquery()
    rows = db.session.execute(select(
        base.c.role,
        base.c.project_id,
        func.count(),
        func.count().filter(base.c.assignee_id == user.id),
        func.count().filter(base.c.returned.is_(True)),
        func.count().filter(base.c.due_at < now),
        func.count().filter(and_(base.c.due_at >= now, base.c.due_at < now + due_soon)),
        func.count().filter(base.c.assignee_id.is_(None)),
    ).group_by(base.c.role, base.c.project_id)).all()  # per role and project, summed up here
    totals = [sum(row[i] for row in rows) for i in range(2, 8)]
    by_role: dict[str, int] = {}
    by_project: dict[int, int] = {}
    for row in rows:
        by_role[row[0]] = by_role.get(row[0], 0) + row[2]
        by_project[row[1]] = by_project.get(row[1], 0) + row[2]
    return {"total": totals[0], "mine": totals[1], "returned": totals[2], "overdue": totals[3],
            "due_soon": totals[4], "due_soon_window": due_soon, "unassigned": totals[5], "by_role": by_role,
            "by_project": by_project,
            "by_role_project": {(row[0], row[1]): row[2] for row in rows}}


def urgency(row: HumanTask | Row, now: datetime, due_soon: timedelta) -> str:
    """'overdue', 'due_soon' or 'ok' for a step's due time."""
    if row.due_at is None or row.status != "ready":
        return "ok"
    if row.due_at < now:
        return "overdue"
    if row.due_at < now + due_soon:
        return "due_soon"
    return "ok"


def return_targets(row: HumanTask) -> list[dict[str, str]]:
    """The earlier steps this step may send the case back to, from its diagram."""
    if row.status != "ready":
        return []
    instance = db.session.get(ProcessInstance, row.instance_id)
    process = definitions.parsed(instance.definition)
    info = process.user_tasks.get(row.bpmn_id)
    if info is None:
        return []
    return [{"bpmn_id": t, "name": process.user_tasks[t].name} for t in info.return_targets
            if t in process.user_tasks]


def claim(actor: Actor, task_id: int, now: datetime) -> HumanTask:
    """Take a step into one's own hands; Conflict when someone else holds it."""
    return _set_assignee(actor, task_id, now, claim=True)


def release(actor: Actor, task_id: int, now: datetime) -> HumanTask:
    """Give a claimed step back to the role's pool."""
    return _set_assignee(actor, task_id, now, claim=False)


def _set_assignee(actor: Actor, task_id: int, now: datetime, *, claim: bool) -> HumanTask:
    """One conditional UPDATE: only an open step that is free or already the actor's changes hands."""
    with transaction():
        row = task_for_action(actor.user, task_id)
        if claim and _declared_conflict(row, actor.id):
            raise Conflict(problem("conflict_declared"), code="conflict_declared")
        store.lock_instances_of_steps([row.id])  # the instance before its step, as every change to a case
        values = ({"assignee_id": actor.id,
                   "claimed_at": case((HumanTask.assignee_id == actor.id, HumanTask.claimed_at), else_=now)}
                  if claim else {"assignee_id": None, "claimed_at": None})
        result = db.session.execute(
            update(HumanTask)
            .where(HumanTask.id == row.id, HumanTask.status == "ready",
                   or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == actor.id))
            .values(**values)
        )
        db.session.refresh(row)
        if result.rowcount == 0:
            if row.status != "ready":
                raise Conflict(problem("task_not_ready"), code="task_not_ready")
            raise Conflict(problem("task_claimed"), code="claimed")
        action = "claimed" if claim else "released"
        history.record(row.instance_id, action, actor=actor, at=now, task=row)
        audit.record(actor, "task.claim" if claim else "task.release", "human_task", row.id,
                     household_id=row.household_id, at=now)
    return row


def _declared_conflict(row: HumanTask, user_id: int) -> bool:
    from services.integrity import conflicted  # integrity builds on this module

    return conflicted(row.household_id, row.bpmn_id, user_id)


def form_values(row: HumanTask) -> dict[str, Any]:
    """The data the step's form starts from: what its module holds (prefilled for a first survey)."""
    from services import modules
    from services.forms import get_form
    from services.forms.registry import schema_instance

    form = get_form(row.form_key)
    if form is None:
        return {}
    record = modules.get_record(row.household_id, form.module)
    data = dict(record.data) if record is not None else {}
    if form.section:
        for part in form.section.format(role=row.role).split("."):
            data = data.get(part, {}) if isinstance(data, dict) else {}
        return dict(data)
    if form.key == "survey" and not data:
        household = row.household
        data = {"head_name": household.head_name, "address": household.address}
        if household.phone:
            data["phone"] = household.phone
        if household.head_name:
            data["persons"] = [{"name": household.head_name, "relation": "head", "hukou_here": True}]
    elif form.module in ROWS_FROM_UPSTREAM:
        # one row per building, person or dossier item, keeping what was entered: the page starts complete
        from services.modules.case import load
        from services.modules.service import refill

        data = refill(load(row.household), form.module, utcnow())
    # shown masked; a number left as shown keeps the stored one (services.personal.keep_masked)
    return personal.mask_personal({k: v for k, v in data.items() if k in schema_instance(form.schema).fields},
                                  texts=False)


ROWS_FROM_UPSTREAM = ("appraisal", "rights", "archive")


def ref_labels(row: HumanTask) -> dict[str, dict[Any, str]]:
    """What the ids in a step's rows stand for (a building's name, a person's, a dossier item's), for the page."""
    from services.modules import dossier
    from services.modules.case import load

    case = load(row.household)
    return {"building_id": {b.id: b.label for b in case.buildings},
            "person_id": {p.id: p.name for p in case.persons},
            "code": {code: str(label) for code, label, *_ in dossier.DOSSIER}}
