"""Builders of test data: a project with one user per role, households, step data."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from app.extensions import db
from app.models import Household, Project, User, WorkGroup, utcnow
from services import definitions, demo_data, households, identity
from services.compensation import policy as compensation_policy
from services.context import Actor
from services.roles import ROLES
from services.tx import transaction
from tests import case_data

PASSWORD = "correct-horse-battery"

# data of the steps that do not depend on what the household's file holds; the others come from step_data()
STEP_DATA = {
    "survey": case_data.survey(),
    "calculation": {"option": "cash", "signed_on": "2026-12-05", "notes": "按政策表核算"},
    "calc_audit": {"opinion": "核对无误"},
    "policy_review": {"opinion": "符合政策"},
    "collective_decision": {"meeting_date": "2026-11-20", "minutes": "会议同意按政策补偿"},
    "agreement_draft": {"move_deadline": "2027-01-31", "household_signed_on": "2026-11-24"},
    "sign_handler": {"opinion": "同意", "no_conflict": True},
    "sign_group_leader": {"opinion": "同意", "no_conflict": True},
    "sign_village_cadre": {"opinion": "同意", "no_conflict": True},
    "sign_reviewer": {"opinion": "同意", "no_conflict": True},
}
ROLE_OF_STEP = {
    "survey": "surveyor", "appraisal": "appraiser", "rights": "rights_officer", "calculation": "accountant",
    "calc_audit": "calc_auditor", "policy_review": "policy_reviewer", "collective_decision": "supervisor",
    "agreement_draft": "handler", "sign_handler": "handler", "sign_group_leader": "group_leader",
    "sign_village_cadre": "village_cadre", "sign_reviewer": "reviewer", "tracking_audit": "reviewer",
    "payment": "finance", "archive": "archivist",
}


@dataclass
class World:
    """A project with one user per role (username = role code), and an outsider in another project."""

    project: Project
    other_project: Project
    users: dict[str, User] = field(default_factory=dict)
    outsider: User | None = None
    group: WorkGroup | None = None  # 第一工作组: every role's user works here; new households go here
    second_group: WorkGroup | None = None  # 第二工作组 of the same project: nobody until a test adds people

    def add_to_second_group(self, username: str, roles: list[str], *, leads: bool = False) -> User:
        """A user of the project's second work group (its leader when `leads`)."""
        with transaction():
            user = identity.create_user(username, PASSWORD, f"{username} user", roles)
            group = db.session.get(WorkGroup, self.second_group.id)
            group.members.append(user)
            if leads:
                group.leader_id = user.id
        return user

    def actor(self, role: str) -> Actor:
        return Actor(self.users[role], "127.0.0.1")


def build_world(now: datetime | None = None) -> World:
    """Roles, the shipped diagram, two projects, users."""
    now = now or utcnow()
    with transaction():
        identity.ensure_roles()
        definitions.load_shipped(definitions.SHIPPED_DIR, Actor.system(), now)
        compensation_policy.ensure_default(Actor.system(), now)
        project = Project(code="P1", name="北区三村")
        other = Project(code="P2", name="滨江路")
        db.session.add_all([project, other])
        db.session.flush()
        group = WorkGroup(project_id=project.id, name="第一工作组")
        other_group = WorkGroup(project_id=other.id, name="拓宽组")
        db.session.add_all([group, other_group])
        db.session.flush()
        second_group = WorkGroup(project_id=project.id, name="第二工作组")
        db.session.add(second_group)
        users = {}
        for code in ROLES:
            users[code] = identity.create_user(code, PASSWORD, f"{code} user", [code])
            if code not in ("supervisor", "admin"):
                group.members.append(users[code])
        group.leader_id = users["group_leader"].id
        outsider = identity.create_user("outsider", PASSWORD, "Other project surveyor",
                                        ["surveyor", "accountant", "calc_auditor"])
        other_group.members.append(outsider)
    return World(project=project, other_project=other, users=users, outsider=outsider, group=group,
                 second_group=second_group)


def new_household(world: World, code: str = "H-001", kind: str = "collective_house", now: datetime | None = None):
    """A household of the world's project with its pipeline started."""
    return households.create(world.actor("surveyor"), world.project.id,
                             {"code": code, "kind": kind, "address": "北区三村1组1号", "head_name": "张建华"},
                             now=now or utcnow())


def step_data(bpmn_id: str, household_id: int, **options: Any) -> dict[str, Any]:
    """Valid data to complete a step of this household, given what its file holds now."""
    return case_data.step(bpmn_id, household_id, **options)


def before_step(user: User, bpmn_id: str, household_id: int) -> None:
    """What the office files before completing a step (the signed agreement, the dossier's scans)."""
    household = db.session.get(Household, household_id)
    for module, category in demo_data.scans_for(bpmn_id, household.kind):
        case_data.upload(user, household_id, module, category, current_app.config["UPLOAD_DIR"])


def complete_open_step(world: World, row: Any, data: dict[str, Any] | None = None, role: str | None = None,
                       now: datetime | None = None) -> Any:
    """Complete an open step through the runtime as its role, with valid data for the household."""
    from services import runtime

    role = role or ROLE_OF_STEP.get(row.bpmn_id, row.role)
    if data is None:
        before_step(world.users[role], row.bpmn_id, row.household_id)
        known = row.bpmn_id in ROLE_OF_STEP
        data = step_data(row.bpmn_id, row.household_id) if known else STEP_DATA["survey"]
    return runtime.complete_task(world.actor(role), row.id, data, now=now or utcnow())
