"""Behaviour supervision: the audit trail is searchable by person, household, module, action and time — and
reads in the office's words: phrases, names, a before → after list, personal data masked."""
from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import unquote

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, HumanTask
from services import supervision
from services.context import Actor
from services.tx import transaction
from tests.factories import PASSWORD, new_household

ID_NUMBER = "11010519491231002X"


def sign_in(client, username: str) -> None:
    client.post("/login", data={"username": username, "password": PASSWORD})


def rows(page) -> int:
    return page.get_data(as_text=True).count('data-testid="trail-row"')


def test_search_by_person_household_and_action_and_the_search_is_recorded(world, client):
    first, _ = new_household(world, "TR-1")
    new_household(world, "TR-2")
    sign_in(client, "supervisor")
    page = client.get("/trail?household=TR-1")
    assert page.status_code == 200
    assert rows(page) == 1 and "登记住户" in page.get_data(as_text=True)
    assert rows(client.get("/trail?user=surveyor&action=household.create")) == 2
    assert rows(client.get(f"/trail?household={first.head_name}")) >= 1
    assert rows(client.get("/trail?user=nobody")) == 0
    assert rows(client.get("/trail?since=2000-01-01&until=2000-01-02")) == 0
    assert client.get("/trail?since=garbage&page=x").status_code == 200
    searches = db.session.scalars(select(AuditLog).where(AuditLog.action == "audit.search")).all()
    assert len(searches) == 6
    assert searches[0].actor_name == "supervisor" and searches[0].after == {"household": "TR-1"}


def _trail_world(world):
    """A household registered with a full ID number, a reassigned step, a sign-in: rows of every kind."""
    household, instance = new_household(world, "TR-9")
    with transaction():
        from services import audit  # noqa: PLC0415

        audit.record(Actor(world.users["surveyor"], "10.0.0.1"), "module.survey.write", "module", 1,
                     household_id=household.id, before={"persons": [{"name": "王五", "id_number": ID_NUMBER}]},
                     after={"persons": [{"name": "王五", "id_number": "110105194912310037"}]})
    step = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    supervision.reassign(Actor(world.users["supervisor"], None), [step.id], world.users["surveyor"].id, step.created_at)
    return household, step


def test_the_trail_page_speaks_chinese_with_names_a_diff_and_masked_numbers(world, client):
    household, step = _trail_world(world)
    sign_in(client, "supervisor")
    text = client.get("/trail").get_data(as_text=True)
    body = text[text.index('data-testid="trail-table"'):]
    for code in ("auth.login", "task.reassign", "module.survey.write", "household.create", "human_task",
                 "assignee_id", "{", "persons", "id_number"):
        assert code not in body, code
    assert "登录系统" in body and "改派环节" in body and "保存调查建档" in body
    assert f"{household.code} {household.head_name}" in body and step.name in body
    assert world.users["surveyor"].display_name in body  # the new assignee by name, not user 13
    assert "家庭人口 1 · 身份证号" in body and "→" in body  # the changed field by its title, before → after
    assert ID_NUMBER not in text and "110105194912310037" not in text
    assert "110***********002X" in body
    filters = text[text.index('data-testid="trail-filters"'):text.index('data-testid="trail-table"')]
    assert '<option value="auth.login" >登录系统</option>' in filters.replace("  ", " ")
    assert re.search(r'<select name="module"', filters) and 'placeholder="Action' not in filters


def test_export_speaks_chinese_masks_numbers_and_names_the_file_in_chinese(world, client):
    _trail_world(world)
    sign_in(client, "reviewer")
    response = client.get("/trail/export.xlsx?action=module.survey.write")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and unquote(disposition.split("''")[1]).startswith("操作日志-")
    sheet = load_workbook(BytesIO(response.data)).active
    assert [c.value for c in sheet[1]] == ["时间", "人员", "操作", "对象", "被征收户", "IP 地址", "详情"]
    assert sheet.max_row == 2 and sheet["C2"].value == "保存调查建档"
    assert "家庭人口 1 · 身份证号：110***********002X → 110***********0037" in sheet["G2"].value
    cells = " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
    assert ID_NUMBER not in cells and "{" not in cells
    assert sheet.column_dimensions["G"].width == 60 and sheet.freeze_panes == "A2"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "audit.export")) is not None
    client.post("/logout")
    sign_in(client, "accountant")
    assert client.get("/trail").status_code == 403
    assert client.get("/trail/export.xlsx").status_code == 403
