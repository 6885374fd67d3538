"""The supervisor's forms in the office's terms: deadlines in days and hours (kept as ISO 8601), reassignment
offered only to people who hold the step's role in the case's project, exports formatted for reading."""
from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import unquote

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, StepDeadline, WorkGroup
from services import identity, reassignment
from services.tx import transaction
from tests.factories import PASSWORD, new_household


def sign_in(client, username: str) -> None:
    client.post("/login", data={"username": username, "password": PASSWORD})


def test_deadlines_are_entered_in_days_and_hours_and_kept_as_iso_8601(world, client):
    sign_in(client, "supervisor")
    page = client.get("/supervisor/deadlines").get_data(as_text=True)
    assert 'name="days"' in page and 'name="hours"' in page and 'name="due"' not in page
    assert "ISO 8601" not in page and not re.search(r">P\d+D<|>PT\d+H<", page)
    response = client.post("/supervisor/deadlines", data={"bpmn_id": "survey", "days": "3", "hours": "4"})
    assert response.status_code == 302
    row = db.session.scalar(select(StepDeadline).where(StepDeadline.bpmn_id == "survey"))
    assert row.due == "P3DT4H"
    page = client.get("/supervisor/deadlines").get_data(as_text=True)
    cell = re.search(r'data-testid="in-force-survey">([^<]*)<', page).group(1)
    assert cell == "3 天 4 小时"
    assert re.search(r'name="days"[^>]*value="3"', page) and re.search(r'name="hours"[^>]*value="4"', page)
    client.post("/supervisor/deadlines", data={"bpmn_id": "survey", "days": "", "hours": "36"})
    db.session.expire_all()
    assert db.session.scalar(select(StepDeadline.due).where(StepDeadline.bpmn_id == "survey")) == "PT36H"
    for days, hours in (("x", "1"), ("0", "0"), ("-1", "2")):
        response = client.post("/supervisor/deadlines", data={"bpmn_id": "survey", "days": days, "hours": hours})
        assert response.status_code == 422, (days, hours)
        assert f'value="{days}"' in response.get_data(as_text=True)  # what was typed stays
    db.session.expire_all()
    assert db.session.scalar(select(StepDeadline.due).where(StepDeadline.bpmn_id == "survey")) == "PT36H"


def _second_surveyor(world, *, in_project: bool):
    with transaction():
        person = identity.create_user("surveyor2" if in_project else "surveyor_b", PASSWORD,
                                      "李调查" if in_project else "王外项", ["surveyor"])
        project = world.project if in_project else world.other_project
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.project_id == project.id))
        group.members.append(person)
    return person


def test_reassignment_offers_only_holders_of_the_role_in_the_project(world, client):
    inside = _second_surveyor(world, in_project=True)
    outside = _second_surveyor(world, in_project=False)
    _, instance = new_household(world, "RA-1")
    step = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    pool = reassignment.pools([step])[step.id]
    offered = reassignment.candidates({pool})[pool]
    ids = {c.id for c in offered}
    assert inside.id in ids and world.users["surveyor"].id in ids
    assert outside.id not in ids and world.users["accountant"].id not in ids and world.users["admin"].id not in ids
    sign_in(client, "supervisor")
    page = client.get("/supervisor?days=0").get_data(as_text=True)
    start = page.index('data-testid="reassign-to"')
    select_html = page[start:page.index("</select>", start)]
    assert "李调查" in select_html and "王外项" not in select_html
    assert world.users["accountant"].display_name not in select_html
    # the server refuses others whatever the page offered
    for stranger in (outside, world.users["accountant"]):
        client.post("/supervisor/reassign", data={"task_id": str(step.id), "user_id": str(stranger.id)})
        db.session.expire_all()
        assert db.session.get(HumanTask, step.id).assignee_id is None
    client.post("/supervisor/reassign", data={"task_id": str(step.id), "user_id": str(inside.id)})
    db.session.expire_all()
    assert db.session.get(HumanTask, step.id).assignee_id == inside.id


def test_the_progress_report_export_reads_as_a_spreadsheet(world, client):
    new_household(world, "XF-1")
    sign_in(client, "supervisor")
    response = client.get("/supervisor/reports.xlsx")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("进度报表-")
    book = load_workbook(BytesIO(response.data))
    sheet = book["项目进度"]
    headers = [c.value for c in sheet[1]]
    assert headers[4] == "签约率" and headers[8] == "拨付进度"
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == world.project.code)
    assert row[4].number_format == "0.00%" and row[8].number_format == "0.00%"
    assert row[6].number_format == "#,##0.00" and row[7].number_format == "#,##0.00"
    assert row[2].number_format == "#,##0" and row[2].value == 1
    assert sheet.column_dimensions["B"].width >= 20 and sheet.column_dimensions["G"].width >= 16
    assert sheet.freeze_panes == "A2"
    groups = book["工作组"]
    assert groups.cell(row=2, column=5).number_format == "0.00%"


def test_the_ledger_export_has_number_formats_widths_and_a_chinese_name(world, client):
    new_household(world, "XF-2")
    sign_in(client, "surveyor")
    response = client.get(f"/projects/{world.project.id}/ledger.xlsx")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "签约台账" in unquote(disposition.split("filename*=UTF-8''")[1])
    sheet = load_workbook(BytesIO(response.data)).active
    assert sheet.cell(row=2, column=10).number_format == "#,##0.00"
    assert sheet.cell(row=2, column=11).number_format == "0.00%"
    assert sheet.column_dimensions["D"].width >= 30
