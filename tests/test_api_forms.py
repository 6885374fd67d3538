"""Step forms as the API hands them out: valid JSON Schema 2020-12, and the data a step gives is taken back."""
from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.forms import FORMS, json_schema
from tests import factories
from tests.api_support import LARGE_APPRAISAL, MEETING, STEPS, fast_passwords, start_case  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

# the path through every step: a large appraisal (tracking audit) and a policy review that calls the meeting
DATA_ON_THE_WAY = {"appraisal": LARGE_APPRAISAL, "policy_review": lambda household_id: dict(MEETING)}


@pytest.mark.parametrize("key", sorted(FORMS))
def test_every_form_is_json_schema_2020_12(ctx, key: str) -> None:
    with ctx.test_request_context():
        schema = json_schema(FORMS[key])
    Draft202012Validator.check_schema(schema)


def test_money_inside_table_rows_is_a_decimal_string(ctx) -> None:
    with ctx.test_request_context():
        rows = json_schema(FORMS["appraisal"])["properties"]["buildings"]["items"]["properties"]
    price = rows["unit_price"]
    assert price["type"] == "string" and price["format"] == "decimal"
    assert "minimum" not in price and str(price["x-minimum"]) == "0.01"
    validator = Draft202012Validator(price)
    assert validator.is_valid("1234.50") and not validator.is_valid(1234.5) and not validator.is_valid("12.345")


def test_archive_rows_hand_out_read_only_facts(ctx) -> None:
    with ctx.test_request_context():
        row = json_schema(FORMS["archive"])["properties"]["checklist"]["items"]["properties"]
    assert row["required"]["readOnly"] is True and row["has_file"]["readOnly"] is True


def _problems(schema: dict[str, Any], data: dict[str, Any], *, complete: bool) -> list[str]:
    """What JSON Schema finds wrong with the data (a step still being filled may lack required fields)."""
    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(data)
            if complete or e.validator != "required"]


def _task(api, task_id: int, as_: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/tasks/{task_id}", as_=as_)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_every_step_takes_back_the_data_it_hands_out(world, api) -> None:
    instance_id = start_case(api, world.project.id, "H-FORMS")
    for step in STEPS:
        as_ = factories.ROLE_OF_STEP[step]
        task = api.open_task(instance_id, step, as_)
        valid = api.prepare(task, as_, DATA_ON_THE_WAY.get(step))
        detail = _task(api, task["id"], as_)
        Draft202012Validator.check_schema(detail["form"])
        assert _problems(detail["form"], detail["data"], complete=False) == [], step
        form = FORMS[task_form(detail)]
        if form.section is None:
            # a draft of exactly what was handed out is saved; then, with the step's data saved, what the step
            # hands out completes it as it is
            module = api.get(f"/api/v1/households/{task['household_id']}/modules/{form.module}", as_=as_).get_json()
            saved = api.put(f"/api/v1/households/{task['household_id']}/modules/{form.module}", as_=as_,
                            json={"data": detail["data"], "version": module["version"]})
            assert saved.status_code == 200, (step, saved.get_json())
            saved = api.put(f"/api/v1/households/{task['household_id']}/modules/{form.module}", as_=as_,
                            json={"data": valid, "version": saved.get_json()["version"]})
            assert saved.status_code == 200, (step, saved.get_json())
            data = _task(api, task["id"], as_)["data"]
            assert _problems(detail["form"], data, complete=True) == [], step
        else:
            data = {**detail["data"], **valid}  # a signer's section starts empty
        done = api.post(f"/api/v1/tasks/{task['id']}/complete", as_=as_, json={"data": data})
        assert done.status_code == 200, (step, done.get_json())
    instance = api.get(f"/api/v1/instances/{instance_id}", as_="supervisor").get_json()
    assert instance["status"] == "completed"


def task_form(detail: dict[str, Any]) -> str:
    """The key of the registered form a task's form is."""
    keys = [key for key, form in FORMS.items() if str(form.title) == detail["form"]["title"]]
    assert len(keys) == 1, keys
    return keys[0]


def test_saving_a_module_validates_the_body_the_document_names(world, api) -> None:
    from tests.api_support import assert_error

    instance_id = start_case(api, world.project.id, "H-BODY")
    task = api.open_task(instance_id, "survey", "surveyor")
    url = f"/api/v1/households/{task['household_id']}/modules/survey"
    assert_error(api.put(url, as_="surveyor", json={"data": {}}), 422, fields={"version"})
    assert_error(api.put(url, as_="outsider", json={}), 404)  # who may edit is checked before the body
    assert_error(api.put(url, as_="surveyor", json={"data": {}, "version": "0"}), 422, fields={"version"})
    assert_error(api.put(url, as_="surveyor", json={"data": [], "version": 0}), 422, fields={"data"})
    assert api.put(url, as_="surveyor", json={"data": {"notes": "先存草稿"}, "version": 0}).status_code == 200
