"""Behaviour supervision: the audit trail is searchable by person, household, module, action and time."""
from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from tests.factories import PASSWORD, new_household


def sign_in(client, username: str) -> None:
    client.post("/login", data={"username": username, "password": PASSWORD})


def test_search_by_person_household_and_action_and_the_search_is_recorded(world, client):
    first, _ = new_household(world, "TR-1")
    new_household(world, "TR-2")
    sign_in(client, "supervisor")
    page = client.get("/trail?household=TR-1")
    assert page.status_code == 200
    assert page.data.count(b'data-action="household.create"') == 1
    assert client.get("/trail?user=surveyor&action=household.").data.count(b'data-action="household.create"') == 2
    assert client.get("/trail?user=nobody").data.count(b"data-action=") == 0
    assert client.get("/trail?since=2000-01-01&until=2000-01-02").data.count(b'data-action="household') == 0
    assert client.get("/trail?since=garbage&page=x").status_code == 200
    searches = db.session.scalars(select(AuditLog).where(AuditLog.action == "audit.search")).all()
    assert len(searches) == 5
    assert searches[0].actor_name == "supervisor" and searches[0].after == {"household": "TR-1"}


def test_export_is_an_audited_xlsx_and_other_roles_are_refused(world, client):
    new_household(world, "TR-3")
    sign_in(client, "reviewer")
    response = client.get("/trail/export.xlsx?action=household.")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data)).active
    assert sheet["A1"].value == "序号" and sheet.max_row == 2 and sheet["D2"].value == "household.create"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "audit.export")) is not None
    client.post("/logout")
    sign_in(client, "accountant")
    assert client.get("/trail").status_code == 403
    assert client.get("/trail/export.xlsx").status_code == 403
