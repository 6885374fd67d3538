"""Supervision: stuck cases, reassignment, live counts, progress reports, deadlines — services, API, pages."""
from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import event, select

from app.extensions import db
from app.models import (
    Attachment,
    AuditFinding,
    CompletionDay,
    FirmSelection,
    HumanTask,
    ModuleRecord,
    Notification,
    ProcessInstance,
    TaskEvent,
    utcnow,
)
from services import reports, supervision
from services.errors import Forbidden, InvalidInput
from tests.factories import PASSWORD, complete_open_step, new_household


def open_row(instance_id: int, bpmn_id: str) -> HumanTask:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))


@pytest.fixture()
def cases(world):
    """Three households: one idle for ten days, one fresh, one in error."""
    old = utcnow() - timedelta(days=10)
    _, idle = new_household(world, "S-IDLE", now=old)
    _, fresh = new_household(world, "S-FRESH")
    _, broken = new_household(world, "S-ERR")
    broken.status, broken.error_message = "error", "condition refused"
    db.session.commit()
    return idle, fresh, broken


def test_stuck_cases_lists_idle_and_broken_cases_with_their_waiting_time(world, cases):
    idle, fresh, broken = cases
    found, total = supervision.stuck_cases(world.actor("supervisor"), supervision.StuckQuery(days=3), utcnow())
    by_id = {c.instance.id: c for c in found}
    assert set(by_id) == {idle.id, broken.id} and total == 2
    assert by_id[idle.id].reason == "no_progress" and by_id[idle.id].waited >= timedelta(days=10)
    assert by_id[broken.id].reason == "error"
    assert [t.bpmn_id for t in by_id[idle.id].tasks] == ["survey"]
    only_step, _ = supervision.stuck_cases(world.actor("supervisor"),
                                           supervision.StuckQuery(days=3, step="appraisal"), utcnow())
    assert only_step == []
    with pytest.raises(Forbidden):
        supervision.stuck_cases(world.actor("surveyor"), supervision.StuckQuery(), utcnow())


def test_bulk_reassignment_checks_role_and_project_and_tells_the_new_assignee(world, cases):
    idle, fresh, _ = cases
    ids = [open_row(idle.id, "survey").id, open_row(fresh.id, "survey").id]
    with pytest.raises(InvalidInput) as caught:
        supervision.reassign(world.actor("supervisor"), ids, world.users["accountant"].id, utcnow())
    assert "does not hold the role" in caught.value.fields["task_ids"][0]
    with pytest.raises(InvalidInput):
        supervision.reassign(world.actor("supervisor"), ids, world.outsider.id, utcnow())  # another project
    with pytest.raises(Forbidden):
        supervision.reassign(world.actor("group_leader"), ids, world.users["surveyor"].id, utcnow())
    assert supervision.reassign(world.actor("supervisor"), ids, world.users["surveyor"].id, utcnow()) == 2
    db.session.expire_all()
    assert {open_row(i.id, "survey").assignee_id for i in (idle, fresh)} == {world.users["surveyor"].id}
    assert db.session.scalar(select(TaskEvent).where(TaskEvent.action == "reassigned")).detail["to"] == "surveyor"
    kinds = db.session.scalars(select(Notification.kind).where(
        Notification.user_id == world.users["surveyor"].id)).all()
    assert kinds.count("assigned") == 2


def test_live_counts_and_overdue_by_role_and_person(world, cases):
    counts = supervision.step_counts(world.actor("supervisor"), None, utcnow())
    assert counts["survey"] == {"open": 3, "overdue": 1}
    assert supervision.overdue_by_role(world.actor("supervisor"), None, utcnow()) == {"surveyor": 1}
    people = supervision.overdue_by_person(world.actor("supervisor"), None, utcnow())
    assert people == [{"user_id": None, "username": None, "display_name": None, "count": 1}]


def drive_to_payment(api, instance_id: int) -> None:
    for step in ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
                 "sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer"):
        api.complete(instance_id, step)


def test_progress_report_counts_signing_payment_and_groups(world, api):
    _, first = new_household(world, "R-1")
    new_household(world, "R-2")
    drive_to_payment(api, first.id)
    api.complete(first.id, "payment")
    [report] = reports.progress(world.actor("supervisor"), world.project.id, utcnow())
    totals = report.total.as_dict()
    assert totals["households"] == 2 and totals["signed"] == 1 and totals["sign_rate"] == 0.5
    agreed = db.session.get(ProcessInstance, first.id).agreed_amount
    assert agreed > 0 and totals["agreed_amount"] == f"{agreed:.2f}" == totals["paid_amount"]
    assert totals["paid_rate"] == 1.0
    assert report.steps["survey"]["open"] == 1 and report.steps["archive"]["open"] == 1
    assert list(report.steps) == ["survey", "archive"]  # in pipeline order
    trend = reports.trend(world.actor("supervisor"), world.project.id, utcnow())
    assert trend["signed"][-1] == 1 and sum(trend["completed_steps"]) >= 12
    book = load_workbook(BytesIO(reports.workbook([report], {})))
    assert book.sheetnames == ["项目进度", "工作组", "各环节", "超期统计"]
    assert book["项目进度"]["A1"].value == "项目编号" and book["项目进度"]["C2"].value == 2


def test_a_return_before_signing_voids_the_signatures_in_the_report(world, api):
    _, instance = new_household(world, "R-3")
    drive_to_payment(api, instance.id)
    assert db.session.get(ProcessInstance, instance.id).signed_at is not None
    payment = api.open_task(instance.id, "payment", "finance")
    assert payment  # finance cannot return; archive can, after payment
    api.complete(instance.id, "payment")
    archive = api.open_task(instance.id, "archive", "archivist")
    response = api.post(f"/api/v1/tasks/{archive['id']}/return", as_="archivist",
                        json={"to": "calculation", "reason": "核算依据缺页"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).signed_at is None


def test_the_supervision_api(world, api, cases):
    response = api.get("/api/v1/supervisor/stuck?days=3", as_="supervisor")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2 and {i["reason"] for i in body["items"]} == {"no_progress", "error"}
    item = next(i for i in body["items"] if i["reason"] == "no_progress")
    assert item["waiting_days"] >= 10 and item["current_tasks"][0]["bpmn_id"] == "survey"
    assert api.get("/api/v1/supervisor/stuck", as_="surveyor").status_code == 403
    assert api.get("/api/v1/supervisor/stuck?days=-1", as_="supervisor").status_code == 422
    assert api.get("/api/v1/supervisor/stuck").status_code == 401

    response = api.get(f"/api/v1/reports/progress?project_id={world.project.id}", as_="supervisor")
    assert response.status_code == 200
    [project] = response.get_json()["projects"]
    assert project["households"] == 3 and project["sign_rate"] == 0.0
    assert project["steps"]["survey"]["overdue"] == 1 and project["overdue_by_role"] == {"surveyor": 1}
    assert api.get("/api/v1/reports/progress", as_="outsider").status_code == 403
    assert api.get("/api/v1/reports/progress?project_id=abc", as_="supervisor").status_code == 422

    response = api.get("/api/v1/deadlines", as_="surveyor")
    assert response.status_code == 200
    steps = {i["bpmn_id"]: i for i in response.get_json()["items"]}
    assert steps["survey"]["due"] == "P7D" and steps["survey"]["scope"] == "diagram"
    assert api.put("/api/v1/deadlines/survey", as_="surveyor", json={"due": "PT2S"}).status_code == 403
    response = api.put("/api/v1/deadlines/survey", as_="supervisor", json={"due": "soon"})
    assert response.status_code == 422 and "due" in response.get_json()["error"]["fields"]
    assert api.put("/api/v1/deadlines/nope", as_="supervisor", json={"due": "PT2S"}).status_code == 404
    assert api.put("/api/v1/deadlines/survey", as_="supervisor", data="x").status_code == 422
    response = api.put("/api/v1/deadlines/survey", as_="supervisor", json={"due": "PT2S"})
    assert response.status_code == 200 and response.get_json()["due"] == "PT2S"
    response = api.put("/api/v1/deadlines/survey", as_="admin",
                       json={"due": "P1D", "project_id": world.project.id})
    assert response.status_code == 200 and response.get_json()["scope"] == "project"
    assert api.put("/api/v1/deadlines/survey", as_="supervisor",
                   json={"due": "P1D", "project_id": 999999}).status_code == 404


@pytest.mark.parametrize("path", ["/supervisor", "/supervisor?days=0&step=survey", "/supervisor/diagram",
                                  "/supervisor/diagram.bpmn", "/supervisor/reports", "/supervisor/deadlines"])
def test_the_supervisor_pages(world, cases, client, path):
    client.post("/login", data={"username": "supervisor", "password": PASSWORD})
    response = client.get(path)
    assert response.status_code == 200
    if path.startswith("/supervisor?") or path == "/supervisor":
        assert b"S-IDLE" in response.data and b"S-ERR" in response.data


def test_supervisor_pages_refuse_other_roles_and_export_xlsx(world, cases, client):
    client.post("/login", data={"username": "surveyor", "password": PASSWORD})
    assert client.get("/supervisor").status_code == 403
    assert client.get("/supervisor/reports.xlsx").status_code == 403
    client.post("/logout")
    client.post("/login", data={"username": "group_leader", "password": PASSWORD})
    response = client.get("/supervisor/reports.xlsx")
    assert response.status_code == 200
    assert load_workbook(BytesIO(response.data)).sheetnames[0] == "项目进度"


def test_reassign_and_deadline_forms(world, cases, client):
    idle, _, _ = cases
    client.post("/login", data={"username": "supervisor", "password": PASSWORD})
    task_id = open_row(idle.id, "survey").id
    response = client.post("/supervisor/reassign", data={"task_id": str(task_id),
                                                         "user_id": str(world.users["surveyor"].id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert open_row(idle.id, "survey").assignee_id == world.users["surveyor"].id
    response = client.post("/supervisor/deadlines", data={"bpmn_id": "survey", "days": "x"})
    assert response.status_code == 422
    response = client.post("/supervisor/deadlines", data={"bpmn_id": "survey", "days": "2"})
    assert response.status_code == 302


def test_the_seed_leaves_reminders_of_every_kind(ctx):
    from services import demo

    demo.seed(password=PASSWORD, upload_dir=current_app.config["UPLOAD_DIR"], households=30)
    kinds = set(db.session.scalars(select(Notification.kind)))
    assert {"sign", "audit", "returned", "overdue"} <= kinds
    steps = set(db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.status == "ready")))
    assert {"survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
            "sign_handler", "payment", "archive"} <= steps
    assert db.session.scalar(select(ProcessInstance).where(ProcessInstance.status == "completed")) is not None
    findings = db.session.execute(select(AuditFinding.bpmn_id, AuditFinding.state).order_by(AuditFinding.id)).all()
    assert [tuple(f) for f in findings] == [("survey", "open"), ("appraisal", "rectified"), ("calculation", "closed")]
    for module, field, category in (("appraisal", "report_file", "appraisal_report"),
                                    ("agreement", "signed_scan", "signed_agreement")):
        record = db.session.scalar(select(ModuleRecord).where(ModuleRecord.module == module).limit(1))
        linked = db.session.get(Attachment, record.data[field])  # the step names the document filed with it
        assert (linked.household_id, linked.category) == (record.household_id, category)
    selection = db.session.scalar(select(FirmSelection))
    assert selection.method == "negotiation" and selection.minutes_file_id is not None


def test_trend_counts_each_closed_day_once_and_today_live(world):
    """Completions of past days come from their stored counts (made on the first report), today's live."""
    now = utcnow()
    three_days_ago = now - timedelta(days=3)
    _, mine = new_household(world, "T-MINE", now=three_days_ago)
    complete_open_step(world, open_row(mine.id, "survey"), now=three_days_ago)
    db.session.add(TaskEvent(instance_id=mine.id, at=three_days_ago, action="completed", bpmn_id="survey"))
    db.session.commit()
    index = -4  # the day three days ago among the last 30

    trend = reports.trend(world.actor("supervisor"), None, now)
    assert trend["completed_steps"][index] == 2 and trend["completed_steps"][-1] == 0
    stored = {(d.day, d.project_id): d.completed for d in db.session.scalars(select(CompletionDay))}
    day = three_days_ago.date()
    assert stored[(day, world.project.id)] == 2 and stored[(day, 0)] == 2
    assert len([k for k in stored if k[1] == 0]) == 29  # every closed day of the range is marked counted
    assert reports.trend(world.actor("supervisor"), world.project.id, now)["completed_steps"][index] == 2
    assert reports.trend(world.actor("supervisor"), world.other_project.id, now)["completed_steps"][index] == 0

    # counted once: the second report reads the stored counts without recounting the day
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        again = reports.trend(world.actor("supervisor"), None, now)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert again == trend
    assert not any("INSERT" in s for s in statements)

    # today is live: a completion now shows at once
    complete_open_step(world, open_row(mine.id, "appraisal"), now=utcnow())
    assert reports.trend(world.actor("supervisor"), None, utcnow())["completed_steps"][-1] == 1
