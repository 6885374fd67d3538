"""Builders of test data: a project with one user per role, households, step data."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.extensions import db
from app.models import Project, User, WorkGroup, utcnow
from services import definitions, households, identity
from services.context import Actor
from services.roles import ROLES
from services.tx import transaction

PASSWORD = "correct-horse-battery"

STEP_DATA = {
    "survey": {"head_name": "张建华", "address": "北区三村1组1号", "persons_count": 4, "homestead_area": "180.00",
               "measured_area": "220.50", "structure": "brick_concrete", "use": "residential", "legal_status": "legal"},
    "appraisal": {"firm": "江城房地产估价有限公司", "report_no": "PG2026-0001", "report_date": "2026-11-01",
                  "unit_price": "4200.00", "decoration_value": "36000.00"},
    "rights": {"legal_area": "210.00", "excluded_area": "10.50", "exclusion_reason": "院内简易棚",
               "resettlement_persons": 4, "basis": "不动产登记证明"},
    "calculation": {"option": "cash", "compensation_total": "1280000.00"},
    "calc_audit": {"opinion": "核对无误"},
    "policy_review": {"opinion": "符合政策"},
    "collective_decision": {"meeting_date": "2026-11-20", "minutes": "会议同意按政策补偿"},
    "agreement_draft": {"amount": "1280000.00", "move_deadline": "2027-01-31", "household_signed_on": "2026-11-24"},
    "sign_handler": {"opinion": "同意"},
    "sign_group_leader": {"opinion": "同意"},
    "sign_village_cadre": {"opinion": "同意"},
    "sign_reviewer": {"opinion": "同意"},
    "tracking_audit": {"opinion": "审计无异议"},
    "payment": {"amount": "1280000.00", "paid_on": "2026-11-28", "voucher_no": "FK0001"},
    "archive": {"box_no": "A01", "serial_no": "12", "checklist_complete": True},
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

    def actor(self, role: str) -> Actor:
        return Actor(self.users[role], "127.0.0.1")


def build_world(now: datetime | None = None) -> World:
    """Roles, the shipped diagram, two projects, users."""
    now = now or utcnow()
    with transaction():
        identity.ensure_roles()
        definitions.load_shipped(definitions.SHIPPED_DIR, Actor.system(), now)
        project = Project(code="P1", name="北区三村")
        other = Project(code="P2", name="滨江路")
        db.session.add_all([project, other])
        db.session.flush()
        group = WorkGroup(project_id=project.id, name="第一工作组")
        other_group = WorkGroup(project_id=other.id, name="拓宽组")
        db.session.add_all([group, other_group])
        users = {}
        for code in ROLES:
            users[code] = identity.create_user(code, PASSWORD, f"{code} user", [code])
            if code not in ("supervisor", "admin"):
                group.members.append(users[code])
        group.leader_id = users["group_leader"].id
        outsider = identity.create_user("outsider", PASSWORD, "Other project surveyor",
                                        ["surveyor", "accountant", "calc_auditor"])
        other_group.members.append(outsider)
    return World(project=project, other_project=other, users=users, outsider=outsider)


def new_household(world: World, code: str = "H-001", kind: str = "collective_house", now: datetime | None = None):
    """A household of the world's project with its pipeline started."""
    return households.create(world.actor("surveyor"), world.project.id,
                             {"code": code, "kind": kind, "address": "北区三村1组1号", "head_name": "张建华"},
                             now=now or utcnow())
