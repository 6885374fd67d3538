"""Who a step may be reassigned to: active people who hold the step's role and may act on it — its case's
project for a project-wide role, its household's work group for a group-bound one, the one signer a household
binds a signing step to (supervisors and administrators reach every household) — the candidates the
reassignment pages offer."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select

from app.extensions import db
from app.models import ConflictDeclaration, Household, User, Village, WorkGroup
from app.models.identity import group_members, user_roles
from services.roles import SEES_ALL, SIGNERS, scope_of


@dataclass(frozen=True)
class Candidate:
    """A person a step may go to."""

    id: int
    display_name: str


class Pool(NamedTuple):
    """The steps that go to the same people: role, project, work group (group-bound roles and signers bound
    to a group), the one person the step is bound to (a group's leader, a village's cadre; -1 for nobody)."""

    role: str
    project_id: int
    group_id: int | None
    bound: int | None
    strict: bool = False  # the group binds everyone, supervisors and administrators too
    excluded: frozenset[int] = frozenset()  # who declared a conflict of interest with the household (回避)


def pools(steps: Iterable[Any]) -> dict[int, Pool]:
    """Each step's pool by step id (steps: HumanTask rows); a query each for the leaders, the cadres and the
    conflicts of interest declared on the steps' households."""
    steps = list(steps)
    groups = {s.work_group_id for s in steps if s.work_group_id is not None}
    leaders = dict(db.session.execute(select(WorkGroup.id, WorkGroup.leader_id)
                                      .where(WorkGroup.id.in_(groups))).all()) if groups else {}
    village_steps = [s.household_id for s in steps if SIGNERS.get(s.bpmn_id, ("", ""))[1] == "village"]
    cadres = dict(db.session.execute(select(Household.id, Village.cadre_id)
                                     .join(Village, Village.id == Household.village_id)
                                     .where(Household.id.in_(village_steps))).all()) if village_steps else {}
    conflicts = _conflicts(steps)
    result = {}
    for step in steps:
        rule = SIGNERS.get(step.bpmn_id, ("", ""))[1]
        bound = None
        if rule == "leader":
            bound = leaders.get(step.work_group_id) or -1
        elif rule == "village":
            bound = cadres.get(step.household_id)
        grouped = scope_of(step.role) == "group" or rule in ("leader", "group")
        result[step.id] = Pool(step.role, step.project_id, step.work_group_id if grouped else None, bound,
                               rule == "group", conflicts.get((step.household_id, step.bpmn_id), frozenset()))
    return result


def _conflicts(steps: list[Any]) -> dict[tuple[int, str], frozenset[int]]:
    """Who declared a conflict of interest, by household and step."""
    households = {s.household_id for s in steps}
    if not households:
        return {}
    found: dict[tuple[int, str], set[int]] = {}
    for household_id, bpmn_id, user_id in db.session.execute(
            select(ConflictDeclaration.household_id, ConflictDeclaration.bpmn_id, ConflictDeclaration.user_id)
            .where(ConflictDeclaration.household_id.in_(households), ConflictDeclaration.conflict.is_(True))):
        found.setdefault((household_id, bpmn_id), set()).add(user_id)
    return {key: frozenset(users) for key, users in found.items()}


def candidates(wanted: Iterable[Pool]) -> dict[Pool, list[Candidate]]:
    """The people of each pool, by name; one query for them all."""
    wanted = set(wanted)
    if not wanted:
        return {}
    roles = {pool.role for pool in wanted}
    rows = db.session.execute(
        select(User.id, User.display_name, user_roles.c.role_code, WorkGroup.project_id, WorkGroup.id)
        .join(user_roles, user_roles.c.user_id == User.id)
        .outerjoin(group_members, group_members.c.user_id == User.id)
        .outerjoin(WorkGroup, WorkGroup.id == group_members.c.group_id)
        .where(User.active.is_(True), user_roles.c.role_code.in_(roles | SEES_ALL))).all()
    names: dict[int, str] = {}
    held: dict[int, set[str]] = {}
    projects: dict[int, set[int]] = {}
    groups: dict[int, set[int]] = {}
    for uid, shown, role, project_id, group_id in rows:
        names[uid] = shown
        held.setdefault(uid, set()).add(role)
        if project_id is not None:
            projects.setdefault(uid, set()).add(project_id)
            groups.setdefault(uid, set()).add(group_id)
    result: dict[Pool, list[Candidate]] = {}
    for pool in sorted(wanted, key=lambda p: (p.role, p.project_id, p.group_id or 0, p.bound or 0)):
        people = [uid for uid in names if pool.role in held[uid] and _reaches(pool, uid, held, projects, groups)]
        result[pool] = sorted((Candidate(uid, names[uid]) for uid in people), key=lambda c: (c.display_name, c.id))
    return result


def _reaches(pool: Pool, uid: int, held: dict[int, set[str]], projects: dict[int, set[int]],
             groups: dict[int, set[int]]) -> bool:
    if uid in pool.excluded:
        return False
    if pool.bound is not None:
        return uid == pool.bound
    if pool.strict:  # the household's group signs, whoever else sees the case
        return pool.group_id in groups.get(uid, set())
    if held[uid] & SEES_ALL:
        return True
    if pool.group_id is not None:
        return pool.group_id in groups.get(uid, set())
    return pool.project_id in projects.get(uid, set())
