"""The supervisor's overview: stuck cases, reassignment, live counts per step, overdue by role and person."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal_column, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.extensions import db
from app.models import Household, HumanTask, ProcessInstance, User
from services import audit, history, integrity, notifications, store
from services.access import action_problem, in_scope, narrow_to_households, require_role, restrict_by_household
from services.context import Actor
from services.errors import InvalidInput
from services.problems import N_, name_param, problem
from services.problems import register as register_problems
from services.roles import role_label
from services.tasks import IS_OPEN, assignee_only
from services.tx import transaction


def _role_name(code: str, locale: str) -> str:
    return role_label(code, "en" if locale.startswith("en") else "zh")


name_param("role", _role_name)
register_problems({
    "reassign_choose": N_("choose the steps to reassign"),
    "reassign_task_ids": N_("a list of 1 to %(max)s task ids"),
    "reassign_user": N_("choose an active user"),
    "user_inactive": N_("unknown or inactive user"),
    "reassign_step_missing": N_("%(task)s: not found"),
    "reassign_step_closed": N_("%(step)s of %(household)s: no longer open"),
    "reassign_no_role": N_("%(step)s of %(household)s: %(person)s does not hold the role %(role)s"),
    "reassign_no_project": N_("%(step)s of %(household)s: %(person)s does not work on this project"),
    "reassign_conflict": N_("%(step)s of %(household)s: %(person)s declared a conflict of interest"),
    "reassign_refused": N_("some steps cannot go to this person"),
})

OVERVIEW_ROLES = ("supervisor", "admin", "group_leader")
# running or in error, written into the statement: the partial index ix_instances_unfinished_progress covers it
UNFINISHED = ProcessInstance.status.in_((literal_column("'running'"), literal_column("'error'")))


@dataclass(frozen=True)
class StuckQuery:
    """Filters of the stuck-case list."""

    days: int = 3
    project_id: int | None = None
    step: str | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    page: int = 1
    per_page: int = 50


@dataclass
class StuckCase:
    """A case that needs a supervisor's eye, with how long it has waited and who holds it."""

    instance: ProcessInstance
    household: Household
    reason: str  # "no_progress", "error" or "nothing_ready"
    waited: timedelta
    tasks: list[HumanTask]


def _open_task(**conditions: Any):
    task = aliased(HumanTask)
    clauses = [task.instance_id == ProcessInstance.id, task.status == literal_column("'ready'")]
    clauses += [getattr(task, key) == value for key, value in conditions.items()]
    return exists().where(and_(*clauses))


def stuck_cases(actor: Actor, query: StuckQuery, now: datetime) -> tuple[list[StuckCase], int]:
    """Cases with no progress for the given days, in error, or running with no step open and no timer."""
    require_role(actor.user, *OVERVIEW_ROLES)
    threshold = now - timedelta(days=query.days)
    # running with nothing to do is rare and costs a pass over the running cases: looked up once, by id;
    # those without progress since the threshold are listed by the first condition anyway
    idle = list(db.session.scalars(select(ProcessInstance.id).where(
        UNFINISHED, ProcessInstance.status == "running", ProcessInstance.next_timer_at.is_(None),
        ProcessInstance.last_progress_at > threshold, ~_open_task())))
    stuck = [and_(ProcessInstance.status == "running", ProcessInstance.last_progress_at <= threshold),
             ProcessInstance.status == "error"] + ([ProcessInstance.id.in_(idle)] if idle else [])

    def matching(*columns: Any, with_household: bool = False):
        stmt = select(*columns).where(UNFINISHED, or_(*stuck))
        if with_household or query.group_id:
            stmt = stmt.join(Household, Household.id == ProcessInstance.household_id)
        stmt = restrict_by_household(stmt, actor.user, ProcessInstance.household_id)
        if query.project_id:
            stmt = stmt.where(ProcessInstance.project_id == query.project_id)
        if query.group_id:
            stmt = stmt.where(Household.work_group_id == query.group_id)
        if query.step:
            stmt = stmt.where(_open_task(bpmn_id=query.step))
        if query.assignee_id:
            stmt = stmt.where(_open_task(assignee_id=query.assignee_id))
        return stmt

    total = db.session.scalar(select(func.count()).select_from(matching(ProcessInstance.id).subquery())) or 0
    rows = db.session.execute(matching(ProcessInstance, Household, with_household=True)
                              .order_by(ProcessInstance.last_progress_at, ProcessInstance.id)
                              .limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
    open_tasks = _open_tasks([inst.id for inst, _ in rows])
    cases = []
    for instance, household in rows:
        tasks = open_tasks.get(instance.id, [])
        reason = "error" if instance.status == "error" else "nothing_ready" if not tasks and \
            instance.next_timer_at is None else "no_progress"
        cases.append(StuckCase(instance, household, reason, now - instance.last_progress_at, tasks))
    return cases, int(total)


def _open_tasks(instance_ids: list[int]) -> dict[int, list[HumanTask]]:
    if not instance_ids:
        return {}
    rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids), IS_OPEN)
                              .options(assignee_only(), joinedload(HumanTask.household))
                              .order_by(HumanTask.id))
    result: dict[int, list[HumanTask]] = {}
    for row in rows:
        result.setdefault(row.instance_id, []).append(row)
    return result


def _step(row: HumanTask) -> dict[str, Any]:
    """How a problem names a step: its name and its household's code (never its id)."""
    return {"step": row.name, "household": row.household.code}


def reassign(actor: Actor, task_ids: Any, user_id: Any, now: datetime) -> int:
    """Hand open steps to another person who holds their role and works on their project."""
    with transaction():
        require_role(actor.user, "supervisor", "admin")
        if not isinstance(task_ids, list) or not task_ids or not all(
                isinstance(t, int) and not isinstance(t, bool) for t in task_ids) or len(task_ids) > 500:
            raise InvalidInput(problem("reassign_choose"), {"task_ids": [problem("reassign_task_ids", max=500)]})
        target = db.session.get(User, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) \
            else None
        if target is None or not target.active:
            raise InvalidInput(problem("reassign_user"), {"user_id": [problem("user_inactive")]})
        store.lock_instances_of_steps(task_ids)  # the instances before their steps, as every change to a case
        rows = list(db.session.scalars(select(HumanTask).where(HumanTask.id.in_(task_ids))
                                       .order_by(HumanTask.id).with_for_update(of=HumanTask)))
        problems = []
        found = {r.id for r in rows}
        problems += [problem("reassign_step_missing", task=t) for t in task_ids if t not in found]
        for row in rows:
            if not in_scope(actor.user, row.project_id, row.work_group_id):
                problems.append(problem("reassign_step_missing", task=row.id))
            elif row.status != "ready":
                problems.append(problem("reassign_step_closed", **_step(row)))
            elif row.role not in target.role_codes:
                problems.append(problem("reassign_no_role", **_step(row), person=target.display_name, role=row.role))
            elif action_problem(target, row) is not None:
                problems.append(problem("reassign_no_project", **_step(row), person=target.display_name))
            elif integrity.conflicted(row.household_id, row.bpmn_id, target.id):
                problems.append(problem("reassign_conflict", **_step(row), person=target.display_name))
        if problems:
            raise InvalidInput(problem("reassign_refused"), {"task_ids": problems})
        for row in rows:
            before = row.assignee_id
            row.assignee_id, row.claimed_at = target.id, now
            history.record(row.instance_id, "reassigned", actor=actor, at=now, task=row,
                           detail={"from": before, "to": target.username})
            audit.record(actor, "task.reassign", "human_task", row.id, household_id=row.household_id,
                         before={"assignee_id": before}, after={"assignee_id": target.id}, at=now)
            notifications.notify({target.id}, "assigned", {"household": row.household.code, "step": row.name,
                                                           "actor": actor.user.display_name},
                                 now=now, task_id=row.id, instance_id=row.instance_id)
    return len(rows)


def _of_steps(stmt: Any, actor: Actor, project_id: int | None, group_id: int | list[int] | None = None) -> Any:
    """A query on the steps within the actor's reach, narrowed to a project and a work group when given."""
    return narrow_to_households(stmt, actor.user, HumanTask.project_id, HumanTask.work_group_id, project_id, group_id)


def step_counts(actor: Actor, project_id: int | None, now: datetime) -> dict[str, dict[str, int]]:
    """Open and overdue steps per BPMN element, for the live diagram."""
    stmt = (select(HumanTask.bpmn_id, func.count(), func.count().filter(HumanTask.due_at < now))
            .where(IS_OPEN).group_by(HumanTask.bpmn_id))
    stmt = _of_steps(stmt, actor, project_id)
    return {bpmn_id: {"open": n, "overdue": late} for bpmn_id, n, late in db.session.execute(stmt).all()}


def overdue_by_role(actor: Actor, project_id: int | None, now: datetime) -> dict[str, int]:
    """How many open steps are overdue, per role."""
    stmt = select(HumanTask.role, func.count()).where(IS_OPEN, HumanTask.due_at < now).group_by(HumanTask.role)
    return dict(db.session.execute(_of_steps(stmt, actor, project_id)).all())


def _overdue_people(actor: Actor, project_id: int | None, now: datetime, *columns: Any,
                    group_id: int | list[int] | None = None):
    stmt = (select(*columns, HumanTask.assignee_id, User.username, User.display_name, func.count())
            .outerjoin(User, User.id == HumanTask.assignee_id)
            .where(IS_OPEN, HumanTask.due_at < now)
            .group_by(*columns, HumanTask.assignee_id, User.username, User.display_name)
            .order_by(func.count().desc()))
    return db.session.execute(_of_steps(stmt, actor, project_id, group_id)).all()


def overdue_by_person(actor: Actor, project_id: int | None, now: datetime) -> list[dict[str, Any]]:
    """How many open steps each person holds overdue (unclaimed ones under None), most first."""
    return [{"user_id": uid, "username": name, "display_name": shown, "count": n}
            for uid, name, shown, n in _overdue_people(actor, project_id, now)]


def overdue_per_project(actor: Actor, project_id: int | None, now: datetime, group_id: int | list[int] | None = None
                        ) -> tuple[dict[int, dict[str, int]], dict[int, list[dict[str, Any]]]]:
    """overdue_by_role and overdue_by_person of every project at once (two queries, not two per project), of
    the steps the actor reaches (or one work group's of them)."""
    stmt = (select(HumanTask.project_id, HumanTask.role, func.count()).where(IS_OPEN, HumanTask.due_at < now)
            .group_by(HumanTask.project_id, HumanTask.role))
    roles: dict[int, dict[str, int]] = {}
    for pid, role, n in db.session.execute(_of_steps(stmt, actor, project_id, group_id)).all():
        roles.setdefault(pid, {})[role] = n
    people: dict[int, list[dict[str, Any]]] = {}
    for pid, uid, name, shown, n in _overdue_people(actor, project_id, now, HumanTask.project_id,
                                                    group_id=group_id):
        people.setdefault(pid, []).append({"user_id": uid, "username": name, "display_name": shown, "count": n})
    return roles, people
