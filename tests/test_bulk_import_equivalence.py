"""The bulk survey import writes what completing the survey step one household at a time writes: the same
households, module data, survey tables, step rows, history, audit rows and workflow state (ids, task ids and
the engine's own clock aside), and an imported case goes on through the engine like any other."""
from __future__ import annotations

import json
import re
import zlib
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Household, HumanTask, ProcessInstance, utcnow
from bench.imports import id_number, survey_rows, workbook
from bench.templates import OWNED, reflect, snapshot
from services import history, runtime, store
from services.excel import bulk
from services.tx import transaction
from tests import factories
from tests.api_support import fast_passwords  # noqa: F401

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID_TABLES = {"household_id": "households", "instance_id": "process_instances", "human_task_id": "human_tasks",
             "record_id": "module_records", "task_id": "human_tasks"}
TARGETS = {"household": "households", "module": "module_records", "human_task": "human_tasks"}
LEFT_OUT = {"project_id", "work_group_id", "prev_hash", "hash", "last_state_change"}


def stepwise(actor, project_id: int, data: bytes, now) -> None:
    """The reference: each household created, its case started and its survey completed one at a time, through
    runtime as a page does it."""
    with transaction(), history.imported():
        report = bulk.check(actor, project_id, "survey", data, "import.xlsx")
        for plan in report.households:
            household = Household(project_id=project_id, created_at=now, created_by_id=actor.id, **plan.values)
            db.session.add(household)
            db.session.flush()
            bulk.audit.record(actor, "household.create", "household", household.id, household_id=household.id,
                              after={**{k: v for k, v in plan.values.items() if k not in ("village_id", "batch_id")},
                                     "source": "bulk_import"}, at=now)
            instance, workflow = runtime.start_workflow(actor, household, now=now)
            open_rows = store.open_steps(instance.id)
            row = next(r for r in open_rows.values() if r.form_key == "survey")
            bulk._attach(actor, household.id, "survey", report, len(data), now)
            runtime.complete_checked(actor, row, instance, plan.data, now=now, workflow=workflow,
                                     open_rows=open_rows)


def sheets() -> dict[str, list[list[Any]]]:
    rows = survey_rows(5, persons=3, buildings=2)
    rows["户"][2][1] = "企业"
    rows["户"][3][4:7] = [None, None, None]
    rows["家庭成员"].append(["B-00004", "外来", id_number(9999), "其他", "否", "低保"])
    rows["附属物"] = [["户号", "项目", "数量"], ["B-00001", "热水器", 2], ["B-00001", "空调（挂机）", 1],
                   ["B-00003", "热水器", 1]]
    rows["家庭成员"][5][6:8] = ["否", "是"]  # the survey's extra quota groups, 否 written out too
    rows["经营信息"] = [["户号", "营业执照号", "经营面积(㎡)", "承租人", "停产停业损失依据", "月均损失(元)",
                       "用地面积(㎡)"],
                      ["B-00001", "91330100MA2XXXXX0X", 280, "李明", "纳税证明", 12500.5, "360"]]
    return rows


def normal(shot, state_uuids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """A household's rows with ids as their rank in their table, task ids by first appearance, hashes out."""
    rank = {name: {r["id"]: i for i, r in enumerate(rows)} for name, rows in shot.rows.items()
            if rows and "id" in rows[0]}

    def value(table: str, column: str, item: Any, row: dict[str, Any]) -> Any:
        if item is None:
            return None
        if column == "id" and table in rank:
            return f"{table}#{rank[table][item]}"
        if column in ID_TABLES:
            return f"{ID_TABLES[column]}#{rank[ID_TABLES[column]].get(item, item)}"
        if column == "target_id" and row.get("target_type") in TARGETS:
            return f"{TARGETS[row['target_type']]}#{rank[TARGETS[row['target_type']]][int(item)]}"
        if column == "state":
            text = zlib.decompress(item).decode()
            for guid in UUID.findall(text):
                state_uuids.setdefault(guid, f"task{len(state_uuids)}")
            return doc(json.loads(UUID.sub(lambda m: state_uuids[m.group(0)], text)), None)
        if column == "task_guid":  # a completed step's task may be gone from the state (compacted)
            return state_uuids.setdefault(item, f"task{len(state_uuids)}")
        if isinstance(item, (dict, list)):
            return doc(item, None)
        return item

    def doc(item: Any, within: str | None) -> Any:
        if isinstance(item, list):
            return [doc(i, within) for i in item]
        if not isinstance(item, dict):
            return item
        out = {}
        for key, inner in item.items():
            if key in LEFT_OUT:
                continue
            if key == "id" and within in ("persons", "buildings") and isinstance(inner, int):
                out[key] = f"{within}#{rank[within][inner]}"
            elif key == "instance" and isinstance(inner, int):
                out[key] = f"process_instances#{rank['process_instances'][inner]}"
            else:
                out[key] = doc(inner, key if isinstance(inner, list) else None)
        return out

    out = {}
    for name, _ in OWNED:  # the instance first: its state names the task ids the step rows carry
        rows = shot.rows[name]
        out[name] = [{c: value(name, c, v, r) for c, v in r.items() if c not in LEFT_OUT} for r in rows]
    return out


def test_the_bulk_import_writes_what_completing_each_survey_writes(world):
    world.other_project.groups[0].members.append(world.users["surveyor"])
    db.session.commit()
    actor = world.actor("surveyor")
    data, now = workbook(sheets()), utcnow()
    stepwise(actor, world.project.id, data, now)
    report = bulk.run(actor, world.other_project.id, "survey", data, "import.xlsx", now=now,
                      upload_dir=current_app.config["UPLOAD_DIR"])
    assert len(report.households) == 5
    tables = reflect()
    by_project = {}
    for project in (world.project, world.other_project):
        homes = db.session.scalars(select(Household).where(Household.project_id == project.id)
                                   .order_by(Household.id)).all()
        by_project[project.id] = {h.code: normal(snapshot(tables, h.id, 0, 0, now), {}) for h in homes}
    one, other = by_project[world.project.id], by_project[world.other_project.id]
    assert list(one) == list(other) == [f"B-{i:05d}" for i in range(5)]
    for code in one:
        for name, _ in OWNED:
            assert one[code][name] == other[code][name], (code, name)
    kept = other["B-00001"]
    assert [len(kept[n]) for n, _ in OWNED] == [1, 1, 2, 4, 1, 1, 3, 2, 2, 1, 1, 0, 0, 0, 3]
    assert kept["task_events"][2]["detail"] == {"imported": True} and kept["process_instances"][0]["state"]["tasks"]
    survey = kept["module_records"][0]["data"]  # the fields the compensation reads, as the survey stores them
    assert [(p["unmarried_adult"], p["reserved"]) for p in survey["persons"]] == [(False, False), (False, True),
                                                                                  (True, False)]
    assert (survey["business"]["monthly_loss"], survey["business"]["land_area"]) == ("12500.50", "360.00")
    assert sum(len(v["persons"]) for v in other.values()) == 16
    assert sum(len(v["ancillary_items"]) for v in other.values()) == 3
    assert sum(len(v["business_details"]) for v in other.values()) == 1
    trail = {}
    for project in (world.project, world.other_project):  # the audit rows in the order one at a time writes them
        codes = dict(db.session.execute(select(Household.id, Household.code)
                                        .where(Household.project_id == project.id)).all())
        trail[project.id] = [(a, codes[h]) for a, h in db.session.execute(
            select(AuditLog.action, AuditLog.household_id).where(AuditLog.household_id.in_(codes))
            .order_by(AuditLog.id)).all()]
    assert trail[world.project.id] == trail[world.other_project.id] and len(trail[world.project.id]) == 15
    # the chain holds over the rows the import appended
    from services import audit

    assert audit.verify()[1] is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "import.survey")) is not None


def test_an_imported_case_completes_its_appraisal_through_the_engine(world):
    bulk.run(world.actor("surveyor"), world.project.id, "survey", workbook(survey_rows(2)), "s.xlsx", now=utcnow(),
             upload_dir=current_app.config["UPLOAD_DIR"])
    guids = db.session.scalars(select(HumanTask.task_guid)).all()
    assert len(set(guids)) == len(guids) == 4  # each case's task ids its own
    row = db.session.scalar(select(HumanTask).where(HumanTask.form_key == "appraisal").order_by(HumanTask.id))
    factories.complete_open_step(world, row)
    db.session.rollback()
    instance = db.session.get(ProcessInstance, row.instance_id)
    assert db.session.get(HumanTask, row.id).status == "completed"
    open_steps = db.session.scalars(select(HumanTask.form_key).where(HumanTask.instance_id == instance.id,
                                                                     HumanTask.status == "ready")).all()
    assert open_steps == ["rights"]
    assert store.load(instance).get_tasks()  # the saved state restores
