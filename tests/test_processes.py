"""Process versions: drafts, validation, deployment pins, diffs, retirement and moving running cases."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, HumanTask, ProcessInstance, TaskEvent, utcnow
from services import definitions, runtime
from services.errors import Conflict, Forbidden, InvalidInput
from services.processes import diff, migration, versions
from services.tx import transaction
from tests import factories
from tests.api_support import assert_error, fast_passwords  # noqa: F401
from tests.process_support import (
    RECHECK,
    RECHECK_NAME,
    SHIPPED,
    complete,
    deploy,
    new_case,
    open_steps,
    save,
    version_of,
    with_recheck,
    without_appraisal,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

# -- versions ------------------------------------------------------------------------------------------------------

def test_the_shipped_pipeline_is_valid_and_listed_as_current(world):
    assert definitions.validate(SHIPPED.encode()) == []
    [row] = versions.list_versions()
    assert (row.definition.key, row.definition.version, row.definition.status, row.current) == \
        ("relocation", 1, "deployed", True)


def test_a_draft_is_stored_but_cases_start_on_the_deployed_version_until_it_is_deployed(world):
    draft = save(world, with_recheck(), "入户复核")
    assert (draft.version, draft.status, draft.comment) == (2, "draft", "入户复核")
    first = new_case(world, "H-1")
    assert version_of(first) == 1
    versions.deploy(world.actor("process_owner"), draft.id, utcnow())
    second = new_case(world, "H-2")
    assert version_of(second) == 2 and version_of(first) == 1
    complete(world, second, "survey")
    assert open_steps(second) == [RECHECK]
    complete(world, first, "survey")
    assert open_steps(first) == ["appraisal"]


def test_only_process_owners_and_administrators_save_and_deploy(world):
    with pytest.raises(Forbidden):
        versions.save_draft(world.actor("surveyor"), with_recheck().encode(), None, utcnow())
    draft = save(world, with_recheck())
    with pytest.raises(Forbidden):
        versions.deploy(world.actor("supervisor"), draft.id, utcnow())
    assert versions.deploy(world.actor("admin"), draft.id, utcnow()).status == "deployed"


def test_a_diagram_that_does_not_parse_is_no_draft_and_an_invalid_one_is_not_deployed(world):
    with pytest.raises(InvalidInput):
        save(world, "<bpmn:definitions")
    draft = save(world, with_recheck(lane=False, form=None))
    with pytest.raises(InvalidInput) as caught:
        versions.deploy(world.actor("process_owner"), draft.id, utcnow())
    assert any(RECHECK in m for m in caught.value.fields["bpmn"])
    with pytest.raises(Conflict):
        versions.deploy(world.actor("process_owner"), 1, utcnow())


def test_an_older_draft_is_not_deployed_over_a_newer_version(world):
    older = save(world, with_recheck())
    deploy(world, with_recheck())
    with pytest.raises(Conflict) as caught:
        versions.deploy(world.actor("process_owner"), older.id, utcnow())
    assert caught.value.code == "newer_deployed"


def test_retiring_keeps_running_cases_and_never_the_last_deployed_version(world):
    case = new_case(world, "H-1")
    with pytest.raises(Conflict):
        versions.retire(world.actor("process_owner"), 1, utcnow())
    deploy(world, with_recheck())
    assert versions.retire(world.actor("process_owner"), 1, utcnow()).status == "retired"
    complete(world, case, "survey")
    assert open_steps(case) == ["appraisal"] and version_of(case) == 1
    with pytest.raises(Conflict):
        versions.retire(world.actor("process_owner"), 1, utcnow())


# -- diff ----------------------------------------------------------------------------------------------------------

def test_the_diff_names_added_removed_and_changed_steps_and_flows(world):
    changed = with_recheck()
    changed = changed.replace('<bpmn:userTask id="calculation" name="核算">', '<bpmn:userTask id="calculation" '
                              'name="补偿核算">')
    calculation = changed.index('<bpmn:userTask id="calculation"')
    changed = changed[:calculation] + changed[calculation:].replace('value="P3D" />', 'value="P4D" />', 1)
    changed = changed.replace('return_to == "payment"', 'return_to in ["payment"]')
    second = save(world, changed)
    result = diff.diff_versions(1, second.id)
    assert result["from"]["version"] == 1 and result["to"]["version"] == 2
    added = {s["id"]: s for s in result["steps"]["added"]}
    assert added[RECHECK]["name"] == RECHECK_NAME and added[RECHECK]["role"] == "surveyor"
    assert added[RECHECK]["form"] == "survey" and added[RECHECK]["due"] == "P2D"
    steps = {s["id"]: {c["field"]: (c["before"], c["after"]) for c in s["changes"]} for s in result["steps"]["changed"]}
    assert steps["calculation"]["name"] == ("核算", "补偿核算")
    assert steps["calculation"]["due"] == ("P3D", "P4D")
    flows = {f["id"]: {c["field"]: (c["before"], c["after"]) for c in f["changes"]} for f in result["flows"]["changed"]}
    assert flows["Flow_survey_to_appraisal"]["target"] == ("to_appraisal", RECHECK)
    assert flows["Flow_return_router_to_payment"]["condition"] == ('return_to == "payment"',
                                                                   'return_to in ["payment"]')
    assert [f["id"] for f in result["flows"]["added"]] == ["Flow_recheck_to_appraisal"]
    back = diff.diff_versions(second.id, 1)
    assert [s["id"] for s in back["steps"]["removed"]] == [RECHECK]
    smaller = save(world, without_appraisal())
    gone = diff.diff_versions(1, smaller.id)
    assert [s["id"] for s in gone["steps"]["removed"]] == ["appraisal"]
    assert {c["field"] for s in gone["steps"]["changed"] for c in s["changes"]} >= {"return_targets"}


# -- migration -----------------------------------------------------------------------------------------------------

def test_a_case_at_the_survey_moves_to_the_new_version_and_passes_the_new_step(world):
    case = new_case(world, "H-1")
    other = new_case(world, "H-2")
    second = deploy(world, with_recheck())
    preview = migration.migrate(world.actor("process_owner"), second.id, [case], utcnow(), dry_run=True)
    assert preview[0].ok and version_of(case) == 1
    assert [s["to"]["id"] for s in preview[0].changes["open_steps"]] == ["survey"]
    survey_row = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == case))
    [outcome] = migration.migrate(world.actor("process_owner"), second.id, [case], utcnow(), dry_run=False)
    assert outcome.ok, outcome.reason
    assert version_of(case) == 2 and version_of(other) == 1
    assert db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == case,
                                                        HumanTask.status == "ready")) == survey_row
    complete(world, case, "survey")
    assert open_steps(case) == [RECHECK]
    complete(world, case, RECHECK)
    assert open_steps(case) == ["appraisal"]
    complete(world, other, "survey")
    assert open_steps(other) == ["appraisal"]
    actions = list(db.session.scalars(select(TaskEvent.action).where(TaskEvent.instance_id == case)))
    assert "migrated" in actions
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "instance.migrate",
                                                       AuditLog.target_id == str(case))) is not None


def test_a_case_whose_open_step_is_removed_is_refused_with_the_reason(world):
    at_appraisal = new_case(world, "H-1")
    complete(world, at_appraisal, "survey")
    at_survey = new_case(world, "H-2")
    smaller = deploy(world, without_appraisal())
    outcomes = migration.migrate(world.actor("process_owner"), smaller.id, [at_appraisal, at_survey], utcnow(),
                                 dry_run=False)
    refused, moved = outcomes
    assert not refused.ok and "评估作业" in refused.reason and "removed" in refused.reason
    assert moved.ok, moved.reason
    assert version_of(at_appraisal) == 1 and version_of(at_survey) == 2
    assert open_steps(at_appraisal) == ["appraisal"]
    complete(world, at_survey, "survey")
    assert open_steps(at_survey) == ["rights"]


def test_a_case_in_the_signing_subprocess_moves_with_its_open_signatures(world):
    case = new_case(world, "H-1")
    for step in ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
                 "sign_handler"):
        complete(world, case, step)
    second = deploy(world, with_recheck())
    [outcome] = migration.migrate(world.actor("admin"), second.id, [case], utcnow(), dry_run=False)
    assert outcome.ok, outcome.reason
    assert open_steps(case) == ["sign_group_leader", "sign_reviewer", "sign_village_cadre"]
    for step in ("sign_group_leader", "sign_reviewer", "sign_village_cadre"):
        complete(world, case, step)
    assert open_steps(case) == ["payment"]


def test_migration_refusals_need_no_engine(world):
    case = new_case(world, "H-1")
    draft = save(world, with_recheck())
    with pytest.raises(Conflict):
        migration.migrate(world.actor("process_owner"), draft.id, [case], utcnow(), dry_run=True)
    with pytest.raises(Forbidden):
        migration.migrate(world.actor("surveyor"), draft.id, [case], utcnow(), dry_run=True)
    [same] = migration.migrate(world.actor("process_owner"), 1, [case, ], utcnow(), dry_run=True)
    assert not same.ok and "v1 already" in same.reason
    [unknown] = migration.migrate(world.actor("process_owner"), 1, [999999], utcnow(), dry_run=True)
    assert not unknown.ok and unknown.reason == "case not found"
    with pytest.raises(InvalidInput):
        migration.migrate(world.actor("process_owner"), 1, [], utcnow(), dry_run=True)
    with transaction():
        db.session.get(ProcessInstance, case).status = "suspended"
    second = deploy(world, with_recheck())
    [suspended] = migration.migrate(world.actor("process_owner"), second.id, [case], utcnow(), dry_run=False)
    assert not suspended.ok and "suspended" in suspended.reason


# -- the API -------------------------------------------------------------------------------------------------------

API = "/api/v1/process-definitions"


def post_xml(api, url: str, xml: str | bytes, as_: str, **kwargs):
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return api.post(url, as_=as_, data=data, content_type="application/xml", **kwargs)


def test_the_api_lists_versions_with_their_status_and_counts(world, api):
    factories.new_household(world, "H-1")
    response = api.get(API, as_="surveyor")
    assert response.status_code == 200
    [item] = response.get_json()["items"]
    assert {"id", "key", "version", "status", "name", "comment", "created_at", "created_by", "deployed_at"} <= set(item)
    assert (item["key"], item["version"], item["status"], item["running"], item["current"]) == \
        ("relocation", 1, "deployed", 1, True)
    assert item["created_at"].endswith("Z")
    assert api.get(f"{API}/1/bpmn", as_="surveyor").get_data() == SHIPPED.encode("utf-8")
    assert_error(api.get(f"{API}/999", as_="surveyor"), 404)
    assert_error(api.get(API), 401)


def test_the_api_stores_a_draft_with_its_comment_and_deploys_it(world, api):
    response = post_xml(api, f"{API}?comment=入户复核", with_recheck(), "process_owner")
    assert response.status_code == 201, response.get_json()
    draft = response.get_json()
    assert (draft["version"], draft["status"], draft["comment"], draft["created_by"]) == \
        (2, "draft", "入户复核", "process_owner")
    header = post_xml(api, API, with_recheck(), "admin", headers={"X-Comment": "%E5%A4%8D%E6%A0%B8"})
    assert header.get_json()["comment"] == "复核"
    newer = header.get_json()["id"]
    deployed = api.post(f"{API}/{newer}/deploy", as_="process_owner")
    assert deployed.status_code == 200 and deployed.get_json()["status"] == "deployed"
    assert deployed.get_json()["deployed_at"].endswith("Z") and deployed.get_json()["current"] is True
    assert_error(api.post(f"{API}/{newer}/deploy", as_="process_owner"), 409, "already_deployed")
    assert_error(api.post(f"{API}/{draft['id']}/deploy", as_="process_owner"), 409, "newer_deployed")
    instance_id = api.post(f"/api/v1/projects/{world.project.id}/households", as_="surveyor", json={
        "code": "H-9", "kind": "shop", "address": "滨江路1号", "head_name": "周敏"}).get_json()["instance_id"]
    assert api.get(f"/api/v1/instances/{instance_id}", as_="surveyor").get_json()["definition"] == \
        {"key": "relocation", "version": 3}


def test_the_api_refuses_what_does_not_parse_and_deploys_nothing_invalid(world, api):
    assert_error(post_xml(api, API, b"not xml", "process_owner"), 422, fields={"bpmn"})
    assert_error(post_xml(api, f"{API}?comment=" + "x" * 2001, with_recheck(), "process_owner"), 422,
                 fields={"comment"})
    draft = post_xml(api, API, with_recheck(lane=False, form=None), "process_owner").get_json()
    error = assert_error(api.post(f"{API}/{draft['id']}/deploy", as_="process_owner"), 422, fields={"bpmn"})
    assert any(m.startswith("recheck:") for m in error["fields"]["bpmn"])
    validated = post_xml(api, f"{API}/validate", with_recheck(lane=False, form=None), "surveyor").get_json()
    assert validated["valid"] is False
    assert {p["element_id"] for p in validated["errors"]} == {RECHECK}


@pytest.mark.parametrize("role", ["surveyor", "supervisor", "accountant", "group_leader"])
def test_other_roles_may_read_but_not_change_versions(world, api, role):
    assert api.get(API, as_=role).status_code == 200
    assert api.get(f"{API}/1/diff/1", as_=role).status_code == 200
    assert post_xml(api, f"{API}/validate", SHIPPED, role).status_code == 200
    assert_error(post_xml(api, API, with_recheck(), role), 403)
    draft = save(world, with_recheck())
    assert_error(api.post(f"{API}/{draft.id}/deploy", as_=role), 403)
    assert_error(api.post(f"{API}/1/retire", as_=role), 403)
    assert_error(api.post(f"{API}/1/migrate", as_=role, json={"instance_ids": [1], "dry_run": True}), 403)
    assert versions.find(draft.id).status == "draft"


def test_the_api_diff_names_the_new_step(world, api):
    draft = save(world, with_recheck())
    body = api.get(f"{API}/1/diff/{draft.id}", as_="supervisor").get_json()
    assert (body["from"]["version"], body["to"]["version"]) == (1, 2)
    assert [s["id"] for s in body["steps"]["added"]] == [RECHECK]
    assert body["summary"]["added"] == 2  # the step and its outgoing flow
    assert_error(api.get(f"{API}/1/diff/99999999999", as_="supervisor"), 404)


def test_the_api_migrates_a_chosen_case_and_refuses_an_unsafe_one(world, api):
    at_survey = new_case(world, "H-1")
    at_appraisal = new_case(world, "H-2")
    complete(world, at_appraisal, "survey")
    smaller = deploy(world, without_appraisal())
    url = f"{API}/{smaller.id}/migrate"
    preview = api.post(url, as_="process_owner", json={"instance_ids": [at_survey, at_appraisal], "dry_run": True})
    assert preview.status_code == 200
    items = {i["instance_id"]: i for i in preview.get_json()["items"]}
    assert items[at_survey]["ok"] is True and items[at_survey]["reason"] is None
    assert items[at_survey]["changes"]["open_steps"][0]["from"]["id"] == "survey"
    assert items[at_appraisal]["ok"] is False and "removed" in items[at_appraisal]["reason"]
    assert version_of(at_survey) == 1
    moved = api.post(url, as_="admin", json={"instance_ids": [at_survey]}).get_json()
    assert moved["dry_run"] is False and moved["items"][0]["ok"] is True
    assert version_of(at_survey) == 2
    history = api.get(f"/api/v1/instances/{at_survey}", as_="admin").get_json()["history"]
    assert any(h["action"] == "migrated" for h in history)
    assert_error(api.post(url, as_="process_owner", json={"instance_ids": []}), 422)
    assert_error(api.post(url, as_="process_owner", json={"instance_ids": ["1"]}), 422)
    assert_error(api.post(url, as_="process_owner", json={"instance_ids": [2**40]}), 422)
    assert_error(api.post(url, as_="process_owner", data=b"[", content_type="application/json"), 422)
    draft = save(world, with_recheck())
    assert_error(api.post(f"{API}/{draft.id}/migrate", as_="process_owner", json={"instance_ids": [at_survey]}), 409)


def test_retiring_through_the_api(world, api):
    assert_error(api.post(f"{API}/1/retire", as_="process_owner"), 409, "last_deployed")
    deploy(world, with_recheck())
    retired = api.post(f"{API}/1/retire", as_="process_owner")
    assert retired.status_code == 200 and retired.get_json()["status"] == "retired"
    assert_error(api.post(f"{API}/1/retire", as_="process_owner"), 409)


# -- the pages -----------------------------------------------------------------------------------------------------

def sign_in(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code in (302, 303)


@pytest.mark.parametrize("username", ["surveyor", "supervisor", "process_owner"])
def test_every_signed_in_user_sees_the_versions_and_a_version(world, client, username):
    sign_in(client, username)
    draft = save(world, with_recheck(), "入户复核")
    listing = client.get("/processes")
    assert listing.status_code == 200 and "入户复核" in listing.get_data(as_text=True)
    page = client.get("/processes/1")
    assert page.status_code == 200 and 'data-testid="process-viewer"' in page.get_data(as_text=True)
    diff_page = client.get(f"/processes/1/diff/{draft.id}")
    assert diff_page.status_code == 200 and RECHECK_NAME in diff_page.get_data(as_text=True)
    download = client.get("/processes/1/bpmn?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    editor = username == "process_owner"
    assert client.get("/processes/1/edit").status_code == (200 if editor else 403)
    assert client.get("/processes/1/migrate").status_code == (200 if editor else 403)
    saved = client.post("/processes/drafts", data=with_recheck().encode(), content_type="application/xml")
    assert saved.status_code == (201 if editor else 403)
    if not editor:
        assert saved.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("url", ["/processes/0", "/processes/99999999999", "/processes/1/diff/99999999999",
                                 "/processes/abc", "/processes/99999999999/edit", "/processes/99999999999/bpmn"])
def test_unknown_versions_are_404_pages(world, client, url):
    sign_in(client, "admin")
    assert client.get(url).status_code == 404


def test_the_pages_deploy_and_move_cases(world, client):
    sign_in(client, "process_owner")
    case = new_case(world, "H-1")
    draft = save(world, with_recheck())
    response = client.post(f"/processes/{draft.id}/deploy")
    assert response.status_code == 302 and version_of(new_case(world, "H-2")) == 2
    page = client.get(f"/processes/{draft.id}/migrate").get_data(as_text=True)
    assert f'value="{case}"' in page
    preview = client.post(f"/processes/{draft.id}/migrate", data={"instance_id": [str(case)], "action": "preview"})
    assert 'data-testid="outcome-ok"' in preview.get_data(as_text=True) and version_of(case) == 1
    client.post(f"/processes/{draft.id}/migrate", data={"instance_id": [str(case)], "action": "move"})
    assert version_of(case) == 2
    broken = save(world, with_recheck(lane=False, form=None))
    client.post(f"/processes/{broken.id}/deploy")
    assert versions.find(broken.id).status == "draft"


TIMER_BPMN = (Path(__file__).parent / "data" / "timer.bpmn").read_text(encoding="utf-8")


def test_a_case_waiting_on_a_boundary_timer_moves_and_its_timer_starts_again(world):
    import time

    first = deploy(world, TIMER_BPMN.replace('"PT1S"', '"PT1H"'))
    household, _ = factories.new_household(world, "T-1")
    with transaction():
        instance = runtime.start_instance(world.actor("admin"), household, now=utcnow(), key="timed_review")
    case = instance.id
    before = db.session.get(ProcessInstance, case).next_timer_at
    second = deploy(world, TIMER_BPMN.replace('name="领导复核"', 'name="分管领导复核"'))
    assert (first.version, second.version) == (1, 2)
    [outcome] = migration.migrate(world.actor("process_owner"), second.id, [case], utcnow(), dry_run=False)
    assert outcome.ok, outcome.reason
    assert outcome.changes["timers_restart"] is True
    db.session.rollback()
    moved = db.session.get(ProcessInstance, case)
    assert moved.definition.version == 2 and moved.next_timer_at is not None
    assert moved.next_timer_at < before  # the new version's one second, counted from the move
    time.sleep(1.1)
    assert runtime.fire_due_timers(utcnow()) == 1
    assert open_steps(case) == ["escalated_review"]
    row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == case, HumanTask.status == "ready"))
    assert row.name == "分管领导复核" and row.role == "supervisor"


def test_the_modeler_calls_need_the_csrf_header_when_protection_is_on(world, app):
    from app import create_app
    from app.config import TestConfig

    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], UPLOAD_DIR=app.config["UPLOAD_DIR"],
                  WTF_CSRF_ENABLED=True)
    protected = create_app(config)
    try:
        client = protected.test_client()
        login = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        client.post("/login", data={"username": "process_owner", "password": factories.PASSWORD, "csrf_token": token})
        page = client.get("/processes/1/edit").get_data(as_text=True)
        header = re.search(r'data-csrf="([^"]+)"', page).group(1)
        assert client.post("/processes/validate", data=SHIPPED.encode(), content_type="application/xml").status_code \
            == 400
        answer = client.post("/processes/validate", data=SHIPPED.encode(), content_type="application/xml",
                             headers={"X-CSRFToken": header})
        assert answer.status_code == 200 and answer.get_json() == {"valid": True, "errors": []}
    finally:
        with protected.app_context():
            db.engine.dispose()
