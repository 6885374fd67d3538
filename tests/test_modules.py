"""The household's file through the API: who may edit which module when, sync, checks before approval."""
from __future__ import annotations

from io import BytesIO

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from services.roles import ROLES
from tests import factories
from tests.api_support import assert_error, case_at, fast_passwords, start_case  # noqa: F401
from tests.case_data import PNG

pytestmark = pytest.mark.usefixtures("fast_passwords")


def module(api, household_id: int, name: str, as_: str = "supervisor", **query) -> dict:
    response = api.get(f"/api/v1/households/{household_id}/modules/{name}", as_=as_, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def put(api, household_id: int, name: str, data: dict, version: int, as_: str):
    return api.put(f"/api/v1/households/{household_id}/modules/{name}", as_=as_,
                   json={"data": data, "version": version})


def upload(api, household_id: int, name: str, category: str, as_: str):
    return api.post(f"/api/v1/households/{household_id}/files", as_=as_, content_type="multipart/form-data",
                    data={"file": (BytesIO(PNG), f"{category}.png"), "module": name, "category": category})


@pytest.mark.parametrize("username", [*ROLES, "outsider"])
def test_only_the_modules_role_edits_it_and_only_while_its_step_is_open(world, api, username):
    instance_id, task = case_at(api, world.project.id, "M-1", "calculation")
    household_id = task["household_id"]
    calculation = module(api, household_id, "calculation")
    response = put(api, household_id, "calculation", {"option": "cash"}, calculation["version"], username)
    if username == "outsider":
        assert_error(response, 404)
    elif username == "accountant":
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["version"] == calculation["version"] + 1 and body["editable"] is True
        assert body["data"]["items"] and body["data"]["total"]
    else:
        assert_error(response, 403)
    # a module whose step is closed is read-only for everyone, its own role included
    survey = module(api, household_id, "survey")
    assert survey["editable"] is False
    if username != "outsider":
        assert_error(put(api, household_id, "survey", {"notes": "改"}, survey["version"], username), 403)


def test_a_stale_version_is_409_and_bad_data_422_and_nothing_changes(world, api):
    _, task = case_at(api, world.project.id, "M-2", "appraisal")
    household_id = task["household_id"]
    api.post(f"/api/v1/households/{household_id}/modules/appraisal/sync", as_="appraiser")
    current = module(api, household_id, "appraisal", as_="appraiser")
    assert current["editable"] is True
    assert_error(put(api, household_id, "appraisal", {"firm": "甲"}, current["version"] - 1, "appraiser"), 409,
                 "stale")
    assert_error(put(api, household_id, "appraisal", {"firm": "甲"}, "1", "appraiser"), 422, fields={"version"})
    assert_error(put(api, household_id, "appraisal", {"report_date": "yesterday"}, current["version"], "appraiser"),
                 422, fields={"report_date"})
    rows = [{**row, "unit_price": "-1"} for row in current["data"]["buildings"]]
    assert_error(put(api, household_id, "appraisal", {"buildings": rows}, current["version"], "appraiser"), 422,
                 fields={"buildings.0.unit_price"})
    one = [{**current["data"]["buildings"][0], "unit_price": "100.00"}]
    assert_error(put(api, household_id, "appraisal", {"buildings": one}, current["version"], "appraiser"),
                 422, fields={"buildings"})  # the rows must be the survey's buildings, each once
    assert module(api, household_id, "appraisal")["version"] == current["version"]
    good = put(api, household_id, "appraisal", {"firm": "甲评估"}, current["version"], "appraiser")
    assert good.status_code == 200 and good.get_json()["data"]["firm"] == "甲评估"


def test_sync_fills_one_row_per_building_and_the_calculation_from_its_sources(world, api):
    instance_id, task = case_at(api, world.project.id, "M-3", "appraisal")
    household_id = task["household_id"]
    survey = module(api, household_id, "survey")
    synced = api.post(f"/api/v1/households/{household_id}/modules/appraisal/sync", as_="appraiser").get_json()
    assert [r["building_id"] for r in synced["data"]["buildings"]] == [b["id"] for b in survey["data"]["buildings"]]
    assert synced["data"]["upstream"] == {"survey": survey["version"]}
    assert_error(api.post(f"/api/v1/households/{household_id}/modules/calculation/sync", as_="accountant"), 403)
    for step in ("appraisal", "rights"):
        api.complete(instance_id, step)
    calc = api.post(f"/api/v1/households/{household_id}/modules/calculation/sync", as_="accountant").get_json()
    items = {i["code"]: i for i in calc["data"]["items"]}
    assert items["building_value.1"]["amount"] == "672000.00"  # 160㎡ confirmed × 4,200 yuan
    assert sum(float(i["amount"]) for i in calc["data"]["items"]) == pytest.approx(float(calc["data"]["total"]))
    assert calc["data"]["upstream"] == {m: module(api, household_id, m)["version"]
                                        for m in ("survey", "appraisal", "rights")}


def test_full_id_numbers_only_for_roles_that_need_them_and_each_view_is_audited(world, api):
    _, task = case_at(api, world.project.id, "M-4", "appraisal")
    household_id = task["household_id"]
    masked = module(api, household_id, "survey", as_="appraiser")
    numbers = [p["id_number"] for p in masked["data"]["persons"]]
    assert all("*" in n for n in numbers)
    assert_error(api.get(f"/api/v1/households/{household_id}/modules/survey?reveal=1", as_="appraiser"), 403)
    full = module(api, household_id, "survey", as_="surveyor", reveal=1)
    assert [p["id_number"] for p in full["data"]["persons"]] == [p["id_number"]
                                                                 for p in factories.STEP_DATA["survey"]["persons"]]
    db.session.rollback()
    views = db.session.scalars(select(AuditLog).where(AuditLog.action == "person.id_number.view")).all()
    assert len(views) == len(numbers) and {v.household_id for v in views} == {household_id}


def test_an_audit_with_failed_checks_needs_a_written_reason(world, api):
    instance_id, task = case_at(api, world.project.id, "M-5", "calculation")
    data = {**factories.STEP_DATA["calculation"],
            "adjustments": [{"label": "困难补助", "amount": "20000.00", "reason": "村委会研究同意"}]}
    api.complete(instance_id, "calculation", data=data)
    audit = api.open_task(instance_id, "calc_audit", "calc_auditor")
    url = f"/api/v1/tasks/{audit['id']}/complete"
    error = assert_error(api.post(url, as_="calc_auditor", json={"data": {"opinion": "同意"}}), 422,
                         fields={"override_reason"})
    assert any("manual adjustments outside the policy table" in m for m in error["fields"]["override_reason"]), error
    ok = api.post(url, as_="calc_auditor", json={"data": {"opinion": "同意", "override_reason": "经集体研究"}})
    assert ok.status_code == 200, ok.get_json()
    checks = module(api, task["household_id"], "calc_audit")["data"]["checks"]
    assert {c["code"]: c["ok"] for c in checks}["adjustments"] is False
    adjustments = next(c for c in checks if c["code"] == "adjustments")
    assert adjustments["problem"] == "check.adjustments.fail" and adjustments["params"] == {"n": 1}


def test_the_agreement_needs_the_signed_scan_and_keeps_its_number_across_revisions(world, api):
    instance_id, task = case_at(api, world.project.id, "M-6", "agreement_draft")
    household_id = task["household_id"]
    url = f"/api/v1/tasks/{task['id']}/complete"
    assert_error(api.post(url, as_="handler", json={"data": factories.STEP_DATA["agreement_draft"]}), 422,
                 fields={"signed_scan"})
    assert upload(api, household_id, "agreement", "signed_agreement", "handler").status_code == 201
    assert api.post(url, as_="handler", json={"data": factories.STEP_DATA["agreement_draft"]}).status_code == 200
    first = module(api, household_id, "agreement")["data"]
    assert first["number"] == f"P1-{first['number'].split('-')[1]}-0001" and first["revision"] == 1
    assert first["total"] == module(api, household_id, "calculation")["data"]["total"]
    sign = api.open_task(instance_id, "sign_group_leader", "group_leader")
    response = api.post(f"/api/v1/tasks/{sign['id']}/return", as_="group_leader",
                        json={"to": "agreement_draft", "reason": "搬迁期限与公告不一致"})
    assert response.status_code == 200, response.get_json()
    api.complete(instance_id, "agreement_draft")
    again = module(api, household_id, "agreement")["data"]
    assert again["number"] == first["number"] and again["revision"] == 2
    other_instance, other = case_at(api, world.project.id, "M-7", "agreement_draft")
    api.complete(other_instance, "agreement_draft")
    assert module(api, other["household_id"], "agreement")["data"]["number"].endswith("-0002")


def test_payments_must_settle_the_agreement_and_the_archive_needs_a_complete_dossier(world, api):
    instance_id, task = case_at(api, world.project.id, "M-8", "payment")
    household_id = task["household_id"]
    total = module(api, household_id, "agreement")["data"]["total"]
    url = f"/api/v1/tasks/{task['id']}/complete"
    part = {"payments": [{"amount": "1000.00", "paid_on": "2026-11-20", "voucher_no": "FK1"}]}
    error = assert_error(api.post(url, as_="finance", json={"data": part}), 422, fields={"payments"})
    assert total.replace(",", "") in " ".join(error["fields"]["payments"])
    twice = {"payments": [{"amount": total, "paid_on": "2026-11-20", "voucher_no": "FK1"},
                          {"amount": "1.00", "paid_on": "2026-11-21", "voucher_no": "FK1"}]}
    assert_error(api.post(url, as_="finance", json={"data": twice}), 422, fields={"payments"})
    api.complete(instance_id, "payment")
    assert module(api, household_id, "payment")["data"]["paid_total"] == total

    archive = api.open_task(instance_id, "archive", "archivist")
    data = factories.step_data("archive", household_id)
    # an item counts when its scan is attached or the archivist ticks the paper original; vacating has neither
    data["checklist"] = [{**row, "present": row["code"] != "vacated"} for row in data["checklist"]]
    error = assert_error(api.post(f"/api/v1/tasks/{archive['id']}/complete", as_="archivist", json={"data": data}),
                         422, fields={"checklist"})
    assert any("腾空" in m or "Vacating" in m for m in error["fields"]["checklist"])
    instance = api.complete(instance_id, "archive")  # with the vacating acceptance's scan attached
    assert instance["status"] == "completed"


def test_a_return_to_the_survey_flags_the_modules_built_on_it(world, api):
    instance_id, task = case_at(api, world.project.id, "M-9", "calc_audit")
    household_id = task["household_id"]
    response = api.post(f"/api/v1/tasks/{task['id']}/return", as_="calc_auditor",
                        json={"to": "survey", "reason": "附房面积复测"})
    assert response.status_code == 200, response.get_json()
    survey = module(api, household_id, "survey", as_="surveyor")
    assert survey["editable"] is True
    buildings = survey["data"]["buildings"]
    buildings[1]["measured_area"] = "40.00"
    data = {**factories.STEP_DATA["survey"], "buildings": buildings,
            "persons": module(api, household_id, "survey", as_="surveyor", reveal=1)["data"]["persons"]}
    api.complete(instance_id, "survey", data=data)
    appraisal = module(api, household_id, "appraisal", as_="appraiser")
    assert appraisal["changed_upstream"] == [{"module": "survey", "synced_version": survey["version"],
                                              "current_version": survey["version"] + 1}]
    assert [r["building_id"] for r in appraisal["data"]["buildings"]] == [b["id"] for b in buildings]


MODULE_STEP = {"survey": "survey", "appraisal": "appraisal", "rights": "rights", "calculation": "calculation",
               "calc_audit": "calc_audit", "policy_review": "policy_review", "decision": "collective_decision",
               "agreement": "agreement_draft", "payment": "payment", "archive": "archive"}
MODULE_ROLE = {module: factories.ROLE_OF_STEP[step] for module, step in MODULE_STEP.items()}


@pytest.fixture(scope="module")
def parked(app):
    """One case waiting at each module's step, and one that went all the way through."""
    from tests.api_support import CHEAP_HASH
    from tests.conftest import Api, _clear

    _clear(app)
    api = Api(app.test_client())
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr("services.identity.generate_password_hash", CHEAP_HASH)
        world = factories.build_world()
        project_id = world.project.id
        db.session.remove()
    households = {}
    for module, step in MODULE_STEP.items():
        _, task = case_at(api, project_id, f"S-{module}"[:32], step)
        households[module] = task["household_id"]
    instance_id, task = case_at(api, project_id, "S-done", "archive")
    api.complete(instance_id, "archive")
    households["done"] = task["household_id"]
    yield api, households
    _clear(app)


def _case_for(households: dict, module: str, state: str) -> int | None:
    """A case where the module's step is open, already done, or not reached yet (waiting at the survey)."""
    if state == "open":
        return households[module]
    if state == "closed":
        return households["done"]
    return households["survey"] if module != "survey" else None


@pytest.mark.parametrize("state", ["open", "closed", "not_reached"])
@pytest.mark.parametrize("username", [*ROLES, "outsider"])
@pytest.mark.parametrize("module_name", list(MODULE_STEP))
def test_every_module_role_and_step_state(parked, module_name, username, state):
    api, households = parked
    household_id = _case_for(households, module_name, state)
    if household_id is None:
        pytest.skip("the survey is reached as soon as a case exists")
    if username == "outsider":
        assert_error(put(api, household_id, module_name, {}, 0, username), 404)
        return
    before = module(api, household_id, module_name, as_=username)
    may = state == "open" and username == MODULE_ROLE[module_name]
    assert before["editable"] is may
    response = put(api, household_id, module_name, {}, before["version"], username)
    if may:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["version"] == before["version"] + 1
    else:
        assert_error(response, 403)
        assert module(api, household_id, module_name)["version"] == before["version"]
        sync = api.post(f"/api/v1/households/{household_id}/modules/{module_name}/sync", as_=username)
        assert_error(sync, 403)


def test_a_section_write_keeps_earlier_versions_and_the_rest_of_the_document(world):
    from app.models import ModuleRevision, utcnow
    from services.modules import store

    household, _ = factories.new_household(world, code="SEC-1")
    actor = world.actor("handler")
    first = store.write(actor, household, "agreement", {"option": "money", "signatures": {"a": {"by": "x"}}},
                        now=utcnow())
    store.write(actor, household, "agreement", {"by": "y"}, now=utcnow(), section="signatures.b")
    record = store.write(actor, household, "agreement", {"by": "z"}, now=utcnow(), section="signatures.a")
    db.session.commit()
    assert record is first and record.version == 3
    assert record.data == {"option": "money", "signatures": {"a": {"by": "z"}, "b": {"by": "y"}}}
    revisions = db.session.scalars(select(ModuleRevision.data).where(ModuleRevision.record_id == record.id)
                                   .order_by(ModuleRevision.version)).all()
    assert revisions == [{"option": "money", "signatures": {"a": {"by": "x"}}},
                         {"option": "money", "signatures": {"a": {"by": "x"}, "b": {"by": "y"}}},
                         record.data]
    befores = db.session.scalars(select(AuditLog.before).where(AuditLog.action == "module.agreement.write")
                                 .order_by(AuditLog.id)).all()
    assert befores == [None, revisions[0], revisions[1]]
