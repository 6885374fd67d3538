"""Who may see what: a user sees the households of their projects (supervisor and admin see all)."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from app.extensions import db
from app.models import MAX_ID, Household, Project, Role, User, WorkGroup, group_members
from services.errors import Forbidden, NotFound
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "project_not_found": N_("project not found"),
    "household_not_found": N_("household not found"),
    "role_forbidden": N_("your roles do not allow this"),
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


def get_household(user: User, household_id: int) -> Household:
    """A household of the user's projects, or NotFound."""
    household = db.session.get(Household, household_id) if _possible_id(household_id) else None
    if household is None or not can_see_project(user, household.project_id):
        raise NotFound(problem("household_not_found"))
    return household


def require_role(user: User, *codes: str) -> None:
    """Raise Forbidden unless the user holds one of the roles."""
    if not user.has_role(*codes):
        raise Forbidden(problem("role_forbidden"))


def _with_role(role: str, project_id: int, *columns):
    in_project = (
        select(group_members.c.user_id)
        .join(WorkGroup, WorkGroup.id == group_members.c.group_id)
        .where(WorkGroup.project_id == project_id)
    )
    sees_all = User.roles.any(Role.code.in_(("supervisor", "admin")))
    return (
        select(*columns)
        .where(User.active.is_(True), User.roles.any(Role.code == role))
        .where(or_(User.id.in_(in_project), sees_all))
        .order_by(User.id)
    )


def users_with_role(role: str, project_id: int) -> list[User]:
    """Active users who hold a role and may work on the project (its work groups, or all projects)."""
    return list(db.session.scalars(_with_role(role, project_id, User)))


def user_ids_with_role(role: str, project_id: int) -> set[int]:
    """The ids of users_with_role(), without loading the users (one query, not three)."""
    return set(db.session.scalars(_with_role(role, project_id, User.id)))


def addressable_with_role(role: str, project_id: int) -> dict[int, bool]:
    """user_ids_with_role() with, for each, whether the user has an e-mail address (one query)."""
    return {uid: bool(email) for uid, email in db.session.execute(_with_role(role, project_id, User.id, User.email))}


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
