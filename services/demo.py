"""Demo data: the project 北区三村 with one user per role and households at every step."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Household, HumanTask, Project, User, WorkGroup, utcnow
from services import definitions, demo_data, escalation, households, identity, runtime
from services.compensation import policy as compensation_policy
from services.context import Actor
from services.roles import ROLES
from services.tx import transaction

DEMO_NAMES = {
    "surveyor": "王建国", "appraiser": "李评估", "rights_officer": "赵明确", "accountant": "钱会计",
    "calc_auditor": "孙复核", "policy_reviewer": "周政策", "group_leader": "吴组长", "village_cadre": "郑村委",
    "handler": "冯经办", "reviewer": "陈审核", "finance": "褚财务", "archivist": "卫档案",
    "supervisor": "蒋分管", "process_owner": "沈流程", "admin": "韩管理",
}
# the second work group of the collective project has a leader and a handler of its own
SECOND_GROUP = {"group_leader": ("group_leader2", "郭组长"), "handler": ("handler2", "何经办")}


# the stage each demo household is brought to: the steps completed in order
PATH = ["survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
        "sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer", "payment", "archive"]


def database_is_empty() -> bool:
    """True when no user exists yet (make run seeds only then)."""
    return not db.session.scalar(select(func.count()).select_from(User))


def seed(password: str, upload_dir: str, households: int = 60, now: datetime | None = None) -> str:
    """Create the demo (its scans written under upload_dir); returns a one-line summary."""
    now = now or utcnow()
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    with transaction():
        identity.ensure_roles()
        definitions.load_shipped(definitions.SHIPPED_DIR, Actor.system(), now)
        compensation_policy.ensure_default(Actor.system(), now)
        users = _users(password)
        project, groups = _project("BQ3C", "北区三村集体土地征收项目", ["第一工作组", "第二工作组"], users)
        road, road_groups = _project("BJL", "滨江路拓宽工程（沿街店面）", ["拓宽组"], users)
        surveyor2 = identity.create_user("surveyor_bjl", password, "邱调查（滨江路）", ["surveyor"])
        road_groups[0].members.append(surveyor2)
        crews = {group.id: users for group in groups}
        crews[groups[1].id] = _second_crew(password, groups[1], users)
    admin = Actor(users["admin"])
    created = 0
    for index in range(households):
        stage, overdue, returned = _plan(index, households)
        group = groups[index % len(groups)]
        _make_case(rng, admin, crews[group.id], project, group, index, stage, overdue, returned, now, upload_dir)
        created += 1
    for index in range(6):
        _make_case(rng, admin, users, road, road_groups[0], 100 + index, index % 3, index == 1, None, now,
                   upload_dir, kind="shop")
        created += 1
    notices = escalation.run(now, escalation.EscalationTimes())  # reminders and overdue notices for the demo
    return f"{len(users)} users, projects {project.code} and {road.code}, {created} households, {notices} notices"


def _users(password: str) -> dict[str, User]:
    users = {}
    for code in ROLES:
        existing = db.session.scalar(select(User).where(User.username == code))
        users[code] = existing or identity.create_user(code, password, DEMO_NAMES[code], [code])
    return users


def _project(code: str, name: str, group_names: list[str], users: dict[str, User]) -> tuple[Project, list]:
    project = Project(code=code, name=name, description=name, sign_deadline=(utcnow() + timedelta(days=90)).date())
    db.session.add(project)
    db.session.flush()
    groups = []
    for group_name in group_names:
        group = WorkGroup(project_id=project.id, name=group_name)
        group.members = [u for c, u in users.items() if c not in ("supervisor", "admin")]
        if "group_leader" in users:
            group.leader_id = users["group_leader"].id
        db.session.add(group)
        groups.append(group)
    db.session.flush()
    return project, groups


def _second_crew(password: str, group: WorkGroup, users: dict[str, User]) -> dict[str, User]:
    """The people of the second group: the same as the first's but for a leader and a handler of its own."""
    crew = dict(users)
    for role, (username, name) in SECOND_GROUP.items():
        existing = db.session.scalar(select(User).where(User.username == username))
        crew[role] = existing or identity.create_user(username, password, name, [role])
    group.members = [u for u in group.members if u.id not in {users[r].id for r in SECOND_GROUP}]
    group.members.extend(crew[r] for r in SECOND_GROUP)
    group.leader_id = crew["group_leader"].id
    return crew


def _plan(index: int, total: int) -> tuple[int, bool, str | None]:
    """(how many steps of PATH to complete, whether the open step is overdue, a return to make)."""
    stage = index % (len(PATH) + 1)
    overdue = index % 7 == 3
    returned = None
    if index % 10 == 4:
        stage, returned = PATH.index("calc_audit"), "calc_audit"   # waits at calculation, returned
    elif index % 10 == 9 and index < 40:
        stage, returned = PATH.index("sign_group_leader"), "sign"  # waits at the agreement draft, returned
    elif index % 17 == 6 and stage > PATH.index("calc_audit"):
        returned = "calc_audit"                                     # was returned once, moved on since
    return stage, overdue, returned


def _make_case(rng: random.Random, admin: Actor, users: dict[str, User], project: Project, group: WorkGroup,
               index: int, stage: int, overdue: bool, returned: str | None, now: datetime, upload_dir: str,
               kind: str | None = None) -> None:
    kind = kind or rng.choice(["collective_house"] * 6 + ["state_house", "enterprise", "shop"])
    head = demo_data.name(rng)
    steps = stage + (2 if returned else 0)
    # step k happens a day after step k-1; the open step is overdue when the last step was long ago
    start = now - timedelta(days=steps + (14 if overdue else 0), hours=2)
    household, instance = households.create(admin, project.id, {
        "code": f"{project.code}-{index + 1:03d}", "kind": kind, "head_name": head,
        "address": f"{project.name[:4]}{index % 6 + 1}组{10 + index}号", "section": f"{index % 3 + 1}号片区",
        "phone": f"139{rng.randint(10000000, 99999999)}", "work_group_id": group.id,
    }, now=start)
    moment = start
    reviewer, target = {"calc_audit": ("calc_audit", "calculation"),
                        "sign": ("sign_group_leader", "agreement_draft")}.get(returned or "", (None, None))
    reasons = {"calculation": "装修补偿单价套用有误，请按政策表重新核算",
               "agreement_draft": "搬迁期限与公告不一致，请修改协议"}
    for position, bpmn_id in enumerate(PATH[:stage + 1]):
        moment += timedelta(days=1)
        if bpmn_id == reviewer:
            _return(users, instance.id, reviewer, target, reasons[target], moment)
            if position == stage:
                return  # leave the re-opened step waiting, marked as returned
            moment += timedelta(days=1)
            _complete(rng, users, household, head, instance.id, target, moment, upload_dir)
            if reviewer == "sign_group_leader":
                _complete(rng, users, household, head, instance.id, "sign_handler", moment + timedelta(hours=2),
                          upload_dir)
            moment += timedelta(days=1)
        if bpmn_id == "sign_village_cadre" and not household.cadre_signs:
            continue  # state land signs without a village cadre
        if position < stage:
            _complete(rng, users, household, head, instance.id, bpmn_id, moment, upload_dir)
            if bpmn_id == "sign_reviewer" and position + 1 < stage:
                _finish_tracking_audit(users, instance.id, moment + timedelta(hours=4))


def _open(users: dict[str, User], instance_id: int, bpmn_id: str) -> tuple[User, int]:
    row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                    HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))
    if row is None:
        raise LookupError(f"demo: step {bpmn_id} is not open on instance {instance_id}")
    return users[row.role], row.id


def _complete(rng: random.Random, users: dict[str, User], household: Household, head: str, instance_id: int,
              bpmn_id: str, at: datetime, upload_dir: str) -> None:
    user, task_id = _open(users, instance_id, bpmn_id)
    for module, category in demo_data.scans_for(bpmn_id, household.kind):
        demo_data.scan(user, household, module, category, upload_dir, at)
    runtime.complete_task(Actor(user), task_id, demo_data.step(rng, bpmn_id, household, at, head), now=at)


def _finish_tracking_audit(users: dict[str, User], instance_id: int, at: datetime) -> None:
    """Large agreements stop at tracking audit; the demo clears it for cases that moved further."""
    try:
        reviewer, audit_id = _open(users, instance_id, "tracking_audit")
    except LookupError:
        return
    household = db.session.get(Household, db.session.get(HumanTask, audit_id).household_id)
    data = demo_data.step(random.Random(audit_id), "tracking_audit", household, at, household.head_name)  # noqa: S311
    runtime.complete_task(Actor(reviewer), audit_id, data, now=at)


def _return(users: dict[str, User], instance_id: int, bpmn_id: str, to: str, reason: str, at: datetime) -> None:
    user, task_id = _open(users, instance_id, bpmn_id)
    runtime.return_task(Actor(user), task_id, to, reason, now=at)
