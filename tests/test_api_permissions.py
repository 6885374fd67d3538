"""Who may do what through the API: a role × endpoint table over every role code and a user of another project."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from app.extensions import db
from services.roles import ROLES
from tests import factories
from tests.api_support import CHEAP_HASH, RETURNING, SIGNS, STEPS, assert_error, case_at, start_case
from tests.conftest import Api, _clear
from tests.factories import ROLE_OF_STEP, STEP_DATA

ACTORS = [*ROLES, "outsider"]
OUTSIDER_ROLES = {"surveyor", "accountant", "calc_auditor"}  # held in the other project only
# cases parked at a step; the four signatures are open together in one case
PARKED = {step: "sign" if step in SIGNS else step for step in STEPS}


@dataclass
class Table:
    """One world for the whole table: a case waiting at every step, one in the other project."""

    api: Api
    project_id: int
    other_project_id: int
    tasks: dict[str, dict]
    other_task: dict


@pytest.fixture(scope="module")
def table(app: Flask) -> Iterator[Table]:
    """Built once: the checks that change nothing share it, the ones that move a case start their own."""
    _clear(app)
    api = Api(app.test_client())
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr("services.identity.generate_password_hash", CHEAP_HASH)
        world = factories.build_world()
        project_id, other_project_id = world.project.id, world.other_project.id
        db.session.remove()
    tasks: dict[str, dict] = {}
    for step in STEPS:
        if step in SIGNS and SIGNS[0] in tasks:
            instance_id = tasks[SIGNS[0]]["instance_id"]
            tasks[step] = api.open_task(instance_id, step, ROLE_OF_STEP[step])
        else:
            _, tasks[step] = case_at(api, project_id, f"P-{PARKED[step]}"[:32], step)
    other_instance = start_case(api, other_project_id, "B-001", as_="outsider")
    other_task = api.open_task(other_instance, "survey", "outsider")
    yield Table(api, project_id, other_project_id, tasks, other_task)
    _clear(app)


def roles_of(username: str) -> set[str]:
    """The role codes a user of the table holds."""
    return OUTSIDER_ROLES if username == "outsider" else {username}


def acting(step: str, username: str, action: str) -> int:
    """The status a user gets for an action on a step of the world's project."""
    if username == "outsider":
        return 404
    if username != ROLE_OF_STEP[step]:
        return 403
    if action == "return" and step not in RETURNING:
        return 422
    return 200


@pytest.mark.parametrize("username", ACTORS)
@pytest.mark.parametrize("project", ["own", "other"])
def test_creating_a_household(table, project, username):
    project_id = table.project_id if project == "own" else table.other_project_id
    member = (username != "outsider") if project == "own" else (username == "outsider")
    sees = member or username in ("supervisor", "admin")
    may = bool(roles_of(username) & {"surveyor", "admin"})
    expected = 201 if sees and may else 403 if sees else 404
    response = table.api.post(f"/api/v1/projects/{project_id}/households", as_=username,
                              json={"code": f"N-{project}-{username}"[:32], "kind": "shop", "address": "滨江路1号",
                                    "head_name": "周敏"})
    if expected == 201:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["household"]["project_id"] == project_id
    else:
        assert_error(response, expected, {403: "forbidden", 404: "not_found"}[expected])


@pytest.mark.parametrize("username", ACTORS)
@pytest.mark.parametrize("step", STEPS)
def test_claiming_a_step(table, step, username):
    task = table.tasks[step]
    url = f"/api/v1/tasks/{task['id']}"
    expected = acting(step, username, "claim")
    response = table.api.post(f"{url}/claim", as_=username)
    if expected != 200:
        assert_error(response, expected)
        assert_error(table.api.post(f"{url}/release", as_=username), expected)
        return
    assert response.status_code == 200 and response.get_json()["assignee"] == username
    released = table.api.post(f"{url}/release", as_=username)
    assert released.status_code == 200 and released.get_json()["assignee"] is None


@pytest.mark.parametrize("username", ACTORS)
@pytest.mark.parametrize("step", STEPS)
def test_completing_a_step(table, step, username):
    expected = acting(step, username, "complete")
    if expected != 200:
        response = table.api.post(f"/api/v1/tasks/{table.tasks[step]['id']}/complete", as_=username,
                                  json={"data": STEP_DATA.get(step, {})})
        assert_error(response, expected)
        return
    instance_id, task = case_at(table.api, table.project_id, f"C-{step}"[:32], step)
    data = table.api.prepare(task, username)
    response = table.api.post(f"/api/v1/tasks/{task['id']}/complete", as_=username, json={"data": data})
    assert response.status_code == 200, response.get_json()
    assert task["id"] not in [t["id"] for t in response.get_json()["instance"]["current_tasks"]]
    assert response.get_json()["instance"]["id"] == instance_id


@pytest.mark.parametrize("username", ACTORS)
@pytest.mark.parametrize("step", STEPS)
def test_returning_a_step(table, step, username):
    expected = acting(step, username, "return")
    body = {"to": "calculation", "reason": "面积与评估报告不一致"}
    if expected != 200:
        error = assert_error(table.api.post(f"/api/v1/tasks/{table.tasks[step]['id']}/return", as_=username,
                                            json=body), expected)
        if expected == 422:
            assert set(error["fields"]) == {"to"}
        return
    _, task = case_at(table.api, table.project_id, f"R-{step}"[:32], step)
    response = table.api.post(f"/api/v1/tasks/{task['id']}/return", as_=username, json=body)
    assert response.status_code == 200, response.get_json()
    current = response.get_json()["instance"]["current_tasks"]
    assert [(t["bpmn_id"], t["returned"]) for t in current] == [("calculation", True)]


READS = {
    "task": lambda t: f"/api/v1/tasks/{t['id']}",
    "instance": lambda t: f"/api/v1/instances/{t['instance_id']}",
    "household": lambda t: f"/api/v1/households/{t['household_id']}",
}


@pytest.mark.parametrize("username", ACTORS)
@pytest.mark.parametrize("project", ["own", "other"])
@pytest.mark.parametrize("resource", sorted(READS))
def test_reading_tasks_instances_and_households(table, resource, project, username):
    task = table.tasks["appraisal"] if project == "own" else table.other_task
    member = (username != "outsider") if project == "own" else (username == "outsider")
    sees = member or username in ("supervisor", "admin")
    response = table.api.get(READS[resource](task), as_=username)
    if sees:
        assert response.status_code == 200, response.get_json()
    else:
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("username", ACTORS)
def test_lists_hold_only_the_callers_projects(table, username):
    instances = table.api.get("/api/v1/instances?per_page=200", as_=username).get_json()["items"]
    projects = {t["project_id"] for i in instances for t in i["current_tasks"]}
    sees_all = username in ("supervisor", "admin")
    expected = ({table.project_id, table.other_project_id} if sees_all
                else {table.other_project_id} if username == "outsider" else {table.project_id})
    assert projects == expected
    inbox = table.api.get("/api/v1/tasks?per_page=200", as_=username).get_json()["items"]
    assert {t["role"] for t in inbox} <= roles_of(username)
    assert all(t["project_id"] == (table.other_project_id if username == "outsider" else table.project_id)
               for t in inbox)
