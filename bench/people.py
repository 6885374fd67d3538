"""The bench's office: several projects with work groups, a few users per role in each, supervisors."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Project, Role, User, WorkGroup, utcnow
from bench.settings import PASSWORD, Settings
from services import identity
from services.roles import scope_of
from services.tx import transaction

WORKING_ROLES = ("surveyor", "appraiser", "rights_officer", "accountant", "calc_auditor", "policy_reviewer",
                 "group_leader", "village_cadre", "handler", "reviewer", "finance", "archivist")
PROJECT_NAMES = ("东湖村集体土地征收项目", "滨江路拓宽工程", "大学城地块国有土地征收", "老城区棚户区改造",
                 "高铁站前片区征收", "北区三村安置项目")


@dataclass
class Office:
    """Ids the generator needs: projects, their groups and leaders, users by project and role."""

    projects: list[int] = field(default_factory=list)
    project_codes: dict[int, str] = field(default_factory=dict)
    groups: dict[int, list[int]] = field(default_factory=dict)          # project -> group ids
    leaders: dict[int, int] = field(default_factory=dict)               # group -> leader user id
    users: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # (project, role) -> user ids
    user_group: dict[int, int] = field(default_factory=dict)            # project user -> their work group
    usernames: dict[int, str] = field(default_factory=dict)
    supervisors: list[int] = field(default_factory=list)
    admin: int = 0

    def user_role(self) -> dict[int, tuple[int, str]]:
        """user id -> (project, role) of the project users."""
        return {uid: key for key, ids in self.users.items() for uid in ids}

    def pool(self, project: int, role: str, group: int) -> list[int]:
        """The holders of the role who reach a household of the group, as the application's access rule
        has it: the group's members for a group-bound role (for group_leader also the group's leader, who
        comes first), the project's holders for a project-wide role."""
        holders = self.users.get((project, role), [])
        if scope_of(role) != "group":
            return list(holders)
        members = [uid for uid in holders if self.user_group.get(uid) == group]
        if role == "group_leader":
            leader = self.leaders.get(group)
            return ([leader] if leader else []) + [uid for uid in members if uid != leader]
        return members

    def acting(self, project: int, role: str, group: int) -> int:
        """The user who completes an unclaimed step of the role on a household of the group: the first who
        reaches it (a leader's signature: the leader), a supervisor for the supervisors' steps."""
        return (self.pool(project, role, group) or self.supervisors)[0]


def build(settings: Settings) -> Office:
    """Create the projects, groups and users (one password hash for all: scrypt is slow on purpose)."""
    office = Office()
    digest = generate_password_hash(PASSWORD)
    with transaction():
        identity.ensure_roles()
        roles = {r.code: r for r in db.session.scalars(select(Role))}

        def user(username: str, name: str, codes: list[str]) -> User:
            row = User(username=username, display_name=name, password_hash=digest, email=f"{username}@bench.invalid",
                       active=True, created_at=utcnow())
            row.roles = [roles[c] for c in codes]
            db.session.add(row)
            return row

        supervisors = [user(f"supervisor_{i}", f"分管领导{i}", ["supervisor"]) for i in (1, 2)]
        admin = user("admin_1", "系统管理员", ["admin"])
        for p in range(settings.projects):
            code = f"B{p + 1:02d}"
            project = Project(code=code, name=PROJECT_NAMES[p % len(PROJECT_NAMES)], description="bench",
                              sign_deadline=date.today() + timedelta(days=120), created_at=utcnow())
            db.session.add(project)
            db.session.flush()
            groups = [WorkGroup(project_id=project.id, name=f"第{g + 1}工作组")
                      for g in range(settings.groups_per_project)]
            db.session.add_all(groups)
            by_role: dict[str, list[User]] = {}
            for role in WORKING_ROLES:
                for k in range(settings.users_per_role):
                    member = user(f"{role}_{p + 1}_{k + 1}", f"{role}{p + 1}-{k + 1}", [role])
                    groups[k % len(groups)].members.append(member)
                    by_role.setdefault(role, []).append(member)
            db.session.flush()
            for g, group in enumerate(groups):
                group.leader_id = by_role["group_leader"][g % len(by_role["group_leader"])].id
            office.projects.append(project.id)
            office.project_codes[project.id] = code
            office.groups[project.id] = [g.id for g in groups]
            office.leaders.update({g.id: g.leader_id for g in groups})
            for role, members in by_role.items():
                office.users[(project.id, role)] = [m.id for m in members]
            office.user_group.update({m.id: g.id for g in groups for m in g.members})
        db.session.flush()
        office.supervisors = [s.id for s in supervisors]
        office.admin = admin.id
        office.usernames = dict(db.session.execute(select(User.id, User.username)).all())
    return office


def load() -> Office:
    """The office of a bench database generated before (for --reuse)."""
    office = Office()
    users = list(db.session.scalars(select(User).order_by(User.id)))
    office.usernames = {u.id: u.username for u in users}
    members = {}
    for group in db.session.scalars(select(WorkGroup).order_by(WorkGroup.id)):
        office.groups.setdefault(group.project_id, []).append(group.id)
        office.leaders[group.id] = group.leader_id
        for member in group.members:
            members[member.id] = group.project_id
            office.user_group.setdefault(member.id, group.id)
    for project in db.session.scalars(select(Project).order_by(Project.id)):
        office.projects.append(project.id)
        office.project_codes[project.id] = project.code
    for user in users:
        codes = user.role_codes
        if "supervisor" in codes:
            office.supervisors.append(user.id)
        elif "admin" in codes:
            office.admin = user.id
        elif user.id in members:
            for role in codes:
                office.users.setdefault((members[user.id], role), []).append(user.id)
    return office
