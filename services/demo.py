"""Demo data: the project 北区三村 with one user per role and households at every step."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Household, HumanTask, Project, User, WorkGroup, utcnow
from services import definitions, demo_data, demo_integrity, escalation, households, identity, runtime, setup, staff
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
    """Create the demo (its scans written under upload_dir) through the services an office sets itself up with:
    staff, projects, villages, batches and work groups; returns a one-line summary."""
    now = now or utcnow()
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    system = Actor.system()
    with transaction():
        identity.ensure_roles()
        definitions.load_shipped(definitions.SHIPPED_DIR, system, now)
        compensation_policy.ensure_default(system, now)
        users = _users(password, now)
        crew = [code for code in ROLES if code not in ("supervisor", "admin", "process_owner")]
        project = _project(now, {
            "code": "BQ3C", "name": "北区三村集体土地征收项目", "kind": "collective",
            "decision_number": "北政征〔2026〕3号"},
            villages=[("北区三村", "village_cadre")], batches=["第一批", "第二批"])
        second = {role: username for role, (username, _name) in SECOND_GROUP.items()}
        groups = [
            _group(now, project, "第一工作组", users, crew),
            _group(now, project, "第二工作组", users, [second.get(code, code) for code in crew]),
        ]
        road = _project(now, {"code": "BJL", "name": "滨江路拓宽工程（沿街店面）", "kind": "state",
                              "decision_number": "滨政征〔2026〕11号"}, villages=[("滨江路沿线", None)],
                        batches=["第一批"])
        road_groups = [_group(now, road, "拓宽组", users, [*crew, "surveyor_bjl"])]
        crews = {groups[0].id: users, groups[1].id: {**users, **{r: users[u] for r, u in second.items()}},
                 road_groups[0].id: users}
    admin = Actor(users["admin"])
    created = 0
    for index in range(households):
        stage, overdue, returned = _plan(index, households)
        group = groups[index % len(groups)]
        _make_case(rng, admin, crews[group.id], project, group, index, stage, overdue, returned, now, upload_dir)
        created += 1
    for index in range(6):
        _make_case(rng, admin, crews[road_groups[0].id], road, road_groups[0], 100 + index, index % 3, index == 1,
                   None, now, upload_dir, kind="shop")
        created += 1
    demo_integrity.seed(users, project, now, upload_dir)
    notices = escalation.run(now, escalation.EscalationTimes())  # reminders and overdue notices for the demo
    return f"{len(users)} users, projects {project.code} and {road.code}, {created} households, {notices} notices"


def _users(password: str, now: datetime) -> dict[str, User]:
    """One member of staff per role (and the second group's leader and handler, a surveyor of the road project),
    with the demo's known password (not a temporary one)."""
    people = {code: (code, DEMO_NAMES[code], [code]) for code in ROLES}
    people.update({username: (username, name, [role]) for role, (username, name) in SECOND_GROUP.items()})
    people["surveyor_bjl"] = ("surveyor_bjl", "邱调查（滨江路）", ["surveyor"])
    users = {}
    for key, (username, name, roles) in people.items():
        existing = db.session.scalar(select(User).where(User.username == username))
        users[key] = existing or staff.add(Actor.system(), {"username": username, "display_name": name,
                                                             "password": password, "roles": roles},
                                           now=now, source="demo", temporary=False)
    return users


def _project(now: datetime, particulars: dict[str, str], *, villages: list[tuple[str, str | None]],
             batches: list[str]) -> Project:
    """A project with its dates (announced two months ago, signing for three months from a month ago), its
    villages (with their cadre) and batches."""
    today = now.date()
    days = {"announced_on": -60, "signing_starts_on": -30, "sign_deadline": 90, "target_signed_on": 90,
            "target_vacated_on": 120, "target_demolished_on": 150, "target_cleared_on": 180}
    project = setup.create_project(Actor.system(), {
        **particulars, **{key: (today + timedelta(days=n)).isoformat() for key, n in days.items()},
        "description": particulars["name"]}, now=now)
    for name, cadre in villages:
        setup.create_village(Actor.system(), project.id, {"name": name, "cadre": cadre}, now=now)
    for name in batches:
        setup.create_batch(Actor.system(), project.id, {"name": name}, now=now)
    return project


def _group(now: datetime, project: Project, name: str, users: dict[str, User], members: list[str]) -> WorkGroup:
    """A work group of the project: its leader is the group_leader among its members."""
    usernames = [users[key].username for key in members]
    leader = next(users[key].username for key in members if users[key].has_role("group_leader"))
    return setup.create_group(Actor.system(), project.id, {"name": name, "leader": leader, "members": usernames},
                              now=now)


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
        "village_id": project.villages[0].id,
        "batch_id": project.batches[min(index // 30, len(project.batches) - 1)].id,  # thirty to a batch
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
    filed = {category: demo_data.scan(user, household, module, category, upload_dir, at)
             for module, category in demo_data.scans_for(bpmn_id, household.kind)}
    data = demo_data.with_files(demo_data.step(rng, bpmn_id, household, at, head), filed)
    runtime.complete_task(Actor(user), task_id, data, now=at)


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
