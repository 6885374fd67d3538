"""The JSON API against its contract (API.md): every endpoint, its status codes and the shapes it answers with."""
from __future__ import annotations

import copy
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import ApiToken, HumanTask, ProcessInstance, User, utcnow
from services import identity
from services.forms.steps import agreement_gateway_data
from tests import factories
from tests.api_support import (
    HISTORY_KEYS,
    MAIN_PATH,
    MEETING,
    NOTIFICATION_KEYS,
    SIGNS,
    TASK_DETAIL_KEYS,
    TASK_PAGE_KEYS,
    assert_error,
    assert_instance,
    assert_task,
    case_at,
    fast_passwords,  # noqa: F401
    start_case,
)
from tests.factories import PASSWORD, STEP_DATA

pytestmark = pytest.mark.usefixtures("fast_passwords")

PROTECTED = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/projects"),
    ("POST", "/api/v1/projects/1/households"),
    ("GET", "/api/v1/households/1"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/1"),
    ("POST", "/api/v1/tasks/1/claim"),
    ("POST", "/api/v1/tasks/1/release"),
    ("POST", "/api/v1/tasks/1/complete"),
    ("POST", "/api/v1/tasks/1/return"),
    ("GET", "/api/v1/instances"),
    ("GET", "/api/v1/instances/1"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/1/read"),
]
ID_ROUTES = [
    ("POST", "/api/v1/projects/{}/households", {"code": "H-1", "kind": "shop", "address": "a", "head_name": "b"}),
    ("GET", "/api/v1/households/{}", None),
    ("GET", "/api/v1/tasks/{}", None),
    ("POST", "/api/v1/tasks/{}/claim", None),
    ("POST", "/api/v1/tasks/{}/release", None),
    ("POST", "/api/v1/tasks/{}/complete", {"data": {}}),
    ("POST", "/api/v1/tasks/{}/return", {"to": "calculation", "reason": "x"}),
    ("GET", "/api/v1/instances/{}", None),
    ("POST", "/api/v1/notifications/{}/read", None),
]


def survey_task(api, world, code: str = "H-001") -> tuple[int, dict]:
    """A new case of the world's project and its open survey step."""
    instance_id = start_case(api, world.project.id, code)
    return instance_id, api.open_task(instance_id, "survey", "surveyor")


def second_user(world, username: str, role: str) -> User:
    """Another member of the world's project holding a role."""
    user = identity.create_user(username, PASSWORD, f"{username} user", [role])
    world.project.groups[0].members.append(user)
    db.session.commit()
    return user


# --- health and tokens ------------------------------------------------------------------------------------------

def test_healthz_needs_no_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_a_token_for_good_credentials(world, client):
    response = client.post("/api/v1/auth/token", json={"username": "surveyor", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert len(body["token"]) >= 32 and body["expires_at"].endswith("Z")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == "surveyor"


@pytest.mark.parametrize("credentials", [
    {"username": "surveyor", "password": "wrong-password"},
    {"username": "nobody", "password": PASSWORD},
    {"username": "SURVEYOR", "password": PASSWORD},
])
def test_bad_credentials_get_401(world, client, credentials):
    response = client.post("/api/v1/auth/token", json=credentials)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_disabled_user_gets_no_token(world, client):
    world.users["surveyor"].active = False
    db.session.commit()
    assert_error(client.post("/api/v1/auth/token", json={"username": "surveyor", "password": PASSWORD}), 401)


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"username", "password"}),
    ({"username": "surveyor"}, {"password"}),
    ({"username": 7, "password": ["x"]}, {"username", "password"}),
    ({"username": "surveyor", "password": PASSWORD, "otp": "123456"}, {"otp"}),
    ({"username": "s" * 10_000, "password": PASSWORD}, {"username"}),
])
def test_a_malformed_token_request_is_422(world, client, body, fields):
    assert_error(client.post("/api/v1/auth/token", json=body), 422, "invalid_input", fields)


@pytest.mark.parametrize("credential", ["none", "basic", "empty", "unknown", "expired", "revoked", "disabled"])
def test_every_endpoint_but_the_token_and_the_document_needs_a_valid_token(world, api, credential):
    headers = {
        "none": {},
        "basic": {"Authorization": "Basic c3VydmV5b3I6eA=="},
        "empty": {"Authorization": "Bearer "},
        "unknown": {"Authorization": "Bearer " + "x" * 43},
    }.get(credential)
    if headers is None:
        token = api.token("surveyor")
        headers = {"Authorization": f"Bearer {token}"}
        now = utcnow()
        values = {"expired": {"expires_at": now - timedelta(seconds=1)}, "revoked": {"revoked_at": now}}
        if credential == "disabled":
            world.users["surveyor"].active = False
        else:
            db.session.execute(update(ApiToken).values(**values[credential]))
        db.session.commit()
    for method, url in PROTECTED:
        response = api.client.open(url, method=method, headers=headers, json={})
        assert_error(response, 401, "unauthorized")
    assert api.client.get("/api/v1/openapi.json").status_code == 200


# --- the caller and projects --------------------------------------------------------------------------------------

def test_me_names_the_callers_roles_and_projects(world, api):
    body = api.get("/api/v1/me", as_="accountant").get_json()
    assert body == {"username": "accountant", "display_name": "accountant user", "roles": ["accountant"],
                    "project_ids": [world.project.id]}
    supervisor = api.get("/api/v1/me", as_="supervisor").get_json()
    assert supervisor["project_ids"] == sorted([world.project.id, world.other_project.id])


@pytest.mark.parametrize(("username", "codes"), [
    ("surveyor", ["P1"]), ("outsider", ["P2"]), ("admin", ["P1", "P2"]), ("supervisor", ["P1", "P2"]),
])
def test_projects_are_the_callers_own(world, api, username, codes):
    response = api.get("/api/v1/projects", as_=username)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items"}
    assert [p["code"] for p in body["items"]] == codes
    assert all(set(p) == {"id", "code", "name"} for p in body["items"])


# --- households ---------------------------------------------------------------------------------------------------

def test_creating_a_household_starts_its_pipeline(world, api):
    response = api.post(f"/api/v1/projects/{world.project.id}/households", as_="surveyor",
                        json={"code": "H-001", "kind": "state_house", "address": "滨江路8号", "head_name": "王芳",
                              "phone": "13800138000", "section": "一标段", "notes": "独居老人"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"household", "instance_id"}
    household = body["household"]
    assert household["code"] == "H-001" and household["kind"] == "state_house"
    assert household["project_id"] == world.project.id and household["land_nature"] == "state"
    instance = api.get(f"/api/v1/instances/{body['instance_id']}", as_="surveyor").get_json()
    assert_instance(instance)
    assert instance["household_id"] == household["id"] and instance["status"] == "running"
    assert [t["bpmn_id"] for t in instance["current_tasks"]] == ["survey"]
    assert [h["action"] for h in instance["history"]] == ["started", "created"]
    assert api.post(f"/api/v1/projects/{world.project.id}/households", as_="admin",
                    json={"code": "H-002", "kind": "shop", "address": "滨江路9号", "head_name": "赵强"}
                    ).status_code == 201


def test_creating_a_household_is_for_surveyors_and_admins_of_the_project(world, api):
    body = {"code": "H-001", "kind": "collective_house", "address": "北区三村1组1号", "head_name": "张建华"}
    url = f"/api/v1/projects/{world.project.id}/households"
    assert_error(api.post(url, as_="accountant", json=body), 403, "forbidden")
    assert_error(api.post(url, as_="outsider", json=body), 404, "not_found")
    assert_error(api.post("/api/v1/projects/999/households", as_="admin", json=body), 404, "not_found")
    # outside the project the body is never looked at: no hint of what exists
    assert_error(api.post(url, as_="outsider", json={"code": ""}), 404, "not_found")


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"code", "kind", "address", "head_name"}),
    ({"code": "H-9", "kind": "castle", "address": "a", "head_name": "b"}, {"kind"}),
    ({"code": 12, "kind": "shop", "address": ["a"], "head_name": {"x": 1}}, {"code", "address", "head_name"}),
    ({"code": "H 9/../", "kind": "shop", "address": "a", "head_name": "b"}, {"code"}),
    ({"code": "H-9", "kind": "shop", "address": "a" * 100_000, "head_name": "b" * 65}, {"address", "head_name"}),
    ({"code": "H-9", "kind": "shop", "address": "a", "head_name": "b", "owner_id": 1}, {"owner_id"}),
    ({"code": "H-9", "kind": "shop", "address": "a", "head_name": "b", "work_group_id": 2**40}, {"work_group_id"}),
    ({"code": "H-9", "kind": "shop", "address": "a", "head_name": "b", "work_group_id": "1"}, {"work_group_id"}),
    ({"code": "H-9", "kind": "shop", "address": "a", "head_name": "b", "land_nature": "moon"}, {"land_nature"}),
])
def test_an_invalid_household_is_422_naming_its_fields(world, api, body, fields):
    response = api.post(f"/api/v1/projects/{world.project.id}/households", as_="surveyor", json=body)
    assert_error(response, 422, "invalid_input", fields)


def test_a_household_code_is_unique_in_its_project(world, api):
    start_case(api, world.project.id, "H-001")
    response = api.post(f"/api/v1/projects/{world.project.id}/households", as_="surveyor",
                        json={"code": "H-001", "kind": "shop", "address": "a", "head_name": "b"})
    assert_error(response, 422, "invalid_input", {"code"})
    # another project may use the same code
    assert start_case(api, world.other_project.id, "H-001", as_="outsider")


def test_a_household_with_its_modules(world, api):
    instance_id, task = survey_task(api, world)
    api.complete(instance_id, "survey")
    household_id = task["household_id"]
    response = api.get(f"/api/v1/households/{household_id}", as_="appraiser")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == household_id and body["code"] == "H-001"
    survey = body["modules"]["survey"]
    assert set(survey) == {"module", "data", "version", "updated_at", "updated_by"}
    assert survey["data"]["buildings"][0]["measured_area"] == "168.50" and survey["version"] == 1
    assert survey["updated_by"] == "surveyor"
    assert [t["bpmn_id"] for t in body["current_tasks"]] == ["appraisal"]
    assert body["instance"]["id"] == instance_id
    assert_error(api.get(f"/api/v1/households/{household_id}", as_="outsider"), 404, "not_found")
    assert_error(api.get("/api/v1/households/999", as_="admin"), 404, "not_found")


# --- the inbox ----------------------------------------------------------------------------------------------------

def test_the_inbox_lists_open_steps_of_the_callers_roles_and_projects(world, api):
    instance_id, task = survey_task(api, world)
    start_case(api, world.other_project.id, "B-001", as_="outsider")
    response = api.get("/api/v1/tasks", as_="surveyor")
    assert response.status_code == 200
    page = response.get_json()
    assert set(page) == TASK_PAGE_KEYS
    assert page["total"] == 1 and page["page"] == 1 and page["per_page"] == 50
    item = page["items"][0]
    assert_task(item)
    assert item == task
    assert item["bpmn_id"] == "survey" and item["name"] == "调查建档" and item["role"] == "surveyor"
    assert item["instance_id"] == instance_id and item["household_code"] == "H-001"
    assert item["project_id"] == world.project.id and item["status"] == "ready" and item["assignee"] is None
    assert item["due_at"].endswith("Z") and item["returned"] is False and item["return_reason"] is None
    # other roles do not see it; the outsider sees only their own project's step
    assert api.get("/api/v1/tasks", as_="accountant").get_json()["items"] == []
    assert [t["household_code"] for t in api.get("/api/v1/tasks", as_="outsider").get_json()["items"]] == ["B-001"]


def test_the_inbox_filters_and_pages(world, api):
    _, task = survey_task(api, world, "H-001")
    second, _ = survey_task(api, world, "H-002")
    third, _ = survey_task(api, world, "H-003")
    api.post(f"/api/v1/tasks/{task['id']}/claim", as_="surveyor")
    db.session.execute(update(HumanTask).where(HumanTask.instance_id == second).values(due_at=utcnow() - timedelta(1)))
    db.session.commit()

    def codes(query: str, as_: str = "surveyor") -> list[str]:
        response = api.get(f"/api/v1/tasks?{query}", as_=as_)
        assert response.status_code == 200, response.get_json()
        return sorted(t["household_code"] for t in response.get_json()["items"])

    assert codes("") == ["H-001", "H-002", "H-003"]
    assert codes(f"instance_id={third}") == ["H-003"]
    assert codes("assigned=me") == ["H-001"]
    assert codes("assigned=unassigned") == ["H-002", "H-003"]
    assert codes("overdue=true") == ["H-002"]
    assert codes("overdue=false") == ["H-001", "H-003"]
    assert codes("returned=true") == []
    assert codes("returned=false") == ["H-001", "H-002", "H-003"]
    assert codes("role=surveyor") == ["H-001", "H-002", "H-003"]
    assert codes("role=accountant") == []
    assert codes(f"project_id={world.project.id}") == ["H-001", "H-002", "H-003"]
    assert codes(f"project_id={world.other_project.id}") == []
    assert codes("project_id=999") == []
    # the most urgent first, then pages of per_page
    page = api.get("/api/v1/tasks?per_page=2", as_="surveyor").get_json()
    assert page["total"] == 3 and page["per_page"] == 2 and [t["household_code"] for t in page["items"]][0] == "H-002"
    rest = api.get("/api/v1/tasks?per_page=2&page=2", as_="surveyor").get_json()
    assert rest["page"] == 2 and len(rest["items"]) == 1 and rest["total"] == 3
    assert api.get("/api/v1/tasks?page=9", as_="surveyor").get_json()["items"] == []


def test_a_step_with_its_form_data_and_return_targets(world, api):
    instance_id, task = survey_task(api, world)
    response = api.get(f"/api/v1/tasks/{task['id']}", as_="surveyor")
    assert response.status_code == 200
    detail = response.get_json()
    assert set(detail) == TASK_DETAIL_KEYS
    assert {k: detail[k] for k in task} == task
    form = detail["form"]
    assert form["type"] == "object"
    assert {"head_name", "land_nature", "persons", "buildings", "ancillary"} <= set(form["properties"])
    assert {"head_name", "persons", "buildings"} <= set(form["required"])
    building = form["properties"]["buildings"]["items"]
    assert {"measured_area", "structure", "legal_status"} <= set(building["properties"])
    assert detail["data"] == {"head_name": "李秀英", "address": "北区三村2组8号",
                              "persons": [{"name": "李秀英", "relation": "head", "hukou_here": True}]}
    assert detail["return_targets"] == []
    for step in MAIN_PATH[:4]:
        api.complete(instance_id, step)
    audit = api.open_task(instance_id, "calc_audit", "calc_auditor")
    detail = api.get(f"/api/v1/tasks/{audit['id']}", as_="calc_auditor").get_json()
    assert detail["return_targets"] == [{"bpmn_id": "survey", "name": "调查建档"},
                                        {"bpmn_id": "appraisal", "name": "评估作业"},
                                        {"bpmn_id": "rights", "name": "确权确户"},
                                        {"bpmn_id": "calculation", "name": "核算"}]
    # a completed step can still be read, by any member of the project, but returns nowhere
    done = api.get(f"/api/v1/tasks/{task['id']}", as_="finance").get_json()
    assert done["status"] == "completed" and done["assignee"] == "surveyor" and done["return_targets"] == []
    assert done["data"]["buildings"][0]["measured_area"] == "168.50"
    assert_error(api.get(f"/api/v1/tasks/{task['id']}", as_="outsider"), 404, "not_found")
    assert_error(api.get("/api/v1/tasks/999", as_="admin"), 404, "not_found")


def test_claim_and_release(world, api):
    _, task = survey_task(api, world)
    second_user(world, "surveyor2", "surveyor")
    url = f"/api/v1/tasks/{task['id']}"
    claimed = api.post(f"{url}/claim", as_="surveyor")
    assert claimed.status_code == 200
    assert_task(claimed.get_json())
    assert claimed.get_json()["assignee"] == "surveyor"
    assert api.post(f"{url}/claim", as_="surveyor").status_code == 200  # claiming one's own again is harmless
    assert_error(api.post(f"{url}/claim", as_="surveyor2"), 409, "claimed")
    assert_error(api.post(f"{url}/release", as_="surveyor2"), 409, "claimed")
    assert_error(api.post(f"{url}/complete", as_="surveyor2", json={"data": STEP_DATA["survey"]}), 409, "claimed")
    assert api.get("/api/v1/tasks?assigned=unassigned", as_="surveyor2").get_json()["items"] == []
    released = api.post(f"{url}/release", as_="surveyor")
    assert released.status_code == 200 and released.get_json()["assignee"] is None
    assert api.post(f"{url}/claim", as_="surveyor2").get_json()["assignee"] == "surveyor2"
    assert_error(api.post(f"{url}/claim", as_="accountant"), 403, "forbidden")
    assert_error(api.post(f"{url}/release", as_="accountant"), 403, "forbidden")
    assert_error(api.post(f"{url}/claim", as_="outsider"), 404, "not_found")
    assert_error(api.post(f"{url}/release", as_="outsider"), 404, "not_found")
    assert_error(api.post("/api/v1/tasks/999/claim", as_="surveyor"), 404, "not_found")
    assert_error(api.post("/api/v1/tasks/999/release", as_="surveyor"), 404, "not_found")


def test_a_finished_step_can_no_longer_be_claimed_released_completed_or_returned(world, api):
    instance_id, task = survey_task(api, world)
    api.complete(instance_id, "survey")
    url = f"/api/v1/tasks/{task['id']}"
    assert_error(api.post(f"{url}/claim", as_="surveyor"), 409, "task_not_ready")
    assert_error(api.post(f"{url}/release", as_="surveyor"), 409, "task_not_ready")
    assert_error(api.post(f"{url}/complete", as_="surveyor", json={"data": STEP_DATA["survey"]}), 409,
                 "task_not_ready")
    assert_error(api.post(f"{url}/return", as_="surveyor", json={"to": "survey", "reason": "x"}), 409,
                 "task_not_ready")


def test_completing_moves_the_case_on(world, api):
    instance_id, task = survey_task(api, world)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="surveyor", json={"data": STEP_DATA["survey"]})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"instance"}
    instance = body["instance"]
    assert_instance(instance)
    assert instance["id"] == instance_id and instance["definition"]["key"] == "relocation"
    assert [t["bpmn_id"] for t in instance["current_tasks"]] == ["appraisal"]
    assert [(h["action"], h["task"], h["actor"]) for h in instance["history"]][-2:] == [
        ("completed", "调查建档", "surveyor"), ("created", "评估作业", "surveyor")]
    assert all(h["at"].endswith("Z") for h in instance["history"])
    done = api.get(f"/api/v1/tasks/{task['id']}", as_="surveyor").get_json()
    assert done["status"] == "completed" and done["assignee"] == "surveyor"  # completing claims


def test_completing_checks_the_role_the_project_and_the_data(world, api):
    instance_id, task = survey_task(api, world)
    url = f"/api/v1/tasks/{task['id']}/complete"
    assert_error(api.post(url, as_="accountant", json={"data": STEP_DATA["survey"]}), 403, "forbidden")
    assert_error(api.post(url, as_="outsider", json={"data": STEP_DATA["survey"]}), 404, "not_found")
    assert_error(api.post("/api/v1/tasks/999/complete", as_="surveyor", json={"data": STEP_DATA["survey"]}), 404)
    error = assert_error(api.post(url, as_="surveyor", json={"data": {"head_name": "", "persons": []}}), 422,
                         "invalid_input", {"head_name", "persons", "buildings", "land_nature"})
    assert "address" in error["fields"]
    assert_error(api.post(url, as_="surveyor", json={"data": {**STEP_DATA["survey"], "persons": "many"}}),
                 422, fields={"persons"})
    assert_error(api.post(url, as_="surveyor", json={"data": {**STEP_DATA["survey"], "bribe": "100"}}),
                 422, fields={"bribe"})
    assert_error(api.post(url, as_="surveyor", json={"data": with_building(measured_area="-1")}),
                 422, fields={"buildings.0.measured_area"})
    assert_error(api.post(url, as_="surveyor", json={"data": with_building(floors=10**18)}),
                 422, fields={"buildings.0.floors"})
    assert_error(api.post(url, as_="surveyor", json={"data": {**STEP_DATA["survey"], "notes": "长" * 5000}}),
                 422, fields={"notes"})
    assert_error(api.post(url, as_="surveyor", json={}), 422, fields={"data"})
    assert_error(api.post(url, as_="surveyor", json={"data": None}), 422, fields={"data"})
    assert_error(api.post(url, as_="surveyor", json={"data": [STEP_DATA["survey"]]}), 422, fields={"data"})
    assert_error(api.post(url, as_="surveyor", json={"data": STEP_DATA["survey"], "comment": "x"}), 422,
                 fields={"comment"})
    # nothing moved
    assert api.open_task(instance_id, "survey", "surveyor")["id"] == task["id"]


def test_returning_checks_reason_and_target(world, api):
    instance_id, task = case_at(api, world.project.id, "H-001", "calc_audit")
    url = f"/api/v1/tasks/{task['id']}/return"
    assert_error(api.post(url, as_="calc_auditor", json={"to": "calculation", "reason": "  "}), 422,
                 "invalid_input", {"reason"})
    assert_error(api.post(url, as_="calc_auditor", json={"to": "calculation"}), 422, fields={"reason"})
    assert_error(api.post(url, as_="calc_auditor", json={"to": "payment", "reason": "x"}), 422, fields={"to"})
    assert_error(api.post(url, as_="calc_auditor", json={"to": "calc_audit", "reason": "x"}), 422, fields={"to"})
    assert_error(api.post(url, as_="calc_auditor", json={"reason": "x"}), 422, fields={"to"})
    assert_error(api.post(url, as_="calc_auditor", json={"to": ["calculation"], "reason": 5}), 422,
                 fields={"to", "reason"})
    assert_error(api.post(url, as_="calc_auditor", json={"to": "calculation", "reason": "x" * 2001}), 422,
                 fields={"reason"})
    assert_error(api.post(url, as_="calc_auditor", json={"to": "calculation", "reason": "x", "cc": "boss"}), 422,
                 fields={"cc"})
    assert_error(api.post(url, as_="accountant", json={"to": "calculation", "reason": "x"}), 403, "forbidden")
    assert_error(api.post(url, as_="outsider", json={"to": "calculation", "reason": "x"}), 404, "not_found")
    assert_error(api.post("/api/v1/tasks/999/return", as_="calc_auditor", json={"to": "calculation", "reason": "x"}),
                 404, "not_found")
    first = api.open_task(instance_id, "calc_audit", "calc_auditor")
    assert first["id"] == task["id"]
    response = api.post(url, as_="calc_auditor", json={"to": "calculation", "reason": "装修单价有误"})
    assert response.status_code == 200
    instance = response.get_json()["instance"]
    assert_instance(instance)
    assert [(t["bpmn_id"], t["returned"], t["return_reason"]) for t in instance["current_tasks"]] == [
        ("calculation", True, "装修单价有误")]
    returned = [h for h in instance["history"] if h["action"] == "returned"]
    assert returned[0]["detail"] == {"to": "calculation", "to_name": "核算", "reason": "装修单价有误"}
    assert_error(api.post(url, as_="calc_auditor", json={"to": "calculation", "reason": "again"}), 409,
                 "task_not_ready")


def test_a_step_without_return_targets_cannot_return(world, api):
    _, task = survey_task(api, world)
    assert_error(api.post(f"/api/v1/tasks/{task['id']}/return", as_="surveyor", json={"to": "survey", "reason": "x"}),
                 422, "invalid_input", {"to"})


def test_the_agreement_draft_returns_to_the_calculation(world, api):
    instance_id, task = case_at(api, world.project.id, "H-001", "agreement_draft")
    response = api.post(f"/api/v1/tasks/{task['id']}/return", as_="handler",
                        json={"to": "calculation", "reason": "补偿总额与核算表不符"})
    assert response.status_code == 200, response.get_json()
    instance = api.get(f"/api/v1/instances/{instance_id}", as_="handler").get_json()
    assert [(t["bpmn_id"], t["returned"]) for t in instance["current_tasks"]] == [("calculation", True)]
    household = api.get(f"/api/v1/households/{task['household_id']}", as_="handler").get_json()
    assert "agreement" not in household["modules"]  # a return completes nothing with the step's data


def test_a_step_claimed_by_another_cannot_be_returned(world, api):
    instance_id, task = case_at(api, world.project.id, "H-001", "calc_audit")
    second_user(world, "auditor2", "calc_auditor")
    api.post(f"/api/v1/tasks/{task['id']}/claim", as_="calc_auditor")
    assert_error(api.post(f"/api/v1/tasks/{task['id']}/return", as_="auditor2",
                          json={"to": "calculation", "reason": "x"}), 409, "claimed")
    instance = api.get(f"/api/v1/instances/{instance_id}", as_="calc_auditor").get_json()
    assert [(t["bpmn_id"], t["assignee"]) for t in instance["current_tasks"]] == [("calc_audit", "calc_auditor")]


# --- instances ----------------------------------------------------------------------------------------------------

def test_an_instance_with_its_open_steps_and_history(world, api):
    instance_id, _ = survey_task(api, world)
    api.complete(instance_id, "survey")
    response = api.get(f"/api/v1/instances/{instance_id}", as_="process_owner")
    assert response.status_code == 200
    instance = response.get_json()
    assert_instance(instance)
    assert instance["status"] == "running" and instance["definition"] == {"key": "relocation", "version": 1}
    assert [h["action"] for h in instance["history"]] == ["started", "created", "completed", "created"]
    assert all(set(h) == HISTORY_KEYS for h in instance["history"])
    assert api.get(f"/api/v1/instances/{instance_id}", as_="supervisor").status_code == 200
    assert_error(api.get(f"/api/v1/instances/{instance_id}", as_="outsider"), 404, "not_found")
    assert_error(api.get("/api/v1/instances/999", as_="admin"), 404, "not_found")


def test_the_instance_list_filters(world, api):
    stuck, _ = survey_task(api, world, "H-001")
    fresh, _ = survey_task(api, world, "H-002")
    other = start_case(api, world.other_project.id, "B-001", as_="outsider")
    db.session.execute(update(ProcessInstance.__table__).where(ProcessInstance.__table__.c.id == stuck)
                       .values(last_progress_at=utcnow() - timedelta(days=10)))
    db.session.commit()

    def ids(query: str, as_: str = "surveyor") -> list[int]:
        response = api.get(f"/api/v1/instances?{query}", as_=as_)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "total"} and body["total"] >= len(body["items"])
        for item in body["items"]:
            assert_instance(item)
        return sorted(i["id"] for i in body["items"])

    assert ids("") == [stuck, fresh]
    assert ids("", as_="outsider") == [other]
    assert ids("", as_="supervisor") == [stuck, fresh, other]
    assert ids("status=running") == [stuck, fresh]
    assert ids("status=completed") == []
    assert ids("stuck_days=5") == [stuck]
    assert ids("stuck_days=0") == [stuck, fresh]
    assert ids(f"project_id={world.other_project.id}", as_="admin") == [other]
    assert ids(f"project_id={world.other_project.id}") == []
    assert ids("per_page=1&page=2", as_="supervisor") == [fresh]
    assert api.get("/api/v1/instances?per_page=1", as_="supervisor").get_json()["total"] == 3


# --- notifications ------------------------------------------------------------------------------------------------

def test_notifications_list_and_read(world, api):
    instance_id, task = case_at(api, world.project.id, "H-001", "calc_audit")
    api.post(f"/api/v1/tasks/{task['id']}/return", as_="calc_auditor", json={"to": "calculation", "reason": "重算"})
    response = api.get("/api/v1/notifications?unread=true", as_="accountant")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items"} and len(body["items"]) == 1
    note = body["items"][0]
    assert set(note) == NOTIFICATION_KEYS
    assert note["kind"] == "returned" and note["instance_id"] == instance_id and note["read"] is False
    assert "重算" in note["message"] and note["created_at"].endswith("Z")
    assert_error(api.post(f"/api/v1/notifications/{note['id']}/read", as_="calc_auditor"), 404, "not_found")
    assert_error(api.post("/api/v1/notifications/999/read", as_="accountant"), 404, "not_found")
    read = api.post(f"/api/v1/notifications/{note['id']}/read", as_="accountant")
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert api.post(f"/api/v1/notifications/{note['id']}/read", as_="accountant").status_code == 200
    assert api.get("/api/v1/notifications?unread=true", as_="accountant").get_json() == {"items": []}
    assert [n["read"] for n in api.get("/api/v1/notifications", as_="accountant").get_json()["items"]] == [True]
    assert api.get("/api/v1/notifications?unread=false", as_="accountant").get_json()["items"][0]["id"] == note["id"]


# --- whole cases, through the API alone ---------------------------------------------------------------------------

def test_a_case_from_survey_to_archive_with_a_signer_returning_it_to_calculation(world, api):
    instance_id = start_case(api, world.project.id, "H-100")
    for step in MAIN_PATH[:7]:
        instance = api.complete(instance_id, step)
    assert sorted(t["bpmn_id"] for t in instance["current_tasks"]) == sorted(SIGNS)
    signing = api.get("/api/v1/notifications?unread=true", as_="group_leader").get_json()["items"]
    assert [n["kind"] for n in signing] == ["sign"]
    api.complete(instance_id, "sign_handler")
    reviewer_step = api.open_task(instance_id, "sign_reviewer", "reviewer")
    targets = api.get(f"/api/v1/tasks/{reviewer_step['id']}", as_="reviewer").get_json()["return_targets"]
    assert "calculation" in [t["bpmn_id"] for t in targets]
    response = api.post(f"/api/v1/tasks/{reviewer_step['id']}/return", as_="reviewer",
                        json={"to": "calculation", "reason": "临时安置费月数算错"})
    assert response.status_code == 200
    instance = response.get_json()["instance"]
    assert [t["bpmn_id"] for t in instance["current_tasks"]] == ["calculation"]
    assert {h["task"] for h in instance["history"] if h["action"] == "cancelled"} == {"工作组负责人签字", "村干部签字"}
    # the accountant finds it in the inbox, marked returned with the reason, and got a reminder
    inbox = api.get("/api/v1/tasks?returned=true", as_="accountant").get_json()
    assert inbox["total"] == 1
    returned = inbox["items"][0]
    assert_task(returned)
    assert returned["bpmn_id"] == "calculation" and returned["returned"] is True
    assert returned["return_reason"] == "临时安置费月数算错" and returned["assignee"] == "accountant"
    notes = api.get("/api/v1/notifications?unread=true", as_="accountant").get_json()["items"]
    assert [(n["kind"], n["task_id"], n["instance_id"]) for n in notes] == [("returned", returned["id"], instance_id)]
    assert "临时安置费月数算错" in notes[0]["message"]
    # after rework the case flows through every later step again, all four signatures included
    for step in ("calculation", "calc_audit", "policy_review", "agreement_draft", *SIGNS, "payment", "archive"):
        instance = api.complete(instance_id, step)
    assert instance["status"] == "completed" and instance["current_tasks"] == []
    final = api.get(f"/api/v1/instances/{instance_id}", as_="archivist").get_json()
    assert_instance(final)
    assert final["status"] == "completed" and final["history"][-1]["action"] == "closed"
    assert [h["detail"]["reason"] for h in final["history"] if h["action"] == "returned"] == ["临时安置费月数算错"]
    assert sum(1 for h in final["history"] if h["action"] == "completed" and h["task"] == "核算") == 2
    assert [i["id"] for i in api.get("/api/v1/instances?status=completed", as_="archivist").get_json()["items"]] == [
        instance_id]
    household = api.get(f"/api/v1/households/{final['household_id']}", as_="archivist").get_json()
    assert set(household["modules"]["agreement"]["data"]["signatures"]) == {
        "handler", "group_leader", "village_cadre", "reviewer"}
    assert api.get("/api/v1/tasks", as_="archivist").get_json()["total"] == 0


def test_a_hard_case_goes_to_the_collective_decision(world, api):
    instance_id = start_case(api, world.project.id, "H-200")
    for step in MAIN_PATH[:5]:
        api.complete(instance_id, step)
    instance = api.complete(instance_id, "policy_review", data=MEETING)
    assert [(t["bpmn_id"], t["role"]) for t in instance["current_tasks"]] == [("collective_decision", "supervisor")]
    decision = api.open_task(instance_id, "collective_decision", "supervisor")
    detail = api.get(f"/api/v1/tasks/{decision['id']}", as_="supervisor").get_json()
    assert {"meeting_date", "minutes"} <= set(detail["form"]["required"])
    assert_error(api.post(f"/api/v1/tasks/{decision['id']}/complete", as_="policy_reviewer",
                          json={"data": STEP_DATA["collective_decision"]}), 403)
    instance = api.complete(instance_id, "collective_decision")
    assert [t["bpmn_id"] for t in instance["current_tasks"]] == ["agreement_draft"]
    for step in ("agreement_draft", *SIGNS, "payment", "archive"):
        instance = api.complete(instance_id, step)
    assert instance["status"] == "completed"
    assert ("completed", "集体决策上会", "supervisor") in [(h["action"], h["task"], h["actor"])
                                                           for h in instance["history"]]
    household = api.get(f"/api/v1/households/{instance['household_id']}", as_="supervisor").get_json()
    assert household["modules"]["decision"]["data"]["minutes"] == "经集体研究，同意按政策补偿"


@pytest.mark.parametrize(("unit_price", "audited"), [("40000.00", True), ("4200.00", False)])
def test_large_agreements_go_through_tracking_audit(world, api, unit_price, audited):
    instance_id = start_case(api, world.project.id, "H-300")
    api.complete(instance_id, "survey")
    api.complete(instance_id, "appraisal", data=partial(factories.step_data, "appraisal", unit_price=unit_price))
    for step in MAIN_PATH[2:7]:
        api.complete(instance_id, step)
    for step in SIGNS:
        instance = api.complete(instance_id, step)
    expected = ("tracking_audit", "reviewer") if audited else ("payment", "finance")
    assert [(t["bpmn_id"], t["role"]) for t in instance["current_tasks"]] == [expected]
    if audited:
        instance = api.complete(instance_id, "tracking_audit")
        assert [t["bpmn_id"] for t in instance["current_tasks"]] == ["payment"]
    api.complete(instance_id, "payment")
    instance = api.complete(instance_id, "archive")
    assert instance["status"] == "completed"
    assert any(h["task"] == "跟踪审计" for h in instance["history"]) is audited


@pytest.mark.parametrize(("total", "band"), [("5000000.00", "large"), ("8000000.00", "large"),
                                             ("4999999.99", "normal"), ("-5200000.00", "large"), ("0.00", "normal")])
def test_the_agreement_total_against_the_policy_threshold_picks_the_path(world, total, band):
    context = {"project_id": world.project.id, "now": utcnow()}
    assert agreement_gateway_data({"total": total}, context) == {"amount_band": band}


# --- malformed requests: always a clean 4xx in the error shape ----------------------------------------------------

def _raw(api, url: str, as_: str, data: bytes | str, content_type: str = "application/json"):
    return api.post(url, as_=as_, data=data, content_type=content_type)


BAD_BODIES = [
    pytest.param(b"", "application/json", {"body"}, id="empty"),
    pytest.param(b"not json", "application/json", {"body"}, id="not-json"),
    pytest.param(b"{\"data\": ", "application/json", {"body"}, id="truncated"),
    pytest.param(b"\xff\xfe\x00{", "application/json", {"body"}, id="not-utf8"),
    pytest.param(b"data=1", "application/x-www-form-urlencoded", {"body"}, id="form-encoded"),
    pytest.param(b"[1, 2]", "application/json", {"body"}, id="array"),
    pytest.param(b"\"text\"", "application/json", {"body"}, id="string"),
    pytest.param(b"42", "application/json", {"body"}, id="number"),
    pytest.param(b"null", "application/json", {"body"}, id="null"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", {"body"}, id="nested-100000"),
    pytest.param(b"{\"x\": " + b"[" * 100 + b"]" * 100 + b"}", "application/json", None, id="nested-100"),
    pytest.param(b"{\"x\": NaN}", "application/json", {"x"}, id="nan"),
    pytest.param(b"{\"x\": -Infinity}", "application/json", {"x"}, id="infinity"),
    pytest.param(b"{\"x\": 1e999}", "application/json", {"x"}, id="float-overflow"),
    pytest.param(b"{\"x\": " + b"9" * 40 + b"}", "application/json", {"x"}, id="huge-int"),
    pytest.param(b"{\"x\": " + b"9" * 5000 + b"}", "application/json", {"body"}, id="int-beyond-parser"),
    pytest.param(b"{\"x\": \"a\\u0000b\"}", "application/json", {"x"}, id="nul"),
    pytest.param(b"{\"x\": \"\\ud800\"}", "application/json", {"x"}, id="lone-surrogate"),
    pytest.param(b"{\"\\udfff\": 1}", "application/json", None, id="surrogate-key"),
    pytest.param(b"{\"a\\u0000\": 1}", "application/json", None, id="nul-key"),
]
BODY_ROUTES = [
    pytest.param("token", id="token"),
    pytest.param("households", id="households"),
    pytest.param("complete", id="complete"),
    pytest.param("return", id="return"),
]


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize(("data", "content_type", "fields"), BAD_BODIES)
def test_a_malformed_body_is_a_clean_422(world, api, route, data, content_type, fields):
    url, as_ = {"token": ("/api/v1/auth/token", None),
                "households": (f"/api/v1/projects/{world.project.id}/households", "surveyor"),
                "complete": ("/api/v1/tasks/1/complete", "surveyor"),
                "return": ("/api/v1/tasks/1/return", "calc_auditor")}[route]
    error = assert_error(_raw(api, url, as_, data, content_type), 422, "invalid_input")
    if fields is not None:
        assert fields <= set(error["fields"]), error
    response = api.get("/api/v1/me", as_="surveyor")  # the application still answers
    assert response.status_code == 200


@pytest.mark.parametrize(("field", "value"), [
    ("head_name", 1), ("persons", "four"), ("buildings.0.floors", 4.5), ("buildings.0.floors", True),
    ("buildings.0.floors", 2**70), ("buildings.0.measured_area", "1e999999"), ("buildings.0.measured_area", "NaN"),
    ("buildings.0.measured_area", [1]), ("buildings.0.structure", "marble"), ("phone", "call me"),
    ("notes", "x" * 1_000_000), ("homestead_area", {"a": 1}), ("persons.0.id_number", "110105196503121310"),
    ("persons.1.relation", "head"), ("ancillary.0.count", -1),
])
def test_wrong_types_in_form_data_are_422_naming_the_field(world, api, field, value):
    _, task = survey_task(api, world)
    data = copy.deepcopy(STEP_DATA["survey"])
    *path, last = field.split(".")
    target = data
    for part in path:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="surveyor", json={"data": data})
    error = assert_error(response, 422, "invalid_input")
    # a problem of the whole list (two heads) is named on the list
    assert field in error["fields"] or (field == "persons.1.relation" and "persons" in error["fields"]), error


@pytest.mark.parametrize("task_id", ["0", "99999999999", "9" * 40, "0000000000000000000001", "2147483648"])
def test_ids_out_of_range_are_unknown(world, api, task_id):
    for method, template, body in ID_ROUTES:
        response = api.call(method, template.format(task_id), as_="admin", json=body)
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/tasks/-1", "/api/v1/tasks/abc", "/api/v1/tasks/1.5",
                                  "/api/v1/households/%00", "/api/v1/nowhere"])
def test_paths_that_name_nothing_are_404(world, api, path):
    assert_error(api.get(path, as_="admin"), 404, "not_found")


def test_a_nul_in_any_path_segment_names_nothing(app, world, api):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or not any(c != "id" for c in _converters(rule.rule)):
            continue
        url = "/".join("1" if p.startswith("<id:") else "a%00b" if p.startswith("<") else p
                       for p in rule.rule.split("/"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            assert_error(api.call(method, url, as_="admin", json={}), 404, "not_found")
            checked += 1
    assert checked


def _converters(rule: str) -> list[str]:
    return [p[1:-1].rpartition(":")[0] or "default" for p in rule.split("/") if p.startswith("<")]


def test_a_method_the_route_does_not_have_is_405(world, api):
    assert_error(api.call("DELETE", "/api/v1/tasks/1", as_="admin"), 405, "method_not_allowed")
    assert_error(api.get("/api/v1/tasks/1/complete", as_="admin"), 405, "method_not_allowed")


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/tasks?page=0", "page"),
    ("/api/v1/tasks?page=-3", "page"),
    ("/api/v1/tasks?page=abc", "page"),
    ("/api/v1/tasks?page=99999999999999999999999", "page"),
    ("/api/v1/tasks?per_page=100000", "per_page"),
    ("/api/v1/tasks?per_page=0", "per_page"),
    ("/api/v1/tasks?per_page=1.5", "per_page"),
    ("/api/v1/tasks?overdue=maybe", "overdue"),
    ("/api/v1/tasks?returned=perhaps", "returned"),
    ("/api/v1/tasks?project_id=abc", "project_id"),
    ("/api/v1/tasks?project_id=", "project_id"),
    ("/api/v1/tasks?project_id=0", "project_id"),
    ("/api/v1/tasks?instance_id=99999999999", "instance_id"),
    ("/api/v1/tasks?assigned=them", "assigned"),
    ("/api/v1/tasks?role=" + "r" * 100, "role"),
    ("/api/v1/tasks?role=%00", "role"),
    ("/api/v1/instances?status=lost", "status"),
    ("/api/v1/instances?stuck_days=-1", "stuck_days"),
    ("/api/v1/instances?stuck_days=forever", "stuck_days"),
    ("/api/v1/instances?project_id=1e3", "project_id"),
    ("/api/v1/instances?page=0", "page"),
    ("/api/v1/instances?per_page=100000", "per_page"),
    ("/api/v1/notifications?unread=sometimes", "unread"),
    ("/api/v1/notifications?limit=0", "limit"),
])
def test_bad_query_arguments_are_422_naming_them(world, api, url, field):
    assert_error(api.get(url, as_="surveyor"), 422, "invalid_input", {field})


def test_unknown_query_arguments_are_ignored(world, api):
    response = api.get("/api/v1/tasks?colour=blue&page=1", as_="surveyor")
    assert response.status_code == 200 and set(response.get_json()) == TASK_PAGE_KEYS


def test_a_very_long_token_is_401(world, api):
    response = api.client.get("/api/v1/me", headers={"Authorization": "Bearer " + "t" * 100_000})
    assert_error(response, 401, "unauthorized")


def with_building(**changes) -> dict:
    """The standard survey with the first building changed."""
    data = copy.deepcopy(STEP_DATA["survey"])
    data["buildings"][0].update(changes)
    return data
