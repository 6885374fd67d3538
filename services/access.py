"""Who may see what: a user sees the projects of their work groups, and in them the households their roles
reach (services/roles.py: a group-bound role its groups' households, a project-wide role every household of
the project); supervisor and admin see all."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import MAX_ID, Household, Project, Role, User, Village, WorkGroup, group_members
from services.errors import Forbidden, NotFound
from services.problems import N_, problem
from services.problems import register as register_problems
from services.roles import PROJECT_WIDE, SEES_ALL, SIGNERS, scope_of

register_problems({
    "project_not_found": N_("project not found"),
    "household_not_found": N_("household not found"),
    "role_forbidden": N_("your roles do not allow this"),
    "task_other_group": N_("this step belongs to another work group"),
    "signer_not_leader": N_("only the leader of the household's work group signs here"),
    "signer_not_group": N_("only a handler of the household's work group signs here"),
    "signer_not_cadre": N_("only the cadre of the household's village signs here"),
})


def project_ids(user: User) -> set[int] | None:
    """The ids of the projects the user may see; None means every project."""
    if user.sees_all_projects:
        return None
    return {g.project_id for g in user.groups}


def visible_project_ids(user: User) -> list[int]:
    """The ids of the projects the user may see, as a concrete list."""
    ids = project_ids(user)
    if ids is None:
        return list(db.session.scalars(select(Project.id).order_by(Project.id)))
    return sorted(ids)


def restrict_to_projects(query: Select, column, user: User) -> Select:
    """Add the user's project restriction to a query on a table with a project column."""
    ids = project_ids(user)
    if ids is None:
        return query
    return query.where(column.in_(ids or [-1]))


def can_see_project(user: User, project_id: int) -> bool:
    """True when the project is one of the user's."""
    ids = project_ids(user)
    return ids is None or project_id in ids


def _possible_id(value: object) -> bool:
    """True for an integer a row id can be (the id columns are 32-bit)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def get_project(user: User, project_id: int) -> Project:
    """A project the user may see, or NotFound (never leak what exists)."""
    project = db.session.get(Project, project_id) if _possible_id(project_id) else None
    if project is None or not can_see_project(user, project.id):
        raise NotFound(problem("project_not_found"))
    return project


@dataclass(frozen=True)
class Scope:
    """The households a user sees, when not all: every one of `projects`, those of `groups`, and (leader)
    those of the groups the user leads."""

    projects: frozenset[int]
    groups: frozenset[int]
    leader_id: int | None


def scope(user: User) -> Scope | None:
    """The user's reach over households; None means every household."""
    codes = user.role_codes
    if codes & SEES_ALL:
        return None
    projects = frozenset(g.project_id for g in user.groups) if codes & PROJECT_WIDE else frozenset()
    return Scope(projects, frozenset(g.id for g in user.groups),
                 user.id if "group_leader" in codes else None)


def led_groups(user_id: int):
    """SELECT of the ids of the work groups a user leads (a subquery: no statement of its own; aliased, so
    that it never correlates with a query that joins the work groups itself)."""
    group = aliased(WorkGroup)
    return select(group.id).where(group.leader_id == user_id)


def _ids(values) -> list[int]:
    return sorted(values) or [-1]


def household_condition(user: User, project_column: Any, group_column: Any) -> ColumnElement[bool] | None:
    """SQL condition on a table with a project and a work group column: the rows of the households the user
    sees (None: no restriction)."""
    reach = scope(user)
    if reach is None:
        return None
    parts = [project_column.in_(_ids(reach.projects))] if reach.projects else []
    parts.append(and_(project_column.in_(_ids({g.project_id for g in user.groups})),
                      group_column.in_(_ids(reach.groups))))
    if reach.leader_id is not None:
        parts.append(group_column.in_(led_groups(reach.leader_id)))
    return or_(*parts)


def restrict_to_households(query: Select, user: User, project_column: Any = Household.project_id,
                           group_column: Any = Household.work_group_id) -> Select:
    """Add the user's household reach to a query on households (or a table carrying their work group)."""
    condition = household_condition(user, project_column, group_column)
    return query if condition is None else query.where(condition)


def narrow_to_households(query: Select, user: User, project_column: Any, group_column: Any,
                         project_id: int | None = None, group_id: int | list[int] | None = None) -> Select:
    """restrict_to_households(), narrowed further to a project and a work group (or a list of them) when given
    (reports, lists)."""
    query = restrict_to_households(query, user, project_column, group_column)
    if project_id:
        query = query.where(project_column == project_id)
    if isinstance(group_id, list):
        query = query.where(group_column.in_(group_id or [-1]))
    elif group_id:
        query = query.where(group_column == group_id)
    return query


def restrict_by_household(query: Select, user: User, household_column: Any) -> Select:
    """Add the user's household reach to a query on a table with a household id column (instances …)."""
    household = aliased(Household)  # never correlated with a query that joins the households itself
    condition = household_condition(user, household.project_id, household.work_group_id)
    if condition is None:
        return query
    return query.where(household_column.in_(select(household.id).where(condition)))


def in_scope(user: User, project_id: int, group_id: int | None) -> bool:
    """True when the user sees the households of this project and work group."""
    reach = scope(user)
    if reach is None or project_id in reach.projects:
        return True
    if group_id is None:
        return False
    if group_id in reach.groups:
        return True
    return reach.leader_id is not None and _leader_of(group_id) == user.id


def _leader_of(group_id: int | None) -> int | None:
    group = db.session.get(WorkGroup, group_id) if group_id is not None else None
    return group.leader_id if group is not None else None


def can_see_household(user: User, household: Household) -> bool:
    """True when the household is within the user's reach."""
    return in_scope(user, household.project_id, household.work_group_id)


def get_household(user: User, household_id: int) -> Household:
    """A household within the user's reach, or NotFound (another project's or another group's alike)."""
    household = db.session.get(Household, household_id) if _possible_id(household_id) else None
    if household is None or not can_see_household(user, household):
        raise NotFound(problem("household_not_found"))
    return household


def role_reaches(user: User, role: str, project_id: int, group_id: int | None) -> bool:
    """True when the user, holding the role, may act with it on a household of this project and group."""
    if user.role_codes & SEES_ALL:
        return True
    member = {g.id for g in user.groups}
    if scope_of(role) == "project":
        return project_id in {g.project_id for g in user.groups}
    if group_id is None:
        return False
    return group_id in member or (role == "group_leader" and _leader_of(group_id) == user.id)


def signer_problem(user: User, bpmn_id: str, household: Household) -> str | None:
    """The code refusing the user a signing step bound to the household (None: the user may sign)."""
    binding = SIGNERS.get(bpmn_id)
    if binding is None:
        return None
    rule = binding[1]
    if rule == "leader" and _leader_of(household.work_group_id) != user.id:
        return "signer_not_leader"
    if rule == "group" and household.work_group_id not in {g.id for g in user.groups}:
        return "signer_not_group"
    if rule == "village":
        village = db.session.get(Village, household.village_id) if household.village_id else None
        if village is not None and village.cadre_id is not None and village.cadre_id != user.id:
            return "signer_not_cadre"
    return None


def action_problem(user: User, row: Any) -> str | None:
    """Why the user may not act on this step (a HumanTask) of a household they see; None: they may."""
    if row.role not in user.role_codes:
        return "task_other_role"
    if not role_reaches(user, row.role, row.project_id, row.work_group_id):
        return "task_other_group"
    return signer_problem(user, row.bpmn_id, row.household)


def step_condition(user: User, columns: Any) -> ColumnElement[bool]:
    """SQL condition on a table of steps (columns: an object with role, project_id, work_group_id, bpmn_id
    and household_id) of those the user may act on: a role the user holds, within that role's reach, and
    the signer the household binds the step to."""
    codes = user.role_codes
    if not codes:
        return false()
    if codes & SEES_ALL:
        reach: ColumnElement[bool] = columns.role.in_(sorted(codes))
    else:
        projects = _ids({g.project_id for g in user.groups})
        groups = _ids({g.id for g in user.groups})
        wide = sorted(c for c in codes if scope_of(c) == "project")
        bound = sorted(c for c in codes if scope_of(c) == "group" and c != "group_leader")
        parts = []
        if wide:
            parts.append(and_(columns.role.in_(wide), columns.project_id.in_(projects)))
        if bound:
            parts.append(and_(columns.role.in_(bound), columns.project_id.in_(projects),
                              columns.work_group_id.in_(groups)))
        if "group_leader" in codes:
            parts.append(and_(columns.role == "group_leader",
                              or_(columns.work_group_id.in_(groups), columns.work_group_id.in_(led_groups(user.id)))))
        reach = or_(*parts)
    signers = [_signer_condition(user, columns, bpmn_id, rule) for bpmn_id, (role, rule) in SIGNERS.items()
               if role in codes]
    return and_(reach, *[c for c in signers if c is not None])


def _signer_condition(user: User, columns: Any, bpmn_id: str, rule: str) -> ColumnElement[bool] | None:
    if rule == "leader":
        allowed = columns.work_group_id.in_(led_groups(user.id))
    elif rule == "group":
        allowed = columns.work_group_id.in_(_ids({g.id for g in user.groups}))
    elif rule == "village":
        household, village = aliased(Household), aliased(Village)
        others = (select(household.id).join(village, village.id == household.village_id)
                  .where(village.cadre_id.is_not(None), village.cadre_id != user.id))
        allowed = columns.household_id.not_in(others)
    else:
        return None
    return or_(columns.bpmn_id != bpmn_id, allowed)


def require_role(user: User, *codes: str) -> None:
    """Raise Forbidden unless the user holds one of the roles."""
    if not user.has_role(*codes):
        raise Forbidden(problem("role_forbidden"))


def _with_role(role: str, project_id: int, *columns, step: Any = None):
    """Active holders of the role who may work on the project; with a step (anything with work_group_id,
    bpmn_id and household_id), only those who may act on that step."""
    in_project = (
        select(group_members.c.user_id)
        .join(WorkGroup, WorkGroup.id == group_members.c.group_id)
        .where(WorkGroup.project_id == project_id)
    )
    sees_all = User.roles.any(Role.code.in_(sorted(SEES_ALL)))
    stmt = (
        select(*columns)
        .where(User.active.is_(True), User.roles.any(Role.code == role))
        .order_by(User.id)
    )
    if step is None:
        return stmt.where(or_(User.id.in_(in_project), sees_all))
    in_group = select(group_members.c.user_id).where(group_members.c.group_id == step.work_group_id)
    leader = _leader_of(step.work_group_id)
    if scope_of(role) == "project":
        stmt = stmt.where(or_(User.id.in_(in_project), sees_all))
    elif role == "group_leader":
        stmt = stmt.where(or_(User.id.in_(in_group), User.id == (leader or -1), sees_all))
    else:
        stmt = stmt.where(or_(User.id.in_(in_group), sees_all))
    bound = bound_signer(step)
    if bound is not None:
        stmt = stmt.where(User.id == bound)
    elif SIGNERS.get(step.bpmn_id, ("", ""))[1] == "group":
        stmt = stmt.where(User.id.in_(in_group))
    return stmt


def bound_signer(step: Any) -> int | None:
    """The one person a signing step is bound to (its group's leader, its village's cadre), if any; -1 when
    the step is bound to a leader the group does not have."""
    rule = SIGNERS.get(step.bpmn_id, ("", ""))[1]
    if rule == "leader":
        return _leader_of(step.work_group_id) or -1
    if rule == "village":
        household = db.session.get(Household, step.household_id)
        village = db.session.get(Village, household.village_id) if household and household.village_id else None
        return village.cadre_id if village is not None else None
    return None


def users_with_role(role: str, project_id: int, step: Any = None) -> list[User]:
    """Active users who hold a role and may work on the project (its work groups, or all projects); with a
    step, those who may act on it."""
    return list(db.session.scalars(_with_role(role, project_id, User, step=step)))


def user_ids_with_role(role: str, project_id: int, step: Any = None) -> set[int]:
    """The ids of users_with_role(), without loading the users (one query, not three)."""
    return set(db.session.scalars(_with_role(role, project_id, User.id, step=step)))


def addressable_with_role(role: str, project_id: int, step: Any = None) -> dict[int, bool]:
    """user_ids_with_role() with, for each, whether the user has an e-mail address (one query)."""
    return {uid: bool(email) for uid, email in
            db.session.execute(_with_role(role, project_id, User.id, User.email, step=step))}


def visible_projects(user: User) -> list[Project]:
    """The projects the user may see, by code (from the user's groups when they bound them: no query when
    the groups came with their projects, as they do for the signed-in user)."""
    if user.sees_all_projects:
        return list(db.session.scalars(select(Project).order_by(Project.code)))
    return sorted({g.project for g in user.groups}, key=lambda p: (p.code, p.id))


def visible_groups(user: User) -> list[WorkGroup]:
    """The work groups of the user's projects."""
    stmt = restrict_to_projects(select(WorkGroup), WorkGroup.project_id, user).order_by(WorkGroup.project_id,
                                                                                        WorkGroup.id)
    return list(db.session.scalars(stmt))


def visible_staff(user: User) -> list[User]:
    """Active users who work on the user's projects (for reassignment and filters)."""
    ids = project_ids(user)
    stmt = select(User).where(User.active.is_(True)).order_by(User.username)
    if ids is not None:
        members = select(group_members.c.user_id).join(WorkGroup, WorkGroup.id == group_members.c.group_id) \
            .where(WorkGroup.project_id.in_(ids or [-1]))
        stmt = stmt.where(User.id.in_(members))
    return list(db.session.scalars(stmt))
