"""Two administrators editing the same record at once: a project, a village and a member of staff. The later save
made on the fingerprint both loaded is refused — by the service, the API (409 stale_edit) and the page (what was
typed kept, the other administrator and the time named) — and never silently overwrites the earlier one."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Project, User, Village, utcnow
from services import identity, setup, staff
from services.context import Actor
from services.errors import Conflict
from services.tx import transaction
from tests import factories
from tests.api_support import assert_error

PROJECT = {"code": "XQ-2026", "name": "西区棚改", "kind": "state", "description": "西区棚户区改造"}


@pytest.fixture()
def other_admin(world: factories.World) -> Actor:
    """A second administrator, 钱主任."""
    with transaction():
        user = identity.create_user("admin2", factories.PASSWORD, "钱主任", ["admin"])
    return Actor(user, "127.0.0.1")


def _local(app: Flask, moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def _sign_in(client, username: str) -> None:
    assert client.post("/login", data={"username": username, "password": factories.PASSWORD}).status_code == 302


def _fingerprint(page: str) -> str:
    found = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page)
    assert found, "the form carries no fingerprint"
    return found.group(1)


def test_the_service_refuses_a_project_change_made_on_a_stale_fingerprint(world, other_admin, app):
    admin = world.actor("admin")
    project = setup.create_project(admin, PROJECT, now=utcnow())
    loaded = setup.project_fingerprint(project)
    assert re.fullmatch(r"[0-9a-f]{16}", loaded)
    first = utcnow() - timedelta(minutes=5)
    setup.update_project(other_admin, project.id, {"name": "西区一期", "fingerprint": loaded}, now=first)
    with pytest.raises(Conflict) as refused:
        setup.update_project(admin, project.id, {"description": "改", "fingerprint": loaded}, now=utcnow())
    assert refused.value.code == "stale_edit" and refused.value.status == 409
    assert refused.value.message.params["by"] == "钱主任"
    assert _local(app, first) in refused.value.message  # the English wording names the office's local time
    db.session.expire_all()
    kept = db.session.get(Project, project.id)
    assert kept.name == "西区一期" and kept.description == "西区棚户区改造"
    fresh = setup.project_fingerprint(kept)
    assert fresh != loaded
    setup.update_project(admin, project.id, {"description": "改", "fingerprint": fresh}, now=utcnow())
    setup.update_project(admin, project.id, {"code": "XQ-1"}, now=utcnow())  # no fingerprint: as before
    db.session.expire_all()
    assert (db.session.get(Project, project.id).description, db.session.get(Project, project.id).code) == ("改", "XQ-1")
    assert [a for a in db.session.scalars(select(AuditLog.action).where(AuditLog.target_type == "project"))] == [
        "project.create", "project.update", "project.update", "project.update"]


def test_the_api_answers_fingerprints_and_refuses_stale_changes(world, other_admin, api):
    pid = api.post("/api/v1/projects", as_="admin", json=PROJECT).get_json()["id"]
    village_id = api.post(f"/api/v1/projects/{pid}/villages", as_="admin", json={"name": "东村"}).get_json()["id"]
    detail = api.get(f"/api/v1/projects/{pid}", as_="admin").get_json()
    loaded, village_loaded = detail["fingerprint"], detail["villages"][0]["fingerprint"]
    first = api.call("PATCH", f"/api/v1/projects/{pid}", as_="admin2", json={"name": "西区一期", "fingerprint": loaded})
    assert first.status_code == 200 and first.get_json()["fingerprint"] != loaded
    error = assert_error(api.call("PATCH", f"/api/v1/projects/{pid}", as_="admin",
                                  json={"description": "改", "fingerprint": loaded}), 409, "stale_edit")
    assert "钱主任" in error["message"]
    renamed = api.call("PATCH", f"/api/v1/villages/{village_id}", as_="admin2",
                       json={"notes": "含老街", "fingerprint": village_loaded})
    assert renamed.status_code == 200 and renamed.get_json()["fingerprint"] != village_loaded
    assert_error(api.call("PATCH", f"/api/v1/villages/{village_id}", as_="admin",
                          json={"name": "西村", "fingerprint": village_loaded}), 409, "stale_edit")
    detail = api.get(f"/api/v1/projects/{pid}", as_="admin").get_json()
    assert (detail["name"], detail["description"]) == ("西区一期", "西区棚户区改造")
    assert (detail["villages"][0]["name"], detail["villages"][0]["notes"]) == ("东村", "含老街")
    fresh = api.call("PATCH", f"/api/v1/projects/{pid}", as_="admin",
                     json={"description": "改", "fingerprint": detail["fingerprint"]})
    assert fresh.status_code == 200 and fresh.get_json()["description"] == "改"
    without = api.call("PATCH", f"/api/v1/villages/{village_id}", as_="admin", json={"name": "西村"})
    assert without.status_code == 200 and without.get_json()["name"] == "西村"
    assert_error(api.call("PATCH", f"/api/v1/villages/{village_id}", as_="admin",
                          json={"fingerprint": "not hex!"}), 422, fields={"fingerprint"})


def test_the_project_and_village_pages_keep_what_was_typed_and_name_the_other_administrator(
        world, other_admin, client, app):
    admin = world.actor("admin")
    project = setup.create_project(admin, PROJECT, now=utcnow())
    village = setup.create_village(admin, project.id, {"name": "东村"}, now=utcnow())
    _sign_in(client, "admin")
    loaded = _fingerprint(client.get(f"/setup/projects/{project.id}/edit").get_data(as_text=True))
    village_loaded = _fingerprint(client.get(f"/setup/village/{village.id}").get_data(as_text=True))
    first = utcnow()
    setup.update_project(other_admin, project.id, {"name": "西区一期", "fingerprint": loaded}, now=first)
    setup.update_village(other_admin, village.id, {"notes": "含老街", "fingerprint": village_loaded}, now=first)

    typed = {**PROJECT, "description": "我填的说明", "fingerprint": loaded}
    refused = client.post(f"/setup/projects/{project.id}/edit", data=typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "我填的说明" in page and "钱主任" in page and _local(app, first) in page and "修改了这条记录" in page
    db.session.expire_all()
    assert db.session.get(Project, project.id).description == "西区棚户区改造"
    again = client.post(f"/setup/projects/{project.id}/edit", data={**typed, "fingerprint": _fingerprint(page)})
    assert again.status_code == 302  # saving again from the refused page keeps the typed version
    db.session.expire_all()
    assert db.session.get(Project, project.id).description == "我填的说明"

    refused = client.post(f"/setup/village/{village.id}", data={"name": "西村", "kind": "village",
                                                                "fingerprint": village_loaded})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and 'value="西村"' in page and "钱主任" in page
    db.session.expire_all()
    assert (db.session.get(Village, village.id).name, db.session.get(Village, village.id).notes) == ("东村", "含老街")


def test_two_administrators_editing_one_member_of_staff(world, other_admin, api, client, app):
    admin = world.actor("admin")
    target = world.users["handler"]
    loaded = staff.staff_fingerprint(target)
    first = utcnow()
    staff.update(other_admin, target.id, {"display_name": "孙经办", "fingerprint": loaded}, now=first)
    with pytest.raises(Conflict) as refused:
        staff.update(admin, target.id, {"email": "h@example.gov.cn", "fingerprint": loaded}, now=utcnow())
    assert refused.value.code == "stale_edit" and refused.value.message.params["by"] == "钱主任"

    body = api.get(f"/api/v1/staff/{target.id}", as_="admin").get_json()
    assert body["fingerprint"] == staff.staff_fingerprint(db.session.get(User, target.id)) != loaded
    assert_error(api.call("PATCH", f"/api/v1/staff/{target.id}", as_="admin",
                          json={"email": "h@example.gov.cn", "fingerprint": loaded}), 409, "stale_edit")
    fresh = api.call("PATCH", f"/api/v1/staff/{target.id}", as_="admin",
                     json={"email": "h@example.gov.cn", "fingerprint": body["fingerprint"]})
    assert fresh.status_code == 200 and fresh.get_json()["email"] == "h@example.gov.cn"
    assert api.call("PATCH", f"/api/v1/staff/{target.id}", as_="admin", json={"roles": ["handler"]}).status_code == 200

    _sign_in(client, "admin")
    opened = _fingerprint(client.get(f"/staff/{target.id}/edit").get_data(as_text=True))
    later = utcnow()
    staff.update(other_admin, target.id, {"display_name": "孙经办人", "fingerprint": opened}, now=later)
    refused = client.post(f"/staff/{target.id}/edit", data={"display_name": "孙小经", "roles": ["handler", "reviewer"],
                                                             "fingerprint": opened})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert 'value="孙小经"' in page and 'value="reviewer" checked' in page
    assert "钱主任" in page and _local(app, later) in page and "修改了这条记录" in page
    db.session.expire_all()
    kept = db.session.get(User, target.id)
    assert kept.display_name == "孙经办人" and sorted(kept.role_codes) == ["handler"]
