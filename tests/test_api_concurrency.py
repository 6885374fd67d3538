"""Many users completing one step at the same moment: one wins, the rest get a clean 409, the case moves once."""
from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, TaskEvent
from services import identity
from tests.api_support import assert_error, fast_passwords, start_case  # noqa: F401
from tests.factories import PASSWORD, STEP_DATA

pytestmark = pytest.mark.usefixtures("fast_passwords")

WORKERS = 20


def simultaneously(app: Flask, url: str, tokens: list[str], body: dict | None = None) -> list[tuple[int, dict]]:
    """POST to url once per token, each from its own thread and test client, all released together."""
    barrier = threading.Barrier(len(tokens))
    responses: list[tuple[int, dict]] = [(0, {})] * len(tokens)

    def post(index: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=60)
        response = client.post(url, json=body, headers={"Authorization": f"Bearer {tokens[index]}"})
        responses[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    return responses


def surveyors(world, count: int) -> list[str]:
    """More surveyors of the world's project."""
    usernames = [f"surveyor{i:02d}" for i in range(count)]
    for username in usernames:
        world.project.groups[0].members.append(identity.create_user(username, PASSWORD, username, ["surveyor"]))
    db.session.commit()
    return usernames


def test_twenty_simultaneous_completions_of_one_step_give_one_200_and_nineteen_409s(app, world, api):
    usernames = surveyors(world, WORKERS)
    instance_id = start_case(api, world.project.id, "H-001")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    tokens = [api.token(username) for username in usernames]
    responses = simultaneously(app, f"/api/v1/tasks/{task_id}/complete", tokens, {"data": STEP_DATA["survey"]})
    statuses = sorted(status for status, _ in responses)
    assert statuses == [200] + [409] * (WORKERS - 1), responses
    for status, body in responses:
        if status == 409:
            assert body == {"error": {"code": "task_not_ready", "message": body["error"]["message"]}}
    winner = next(usernames[i] for i, (status, _) in enumerate(responses) if status == 200)
    # the instance advanced exactly once
    db.session.expire_all()
    appraisals = db.session.scalar(select(func.count()).select_from(HumanTask)
                                   .where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == "appraisal"))
    assert appraisals == 1
    completions = db.session.scalars(select(TaskEvent).where(TaskEvent.instance_id == instance_id,
                                                             TaskEvent.action == "completed")).all()
    assert len(completions) == 1 and completions[0].actor.username == winner
    instance = api.get(f"/api/v1/instances/{instance_id}", as_="surveyor").get_json()
    assert [t["bpmn_id"] for t in instance["current_tasks"]] == ["appraisal"]
    household = api.get(f"/api/v1/households/{instance['household_id']}", as_="surveyor").get_json()
    assert household["modules"]["survey"]["version"] == 1
    assert_error(api.post(f"/api/v1/tasks/{task_id}/complete", as_="surveyor", json={"data": STEP_DATA["survey"]}),
                 409, "task_not_ready")


def test_twenty_simultaneous_claims_give_the_step_to_one(app, world, api):
    usernames = surveyors(world, WORKERS)
    instance_id = start_case(api, world.project.id, "H-001")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    responses = simultaneously(app, f"/api/v1/tasks/{task_id}/claim", [api.token(u) for u in usernames])
    assert sorted(status for status, _ in responses) == [200] + [409] * (WORKERS - 1), responses
    winner = next(usernames[i] for i, (status, _) in enumerate(responses) if status == 200)
    assert all(body["error"]["code"] == "claimed" for status, body in responses if status == 409)
    assert api.get(f"/api/v1/tasks/{task_id}", as_="surveyor").get_json()["assignee"] == winner
