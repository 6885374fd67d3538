"""Template cases: a few households run through the real engine and services, one step at a time, with a
snapshot of every row they own after each step. The generator copies these snapshots in bulk, so the stored
workflow state, module data and history of every generated case are what the application itself wrote."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import MetaData, Table, select

from app.extensions import db
from app.models import Household, HumanTask, User, utcnow
from bench.people import Office
from services import demo_data, households, runtime
from services.context import Actor

# the tables a household owns, in the order they are written (parents first); how each one is selected
OWNED: tuple[tuple[str, str], ...] = (
    ("households", "id"), ("process_instances", "household_id"), ("human_tasks", "household_id"),
    ("task_events", "instance_id"), ("module_records", "household_id"), ("module_revisions", "record_id"),
    ("persons", "household_id"), ("buildings", "household_id"), ("ancillary_items", "household_id"),
    ("business_details", "household_id"), ("attachments", "household_id"), ("agreements", "household_id"),
    ("payments", "household_id"), ("notifications", "instance_id"), ("audit_log", "household_id"),
)
PARENT_OF_KEY = {"household_id": "households", "instance_id": "process_instances", "record_id": "module_records"}


@dataclass(frozen=True)
class Plan:
    """How a template case goes: its kind, the returns it makes (once each), a meeting, a large agreement."""

    kind: str
    returns: tuple[tuple[str, str], ...] = ()
    meeting: bool = False
    large: bool = False


PLANS = (
    Plan("collective_house"),
    Plan("state_house", returns=(("calc_audit", "calculation"),)),
    Plan("enterprise", meeting=True, large=True),
    Plan("shop", returns=(("sign_group_leader", "agreement_draft"),)),
    Plan("collective_house", returns=(("policy_review", "appraisal"),)),
)
REASONS = {"calculation": "装修补偿单价套用有误，请按政策表重新核算",
           "agreement_draft": "搬迁期限与公告不一致，请修改协议", "appraisal": "评估报告未附房屋照片，请补充"}


@dataclass
class Snapshot:
    """Every row a template household owns after some number of steps."""

    plan: int
    stage: int
    household_id: int
    created_at: datetime                      # when the template household was created
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def open_tasks(self) -> list[dict[str, Any]]:
        """The snapshot's open steps."""
        return [t for t in self.rows["human_tasks"] if t["status"] == "ready"]

    @property
    def closed(self) -> bool:
        """True when the case is completed in this snapshot."""
        return self.rows["process_instances"][0]["status"] == "completed"


@dataclass
class TemplateSet:
    """The snapshots of every plan, and the identifying values of each template household."""

    snapshots: list[Snapshot]
    households: dict[int, dict[str, Any]]     # template household id -> its row at the end
    tables: dict[str, Table]


def reflect() -> dict[str, Table]:
    """The owned tables as the database has them (whatever the migrations added)."""
    meta = MetaData()
    meta.reflect(bind=db.engine, only=[name for name, _ in OWNED])
    return {name: meta.tables[name] for name, _ in OWNED}


def snapshot(tables: dict[str, Table], household_id: int, plan: int, stage: int, created_at: datetime) -> Snapshot:
    """Read every row the household owns, as plain values."""
    shot = Snapshot(plan, stage, household_id, created_at)
    ids: dict[str, set[int]] = {"households": {household_id}}
    for name, key in OWNED:
        table = tables[name]
        parents = ids[PARENT_OF_KEY.get(key, "households")]
        rows = db.session.execute(select(table).where(table.c[key].in_(parents)).order_by(*table.primary_key.columns))
        shot.rows[name] = [dict(r._mapping) for r in rows]
        if "id" in table.c:
            ids[name] = {r["id"] for r in shot.rows[name]}
    return shot


def _data(rng: random.Random, plan: Plan, row: HumanTask, household: Household, head: str, at: datetime) -> dict:
    if row.bpmn_id == "collective_decision":
        return {"decision": "approve", "meeting_date": at.date().isoformat(), "attendees": "分管领导、各工作组负责人",
                "minutes": "经集体研究，同意按现行补偿政策执行，营业损失按近三年平均利润认定。"}
    data = demo_data.step(rng, row.bpmn_id, household, at, head)
    if row.bpmn_id == "policy_review" and plan.meeting:
        data["decision"] = "meeting"
    if row.bpmn_id == "survey" and plan.large:  # a large enterprise: its agreement goes through tracking audit
        for building in data["buildings"]:
            building["measured_area"] = "2400.00"
            building["certified_area"] = "2400.00" if building.get("certified_area") else None
            building["legal_status"] = "legal"
    return data


def _scan(user: User, household: Household, bpmn_id: str, at: datetime) -> None:
    scans = getattr(demo_data, "scans_for", None)
    wanted = scans(bpmn_id, household.kind) if scans else (
        [("agreement", "signed_agreement")] if bpmn_id == "agreement_draft" else [])
    for module, category in wanted:
        demo_data.scan(user, household, module, category, current_app.config["UPLOAD_DIR"], at)


def run(app: Flask, office: Office, seed: int) -> TemplateSet:
    """Run each plan's template case to its end, snapshotting after the start and after every step."""
    tables = reflect()
    project = office.projects[0]
    people_ids = {role: ids[0] for (pid, role), ids in office.users.items() if pid == project}
    people_ids["supervisor"] = office.supervisors[0]
    snapshots: list[Snapshot] = []
    ends: dict[int, dict[str, Any]] = {}
    rng = random.Random(seed)
    for index, plan in enumerate(PLANS):
        with app.test_request_context():  # the step forms render labels in the request's language
            people = {role: db.session.get(User, uid) for role, uid in people_ids.items()}
            start = utcnow() - timedelta(days=90)
            head = demo_data.name(rng)
            household, instance = households.create(Actor(people["surveyor"]), project, {
                "code": f"TPL-{index + 1:03d}", "kind": plan.kind, "head_name": head,
                "address": f"模板村{index + 1}组{index + 1}号", "phone": f"021-8888{index:04d}",
                "work_group_id": office.groups[project][0], "section": "1号片区",
            }, now=start)
            hid, iid = household.id, instance.id
            snapshots.append(snapshot(tables, hid, index, 0, start))
            at, done, stage = start, set(), 0
            while True:
                row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                                HumanTask.status == "ready").order_by(HumanTask.id))
                if row is None:
                    break
                at += timedelta(hours=rng.randint(20, 40))
                user = people[row.role]
                household = db.session.get(Household, hid)
                target = dict(plan.returns).get(row.bpmn_id)
                if target and row.bpmn_id not in done:
                    done.add(row.bpmn_id)
                    runtime.return_task(Actor(user), row.id, target, REASONS[target], now=at)
                else:
                    _scan(user, household, row.bpmn_id, at)
                    runtime.complete_task(Actor(user), row.id, _data(rng, plan, row, household, head, at), now=at)
                stage += 1
                snapshots.append(snapshot(tables, hid, index, stage, start))
            ends[hid] = snapshots[-1].rows["households"][0]
            db.session.remove()
    return TemplateSet(snapshots, ends, tables)
