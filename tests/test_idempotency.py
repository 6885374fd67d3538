"""Idempotency-Key: a repeated call is answered with its first answer and done once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import IdempotencyKey, TaskEvent, utcnow
from services import idempotency
from tests.api_support import assert_error, fast_passwords, start_case  # noqa: F401
from tests.factories import STEP_DATA

pytestmark = pytest.mark.usefixtures("fast_passwords")


def events(instance_id: int, action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(TaskEvent.instance_id == instance_id,
                                                         TaskEvent.action == action))


def test_a_repeated_completion_answers_the_first_answer_and_completes_once(world, api):
    instance_id = start_case(api, world.project.id, "H-001")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    url, body = f"/api/v1/tasks/{task_id}/complete", {"data": STEP_DATA["survey"]}
    headers = {"Idempotency-Key": "complete-survey-1"}
    first = api.post(url, "surveyor", json=body, headers=dict(headers))
    assert first.status_code == 200, first.get_json()
    again = api.post(url, "surveyor", json=body, headers=dict(headers))
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert events(instance_id, "completed") == 1
    # without the key a repeat is what it always was: the step is no longer open
    assert_error(api.post(url, "surveyor", json=body), 409, "task_not_ready")
    # the same key with another body is refused
    other = api.post(url, "surveyor", json={"data": {**STEP_DATA["survey"], "address": "别处"}},
                     headers=dict(headers))
    assert_error(other, 422, "idempotency_key_reused", {"Idempotency-Key"})


def test_claim_release_and_module_save_take_a_key_too(world, api):
    instance_id = start_case(api, world.project.id, "H-002")
    task = api.open_task(instance_id, "survey", "surveyor")
    task_id = task["id"]
    for action in ("claim", "release"):
        answers = [api.post(f"/api/v1/tasks/{task_id}/{action}", "surveyor", headers={"Idempotency-Key": action})
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].get_json() == answers[1].get_json()
        assert events(instance_id, f"{action}ed" if action == "claim" else "released") == 1
    survey = api.get(f"/api/v1/households/{task['household_id']}/modules/survey", "surveyor").get_json()
    task = api.open_task(instance_id, "survey", "surveyor")
    url = f"/api/v1/households/{task['household_id']}/modules/survey"
    body = {"data": STEP_DATA["survey"], "version": survey["version"]}
    saves = [api.put(url, "surveyor", json=body, headers={"Idempotency-Key": "save-1"}) for _ in range(2)]
    assert [s.status_code for s in saves] == [200, 200], saves[1].get_json()
    assert saves[0].get_json() == saves[1].get_json()
    # without the key, the repeat names a version that is no longer current
    assert_error(api.put(url, "surveyor", json=body), 409)

def test_a_refused_call_is_not_kept_and_keys_belong_to_their_user(world, api):
    instance_id = start_case(api, world.project.id, "H-003")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    url = f"/api/v1/tasks/{task_id}/complete"
    refused = api.post(url, "surveyor", json={"data": {}}, headers={"Idempotency-Key": "k1"})
    assert refused.status_code == 422
    done = api.post(url, "surveyor", json={"data": STEP_DATA["survey"]}, headers={"Idempotency-Key": "k2"})
    assert done.status_code == 200
    # the same key from another user is that user's own
    appraiser = api.post(url, "appraiser", json={"data": STEP_DATA["survey"]}, headers={"Idempotency-Key": "k2"})
    assert appraiser.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_a_key_expires_after_a_day(world, api):
    instance_id = start_case(api, world.project.id, "H-004")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    url = f"/api/v1/tasks/{task_id}/claim"
    assert api.post(url, "surveyor", headers={"Idempotency-Key": "day"}).status_code == 200
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    again = api.post(url, "surveyor", headers={"Idempotency-Key": "day"})
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert events(instance_id, "claimed") == 2
    assert idempotency.purge(utcnow() + timedelta(days=2)) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "schlüssel", "a b"])
def test_a_malformed_key_is_refused(world, api, key):
    instance_id = start_case(api, world.project.id, "H-005")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    response = api.post(f"/api/v1/tasks/{task_id}/claim", "surveyor",
                        headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    assert_error(response, 422, "invalid_idempotency_key", {"Idempotency-Key"})


def test_the_same_completion_sent_twice_at_once_is_done_once_and_both_get_its_answer(app, world, api):
    instance_id = start_case(api, world.project.id, "H-006")
    task_id = api.open_task(instance_id, "survey", "surveyor")["id"]
    token = api.token("surveyor")
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def post(index: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": STEP_DATA["survey"]},
                               headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "twice"})
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a[0] for a in answers] == [200, 200], answers
    assert answers[0][1] == answers[1][1]
    assert events(instance_id, "completed") == 1


def test_the_openapi_document_names_the_header(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert any(p.get("name") == "Idempotency-Key" and p["in"] == "header" for p in complete["parameters"])
    listing = spec["paths"]["/api/v1/tasks"]["get"]
    assert not any(p.get("name") == "Idempotency-Key" for p in listing.get("parameters", []))
