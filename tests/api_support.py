"""Helpers of the API tests: the contract's shapes, error checks and driving a case to a given step."""
from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from tests import factories
from tests.factories import ROLE_OF_STEP

CHEAP_HASH = partial(generate_password_hash, method="pbkdf2:sha256:1")
TASK_KEYS = {"id", "name", "bpmn_id", "role", "instance_id", "household_id", "household_code", "project_id",
             "status", "assignee", "created_at", "due_at", "returned", "return_reason"}
TASK_DETAIL_KEYS = TASK_KEYS | {"form", "data", "return_targets"}
INSTANCE_KEYS = {"id", "status", "definition", "household_id", "current_tasks", "history"}
HISTORY_KEYS = {"at", "actor", "action", "task", "detail"}
TASK_PAGE_KEYS = {"items", "total", "page", "per_page"}
NOTIFICATION_KEYS = {"id", "kind", "message", "task_id", "instance_id", "finding_id", "created_at", "read"}

SIGNS = ("sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer")
MAIN_PATH = ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
             *SIGNS, "payment", "archive")
STEPS = (*MAIN_PATH[:6], "collective_decision", *MAIN_PATH[6:11], "tracking_audit", *MAIN_PATH[11:])
MEETING = {"decision": "meeting", "opinion": "补偿标准有争议，提请集体决策"}
# an appraisal high enough that the agreement needs tracking audit (the policy's threshold is 5,000,000)
LARGE_APPRAISAL = partial(factories.step_data, "appraisal", unit_price="40000.00")
# the steps that may send a case back (their BPMN names returnTargets)
RETURNING = {"calc_audit", "policy_review", "collective_decision", "agreement_draft", *SIGNS, "tracking_audit",
             "archive"}


def assert_error(response: Any, status: int, code: str | None = None, fields: set[str] | None = None) -> dict:
    """The response is an error of the contract's shape with that status (and code, and named fields)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    keys = {"code", "message", "fields", "problems"} if status == 422 else {"code", "message"}
    assert keys <= set(error) <= keys | ({"problem"} if status != 422 else set()), error
    if "problem" in error:
        assert set(error["problem"]) == {"code", "params"} and error["problem"]["params"], error
    assert isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)
    if code is not None:
        assert error["code"] == code, error
    if status == 422:
        assert isinstance(error["fields"], dict) and error["fields"], error
        assert all(isinstance(v, list) and v and all(isinstance(m, str) for m in v)
                   for v in error["fields"].values()), error
        assert set(error["problems"]) == set(error["fields"]), error
    if fields is not None:
        assert fields <= set(error["fields"]), error
    return error


def assert_task(item: dict) -> None:
    """A Task object with exactly the contract's keys."""
    assert set(item) == TASK_KEYS, sorted(item)
    assert item["status"] in ("ready", "completed", "cancelled")
    assert item["created_at"].endswith("Z")
    assert isinstance(item["returned"], bool)


def assert_instance(instance: dict) -> None:
    """An Instance object with exactly the contract's keys, its tasks and history too."""
    assert set(instance) == INSTANCE_KEYS, sorted(instance)
    assert set(instance["definition"]) == {"key", "version"}
    for task in instance["current_tasks"]:
        assert_task(task)
    for entry in instance["history"]:
        assert set(entry) == HISTORY_KEYS, entry


def route_to(step: str) -> list[tuple[str, dict | None]]:
    """The steps to complete (with data, None for the standard data) until `step` is open."""
    if step == "collective_decision":
        return [(s, None) for s in MAIN_PATH[:5]] + [("policy_review", MEETING)]
    if step == "tracking_audit":
        return [("survey", None), ("appraisal", LARGE_APPRAISAL)] + [(s, None) for s in (*MAIN_PATH[2:7], *SIGNS)]
    if step in SIGNS:
        return [(s, None) for s in MAIN_PATH[:7]]
    return [(s, None) for s in MAIN_PATH[:MAIN_PATH.index(step)]]


def start_case(api: Any, project_id: int, code: str, kind: str = "collective_house", as_: str = "surveyor") -> int:
    """Create a household through the API; the id of its pipeline's instance."""
    response = api.post(f"/api/v1/projects/{project_id}/households", as_=as_,
                        json={"code": code, "kind": kind, "address": "北区三村2组8号", "head_name": "李秀英"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["instance_id"]


def case_at(api: Any, project_id: int, code: str, step: str) -> tuple[int, dict]:
    """A new case whose `step` is open: its instance id and that step as its role's inbox shows it."""
    instance_id = start_case(api, project_id, code)
    for bpmn_id, data in route_to(step):
        api.complete(instance_id, bpmn_id, data=data)
    return instance_id, api.open_task(instance_id, step, ROLE_OF_STEP[step])


@pytest.fixture()
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash the test users' passwords with one round: the suite builds many users, none needs real cost."""
    monkeypatch.setattr("services.identity.generate_password_hash", CHEAP_HASH)
