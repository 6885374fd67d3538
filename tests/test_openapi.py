"""The OpenAPI document: valid OpenAPI 3, every route of the API with its methods, every status it answers with."""
from __future__ import annotations

from collections import defaultdict

import pytest
from openapi_spec_validator import validate
from werkzeug.exceptions import MethodNotAllowed, NotFound

from app.api.docs import build_spec
from tests.api_support import (
    HISTORY_KEYS,
    INSTANCE_KEYS,
    TASK_DETAIL_KEYS,
    TASK_KEYS,
    TASK_PAGE_KEYS,
    case_at,
    fast_passwords,  # noqa: F401
)
from tests.factories import STEP_DATA

pytestmark = pytest.mark.usefixtures("fast_passwords")

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
# the endpoints of this issue; the scenario below exercises each of them
OURS = {f"api.{name}" for name in (
    "issue_token", "me", "projects", "create_household", "get_household", "list_tasks", "get_task", "claim_task",
    "release_task", "complete_task", "return_task", "list_instances", "get_instance", "list_notifications",
    "read_notification", "openapi")} | {"main.healthz"}


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: <id:task_id> becomes {task_id}."""
    return "/".join("{" + part[1:-1].rpartition(":")[2] + "}" if part.startswith("<") else part
                    for part in rule.split("/"))


@pytest.fixture()
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_the_document_needs_no_token_and_is_what_the_app_builds(app, client, document):
    with app.test_request_context():
        assert document == build_spec(app)
    assert client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_every_api_route_is_listed_with_its_methods(app, document):
    expected: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") or rule.rule == "/healthz":
            expected[openapi_path(rule.rule)] |= {m.lower() for m in rule.methods or ()} - {"head", "options"}
    listed = {path: set(item) & HTTP_METHODS for path, item in document["paths"].items()}
    assert listed == dict(expected)


def test_every_operation_declares_its_success_its_errors_and_its_security(document):
    public = {("/api/v1/auth/token", "post"), ("/api/v1/openapi.json", "get"), ("/healthz", "get")}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (path, method)
            if (path, method) in public:
                assert operation["security"] == [], (path, method)
            else:
                assert operation["security"] == [{"bearer": []}], (path, method)
                assert "401" in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert "422" in responses, (path, method)
            for code, response in responses.items():
                if code[0] in "45":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"}, (path, method, code)


def test_the_documented_shapes_are_the_contracts(document):
    schemas = document["components"]["schemas"]
    assert set(schemas["Task"]["properties"]) == TASK_KEYS
    assert set(schemas["TaskDetail"]["properties"]) == TASK_DETAIL_KEYS
    assert set(schemas["TaskPage"]["properties"]) == TASK_PAGE_KEYS
    assert set(schemas["Instance"]["properties"]) == INSTANCE_KEYS
    assert set(schemas["HistoryEntry"]["properties"]) == HISTORY_KEYS
    assert set(schemas["InstancePage"]["properties"]) == {"items", "total"}
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "fields", "problems", "problem"}


class Observer:
    """Sends requests and notes, per route and method, the statuses that came back."""

    def __init__(self, app, api):
        self.api = api
        self.adapter = app.url_map.bind("localhost")
        self.seen: dict[tuple[str, str], set[int]] = defaultdict(set)

    def __call__(self, method: str, url: str, as_: str | None = None, **kwargs):
        response = self.api.call(method, url, as_, **kwargs)
        try:
            rule, _ = self.adapter.match(url.partition("?")[0], method=method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            return response
        self.seen[(openapi_path(rule.rule), method.lower())].add(response.status_code)
        return response


def test_every_status_the_api_answers_with_is_declared(app, world, api, document, monkeypatch):
    see = Observer(app, api)
    project = world.project.id
    body = {"code": "H-9", "kind": "shop", "address": "滨江路1号", "head_name": "周敏"}
    see("POST", "/api/v1/auth/token", json={"username": "surveyor", "password": "wrong"})
    see("POST", "/api/v1/auth/token", json={"username": 1})
    see("GET", "/api/v1/openapi.json")
    see("GET", "/healthz")
    monkeypatch.setattr("services.health.database_ok", lambda: False)
    see("GET", "/healthz")
    monkeypatch.undo()
    instance_id, task = case_at(api, project, "H-1", "calc_audit")
    household_id = task["household_id"]
    for url in ("/api/v1/me", "/api/v1/projects", "/api/v1/tasks", "/api/v1/instances", "/api/v1/notifications"):
        see("GET", url)
        see("GET", url, as_="calc_auditor")
    details = (f"/api/v1/tasks/{task['id']}", f"/api/v1/instances/{instance_id}", f"/api/v1/households/{household_id}")
    for url in details:
        see("GET", url)
        see("GET", url, as_="calc_auditor")
        see("GET", url, as_="outsider")
    for url in ("/api/v1/tasks?page=0", "/api/v1/instances?status=x", "/api/v1/notifications?unread=x"):
        see("GET", url, as_="surveyor")
    see("POST", f"/api/v1/projects/{project}/households", json=body)
    see("POST", f"/api/v1/projects/{project}/households", as_="accountant", json=body)
    see("POST", f"/api/v1/projects/{project}/households", as_="outsider", json=body)
    see("POST", f"/api/v1/projects/{project}/households", as_="surveyor", json={})
    see("POST", f"/api/v1/projects/{project}/households", as_="surveyor", json=body)
    url = f"/api/v1/tasks/{task['id']}"
    back = {"to": "calculation", "reason": "重算"}
    for action, payload in (("claim", None), ("release", None), ("complete", {"data": STEP_DATA["calc_audit"]}),
                            ("return", back)):
        see("POST", f"{url}/{action}", json=payload)
        see("POST", f"{url}/{action}", as_="accountant", json=payload)
        see("POST", f"{url}/{action}", as_="outsider", json=payload)
    see("POST", f"{url}/complete", as_="calc_auditor", json={"data": {"opinion": ""}})
    see("POST", f"{url}/return", as_="calc_auditor", json={"to": "payment", "reason": "x"})
    see("POST", f"{url}/claim", as_="calc_auditor")
    see("POST", f"{url}/release", as_="calc_auditor")
    see("POST", f"{url}/return", as_="calc_auditor", json=back)
    for action, payload in (("claim", None), ("release", None), ("complete", {"data": STEP_DATA["calc_audit"]}),
                            ("return", back)):
        see("POST", f"{url}/{action}", as_="calc_auditor", json=payload)
    calculation = api.open_task(instance_id, "calculation", "accountant")
    see("POST", f"/api/v1/tasks/{calculation['id']}/complete", as_="accountant",
        json={"data": STEP_DATA["calculation"]})
    note = api.get("/api/v1/notifications", as_="accountant").get_json()["items"][0]
    see("POST", f"/api/v1/notifications/{note['id']}/read")
    see("POST", f"/api/v1/notifications/{note['id']}/read", as_="calc_auditor")
    see("POST", f"/api/v1/notifications/{note['id']}/read", as_="accountant")

    missing = {}
    for (path, method), statuses in see.seen.items():
        declared = {int(code) for code in document["paths"][path][method]["responses"]}
        if statuses - declared:
            missing[(path, method)] = sorted(statuses - declared)
    assert missing == {}
    ours = {(openapi_path(r.rule), m.lower()) for r in app.url_map.iter_rules()
            if r.endpoint in OURS for m in r.methods - {"HEAD", "OPTIONS"}}
    assert ours <= set(see.seen), sorted(ours - set(see.seen))
    assert {s for (path, _), statuses in see.seen.items() for s in statuses} >= {200, 201, 401, 403, 404, 409, 422,
                                                                                  503}

