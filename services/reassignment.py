"""Who a step may be reassigned to: active people who hold the step's role and work on the case's project
(supervisors and administrators work on every project) — the candidates the reassignment pages offer."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import User, WorkGroup
from app.models.identity import group_members, user_roles

SEES_ALL = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class Candidate:
    """A person a step may go to."""

    id: int
    display_name: str


def candidates(steps: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[Candidate]]:
    """(role, project id) of each step → the people who may take it, by name; one query for them all."""
    wanted = set(steps)
    if not wanted:
        return {}
    roles = {role for role, _ in wanted}
    rows = db.session.execute(
        select(User.id, User.display_name, user_roles.c.role_code, WorkGroup.project_id)
        .join(user_roles, user_roles.c.user_id == User.id)
        .outerjoin(group_members, group_members.c.user_id == User.id)
        .outerjoin(WorkGroup, WorkGroup.id == group_members.c.group_id)
        .where(User.active.is_(True), user_roles.c.role_code.in_(roles | SEES_ALL))).all()
    names: dict[int, str] = {}
    held: dict[int, set[str]] = {}
    projects: dict[int, set[int]] = {}
    for uid, shown, role, project_id in rows:
        names[uid] = shown
        held.setdefault(uid, set()).add(role)
        if project_id is not None:
            projects.setdefault(uid, set()).add(project_id)
    result: dict[tuple[str, int], list[Candidate]] = {}
    for role, project_id in sorted(wanted):
        people = [uid for uid in names if role in held[uid]
                  and (held[uid] & SEES_ALL or project_id in projects.get(uid, set()))]
        result[(role, project_id)] = sorted((Candidate(uid, names[uid]) for uid in people),
                                            key=lambda c: (c.display_name, c.id))
    return result
