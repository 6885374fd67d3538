"""Integrity controls and internal audit: firm selections, conflict-of-interest declarations that gate the
appraisal and the signatures, and audit findings from opening to closing — through the services, the API and
the pages, with who may do what."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, ConflictDeclaration, HumanTask, WorkGroup, utcnow
from services import integrity, internal_audit, reassignment, supervision
from services.errors import InvalidInput
from tests import factories
from tests.api_support import assert_error, case_at, fast_passwords  # noqa: F401
from tests.case_data import PNG

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _finding(api, household_id: int, as_: str = "reviewer", **extra):
    body = {"household_id": household_id, "bpmn_id": "survey", "severity": "high",
            "text": "入户调查表缺户主签字", "working_days": 5, **extra}
    return api.post("/api/v1/findings", as_=as_, json=body)


def test_working_days_skip_weekends():
    from datetime import date

    assert internal_audit.add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Friday → Monday
    assert internal_audit.add_working_days(date(2026, 12, 7), 5) == date(2026, 12, 14)


def test_working_days_follow_the_holiday_schedule():
    from datetime import date

    # National Day 2026: 1-7 October off, Saturday 10 October a make-up working day (调休)
    assert internal_audit.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert internal_audit.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)
    # a year the schedule does not cover yet: Monday to Friday
    assert internal_audit.add_working_days(date(2027, 3, 5), 1) == date(2027, 3, 8)


def test_a_firm_selection_is_recorded_with_its_minutes_and_audited(world, api, client):
    project_id = world.project.id
    refused = api.post(f"/api/v1/projects/{project_id}/firm-selections", as_="appraiser",
                       json={"method": "lottery", "held_on": "2026-11-02", "candidates": ["甲"], "chosen_firm": "甲"})
    assert_error(refused, 403)
    wrong = api.post(f"/api/v1/projects/{project_id}/firm-selections", as_="supervisor",
                     json={"method": "lottery", "held_on": "2026-11-02", "candidates": ["甲", "乙"],
                           "chosen_firm": "丙"})
    assert_error(wrong, 422, fields={"chosen_firm"})
    client.post("/login", data={"username": "admin", "password": factories.PASSWORD})
    page = client.post("/integrity/selections", data={
        "project_id": str(project_id), "method": "negotiation", "held_on": "2026-11-03",
        "candidates": "江城房地产估价有限公司\n恒信评估", "chosen_firm": "江城房地产估价有限公司",
        "minutes": (io.BytesIO(PNG), "会议纪要.png")}, content_type="multipart/form-data")
    assert page.status_code == 302, page.get_data(as_text=True)[:500]
    listed = api.get(f"/api/v1/projects/{project_id}/firm-selections", as_="appraiser").get_json()["items"]
    assert [(s["method"], s["chosen_firm"]) for s in listed] == [("negotiation", "江城房地产估价有限公司")]
    assert listed[0]["minutes_file_id"]
    shown = client.get(f"/integrity/selections?project_id={project_id}").get_data(as_text=True)
    assert "由被征收户协商" in shown and "会议纪要.png" in shown
    assert client.get(f"/integrity/project-files/{listed[0]['minutes_file_id']}").status_code == 200
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "integrity.selection")) is not None
    assert api.get(f"/api/v1/projects/{project_id}/firm-selections", as_="outsider").status_code == 404


def test_the_appraisal_needs_the_declaration_and_a_declared_conflict_blocks_it(world, api, client):
    instance_id, task = case_at(api, world.project.id, "D-001", "appraisal")
    data = api.prepare(task, "appraiser")
    missing = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="appraiser",
                       json={"data": {**data, "no_conflict": False}})
    error = assert_error(missing, 422, fields={"no_conflict"})
    assert error["fields"]["no_conflict"] == ["tick the declaration: no conflict of interest with this household"]
    declared = api.post(f"/api/v1/tasks/{task['id']}/conflict", as_="appraiser", json={"note": "系该户亲属"})
    assert declared.status_code == 201, declared.get_json()
    assert declared.get_json()["conflict"] is True
    blocked = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="appraiser", json={"data": data})
    assert_error(blocked, 409, "conflict_declared")
    assert_error(api.post(f"/api/v1/tasks/{task['id']}/claim", as_="appraiser"), 409, "conflict_declared")
    client.post("/login", data={"username": "appraiser", "password": factories.PASSWORD})
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "本人与该户无利害关系" in page and "申报利害关系并回避" in page
    assert "尚未登记评估机构选定情况" in page
    # another appraiser of the project takes the step and completes it with the declaration
    from services import identity
    from services.tx import transaction

    with transaction():
        other = identity.create_user("appraiser2", factories.PASSWORD, "第二评估员", ["appraiser"])
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.project_id == world.project.id))
        group.members.append(other)
    _reassignment_passes_over(world, task["id"], declared_by=world.users["appraiser"], other=other)
    done = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="appraiser2",
                    json={"data": {**data, "conflict_note": "与该户无亲属及经济往来"}})
    assert done.status_code == 200, done.get_json()
    listed = api.get(f"/api/v1/households/{task['household_id']}/declarations", as_="surveyor").get_json()["items"]
    assert [(d["user"], d["conflict"]) for d in listed] == [("appraiser", True), ("appraiser2", False)]
    assert api.get(f"/api/v1/households/{task['household_id']}/declarations", as_="outsider").status_code == 404
    shown = client.get(f"/cases/{task['household_id']}").get_data(as_text=True)
    assert "回避声明" in shown and "申报存在利害关系" in shown
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "integrity.conflict")) is not None


def _reassignment_passes_over(world, task_id: int, *, declared_by, other) -> None:
    """The reassignment list leaves out who declared a conflict, and a reassignment to them is refused."""
    row = db.session.get(HumanTask, task_id)
    pool = reassignment.pools([row])[row.id]
    offered = [c.id for c in reassignment.candidates([pool])[pool]]
    assert other.id in offered and declared_by.id not in offered
    with pytest.raises(InvalidInput) as refused:
        supervision.reassign(world.actor("supervisor"), [task_id], declared_by.id, utcnow())
    assert [p.code for p in refused.value.fields["task_ids"]] == ["reassign_conflict"]
    assert db.session.get(HumanTask, task_id).assignee_id is None


def test_a_step_without_a_declaration_cannot_declare_a_conflict(world, api):
    instance_id = case_at(api, world.project.id, "D-002", "survey")[0]
    task = api.open_task(instance_id, "survey", "surveyor")
    refused = api.post(f"/api/v1/tasks/{task['id']}/conflict", as_="surveyor", json={"note": "亲属"})
    assert_error(refused, 422)
    assert db.session.scalar(select(ConflictDeclaration)) is None


def test_a_finding_goes_from_open_through_rectified_to_closed(world, api):
    instance_id, task = case_at(api, world.project.id, "F-001", "appraisal")
    household_id = task["household_id"]
    assert_error(_finding(api, household_id, as_="supervisor"), 403)
    assert_error(_finding(api, household_id, as_="outsider"), 403)  # not a reviewer
    assert_error(_finding(api, household_id, bpmn_id="nowhere"), 422, fields={"bpmn_id"})
    opened = _finding(api, household_id)
    assert opened.status_code == 201, opened.get_json()
    finding = opened.get_json()
    assert (finding["state"], finding["role"], finding["step_name"]) == ("open", "surveyor", "调查建档")
    fid = finding["id"]
    assert api.get(f"/api/v1/findings/{fid}", as_="outsider").status_code == 404
    assert_error(api.post(f"/api/v1/findings/{fid}/close", as_="reviewer"), 409, "finding_state")
    assert_error(api.post(f"/api/v1/findings/{fid}/rectify", as_="appraiser", json={"text": "已补"}), 403)
    assert_error(api.post(f"/api/v1/findings/{fid}/rectify", as_="outsider", json={"text": "已补"}), 404)
    assert_error(api.post(f"/api/v1/findings/{fid}/rectify", as_="surveyor", json={"text": ""}), 422,
                 fields={"text"})
    rectified = api.post(f"/api/v1/findings/{fid}/rectify", as_="surveyor", json={"text": "已补户主签字并重新扫描"})
    assert rectified.get_json()["state"] == "rectified"
    assert_error(api.post(f"/api/v1/findings/{fid}/close", as_="surveyor"), 403)
    assert_error(api.post(f"/api/v1/findings/{fid}/reopen", as_="reviewer", json={"reason": ""}), 422)
    reopened = api.post(f"/api/v1/findings/{fid}/reopen", as_="reviewer", json={"reason": "扫描件仍不清晰"})
    assert reopened.get_json()["state"] == "reopened"
    api.post(f"/api/v1/findings/{fid}/rectify", as_="surveyor", json={"text": "重新扫描"})
    from services import identity
    from services.tx import transaction

    with transaction():  # a reviewer of the other project sees nothing of this one
        stranger = identity.create_user("reviewer_b", factories.PASSWORD, "乙项目审核", ["reviewer"])
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.project_id == world.other_project.id))
        group.members.append(stranger)
    assert_error(api.post(f"/api/v1/findings/{fid}/close", as_="reviewer_b"), 404)
    assert_error(_finding(api, household_id, as_="reviewer_b"), 404)
    assert_error(api.get(f"/api/v1/projects/{world.project.id}/audit-sample", as_="reviewer_b"), 404)
    closed = api.post(f"/api/v1/findings/{fid}/close", as_="reviewer")
    assert closed.get_json()["state"] == "closed"
    mine = api.get("/api/v1/findings?mine=true", as_="surveyor").get_json()["items"]
    assert [f["id"] for f in mine] == [fid]
    assert api.get("/api/v1/findings?mine=true", as_="appraiser").get_json()["items"] == []
    assert api.get("/api/v1/findings", as_="outsider").get_json()["items"] == []
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("finding.%"))))
    assert actions == {"finding.open", "finding.rectify", "finding.reopen", "finding.close"}
    counts = internal_audit.counts(world.actor("supervisor"), None, __import__("datetime").date(2100, 1, 1))
    assert counts.by_state["closed"] == 1 and counts.overdue == []


def test_the_sample_takes_cases_of_the_project(world, api):
    for code in ("S-001", "S-002", "S-003"):
        case_at(api, world.project.id, code, "appraisal")
    project_id = world.project.id
    assert_error(api.get(f"/api/v1/projects/{project_id}/audit-sample?size=2", as_="surveyor"), 403)
    two = api.get(f"/api/v1/projects/{project_id}/audit-sample?size=2&seed=7", as_="reviewer").get_json()["items"]
    assert len(two) == 2
    through = api.get(f"/api/v1/projects/{project_id}/audit-sample?step=appraisal", as_="reviewer").get_json()
    assert [h["code"] for h in through["items"]] == ["S-001", "S-002", "S-003"]
    assert api.get(f"/api/v1/projects/{project_id}/audit-sample", as_="outsider").status_code == 404


def test_the_findings_pages_speak_chinese_and_keep_to_roles(world, api, client):
    instance_id, task = case_at(api, world.project.id, "P-001", "appraisal")
    fid = _finding(api, task["household_id"]).get_json()["id"]
    client.post("/login", data={"username": "surveyor", "password": factories.PASSWORD})
    listing = client.get("/integrity/findings").get_data(as_text=True)
    assert "内审整改" in listing and "待整改" in listing
    assert client.post(f"/integrity/findings/{fid}/close").status_code == 403
    page = client.post(f"/integrity/findings/{fid}/rectify", data={"text": ""})
    assert page.status_code == 422
    done = client.post(f"/integrity/findings/{fid}/rectify",
                       data={"text": "已补签", "file": (io.BytesIO(PNG), "整改.png")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    assert "整改.png" in client.get(f"/integrity/findings/{fid}").get_data(as_text=True)
    client.post("/logout")
    client.post("/login", data={"username": "supervisor", "password": factories.PASSWORD})
    overview = client.get("/integrity/overview").get_data(as_text=True)
    assert "已整改待复核" in overview
    trail = client.get("/trail?action=finding.rectify").get_data(as_text=True)
    assert "登记了整改情况" in trail and "问题状态" in trail and "已整改待复核" in trail
    assert db.session.get(HumanTask, task["id"]) is not None
    assert integrity.needs_declaration("sign") and not integrity.needs_declaration("survey")
