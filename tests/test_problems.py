"""One way to say a problem: every service error and field problem carries a code and parameters; pages
translate it by code (never by matching English text), and an uncoded text shows as the generic problem."""
from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from pathlib import Path

import pytest
from flask import Flask

import app as app_package
import services
from app import labels
from app.extensions import db
from app.models import HumanTask, utcnow
from services import deadlines, households, identity, supervision, throttle
from services.errors import InvalidInput
from services.problems import WORDING, problem
from services.processes import validation
from tests import factories
from tests.api_support import assert_error, case_at, fast_passwords  # noqa: F401
from tests.test_i18n import PLACEHOLDER, ensure_compiled, read_catalog
from tests.test_pages import Browser, text_of

pytestmark = pytest.mark.usefixtures("fast_passwords")
ROOT = Path(__file__).resolve().parent.parent
# an English sentence of the kind the services word their problems in (a page must never show one)
ENGLISH = re.compile(r"\b(must|cannot|does not|not found|is not|give the|choose|missing|paid|at most)\b")


def _load_every_module() -> None:
    """Every module of the services and the application, so that each registers its wordings."""
    for package in (services, app_package):
        for found in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(found.name)


def _chinese(problem_obj) -> str:
    return labels.problem(problem_obj)


def test_every_code_is_translated_with_the_same_placeholders(ctx: Flask) -> None:
    _load_every_module()
    catalog = read_catalog()
    untranslated, placeholders = [], []
    for code, text in WORDING.items():
        message = catalog.get(text)
        if message is None or not message.string:
            untranslated.append(code)
        elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(message.string)):
            placeholders.append(code)
    assert len(WORDING) > 200
    assert untranslated == [] and placeholders == []


def test_labels_match_no_english_text() -> None:
    source = (ROOT / "app" / "labels.py").read_text(encoding="utf-8")
    assert "import re" not in source and "re.compile" not in source and "_PROBLEMS" not in source


def test_an_uncoded_text_is_shown_as_the_generic_problem_and_logged(ctx: Flask, caplog, monkeypatch) -> None:
    ensure_compiled()
    monkeypatch.setattr(labels.log, "disabled", False)  # the migrations' logging setup disables existing loggers
    with ctx.app_context(), ctx.test_request_context("/"), caplog.at_level(logging.WARNING, logger="app.labels"):
        assert labels.problem("the rows must match something new") == "填写的内容无效。"
        assert labels.error_text("invented_code", "a reworded sentence") == "请求无法识别。"
    assert "the rows must match something new" in caplog.text and "a reworded sentence" in caplog.text
    with ctx.app_context(), ctx.test_request_context("/?lang=en"):
        assert labels.problem("anything uncoded") == "The value is not valid."


def test_household_create_and_password_change_report_codes(world: factories.World, ctx: Flask) -> None:
    ensure_compiled()
    with pytest.raises(InvalidInput) as caught:
        households.create(world.actor("surveyor"), world.project.id,
                          {"code": "a b", "kind": "shop", "address": "x", "head_name": "张三"}, now=utcnow())
    [found] = caught.value.fields["code"]
    assert (found.code, found.params) == ("code_chars", {}) and found == "letters, digits, - and _ only"
    assert caught.value.message.code == "household_has_errors"
    with pytest.raises(InvalidInput) as caught:
        identity.change_password(world.actor("surveyor"), factories.PASSWORD, "onlylowercaseletters",
                                 limits=throttle.Limits(), now=utcnow())
    assert [p.code for p in caught.value.fields["new_password"]] == ["password_kinds"]
    with ctx.app_context(), ctx.test_request_context("/"):
        assert _chinese(found) == "只能使用字母、数字、“-”和“_”。"
        assert _chinese(caught.value.message) == "新密码不符合密码规则"


def test_the_api_reports_problems_by_code_beside_the_wording(world: factories.World, api) -> None:
    response = api.post(f"/api/v1/projects/{world.project.id}/households", as_="surveyor",
                        json={"code": "a b", "kind": "shop", "address": "x", "head_name": "张三"})
    error = assert_error(response, 422, fields={"code"})
    assert error["fields"]["code"] == ["letters, digits, - and _ only"]
    assert error["problems"]["code"] == [{"code": "code_chars", "params": {}}]


def test_module_save_checks_payment_and_dossier_say_what_is_wrong(world: factories.World, api, ctx: Flask) -> None:
    ensure_compiled()
    instance_id, task = case_at(api, world.project.id, "P-1", "calculation")
    household_id = task["household_id"]
    response = api.put(f"/api/v1/households/{household_id}/modules/calculation", as_="accountant",
                       json={"data": {}, "version": "1"})
    assert assert_error(response, 422)["problems"] == {"version": [{"code": "integer", "params": {}}]}
    data = {**factories.STEP_DATA["calculation"],
            "adjustments": [{"label": "困难补助", "amount": "20000.00", "reason": "村委会研究同意"}]}
    api.complete(instance_id, "calculation", data=data)
    audit = api.open_task(instance_id, "calc_audit", "calc_auditor")
    error = assert_error(api.post(f"/api/v1/tasks/{audit['id']}/complete", as_="calc_auditor",
                                  json={"data": {"opinion": "同意"}}), 422, fields={"override_reason"})
    summary, *failed = error["problems"]["override_reason"]
    assert summary == {"code": "checks_failed_override", "params": {"n": 1}}
    assert [p["code"] for p in failed] == ["check.adjustments.fail"]

    instance_id, task = case_at(api, world.project.id, "P-2", "payment")
    household_id = task["household_id"]
    total = api.get(f"/api/v1/households/{household_id}/modules/agreement", as_="finance").get_json()["data"]["total"]
    part = {"payments": [{"amount": "1000.00", "paid_on": "2026-11-20", "voucher_no": "FK1"}]}
    error = assert_error(api.post(f"/api/v1/tasks/{task['id']}/complete", as_="finance", json={"data": part}), 422)
    assert error["problems"]["payments"] == [{"code": "paid_of_agreed",
                                              "params": {"paid": "1000.00", "agreed": total.replace(",", "")}}]
    assert error["fields"]["payments"] == [f"paid 1000.00 of the agreed {total.replace(',', '')}"]
    with ctx.app_context(), ctx.test_request_context("/"):
        shown = _chinese(problem("paid_of_agreed", paid="100000.00", agreed="1176540.02"))
        assert shown == "已支付 100,000.00 元，协议金额为 1,176,540.02 元"
        missing = problem("dossier_missing", item="vacated")
        assert missing == "missing: Vacating acceptance" and _chinese(missing) == "缺少：腾空验收单"
        signed = _chinese(problem("signed_scan_missing"))
        assert "签字" in signed and "signed_agreement" not in signed

    # the payment page itself: the refusal in Chinese, no English sentence
    browser = Browser(ctx).as_user("finance")
    page = browser.post(f"/tasks/{task['id']}/complete", data={
        "payments.0.amount": "1000.00", "payments.0.paid_on": "2026-11-20", "payments.0.voucher_no": "FK1"})
    body = text_of(page)
    assert page.status_code == 422 and "已支付 1,000.00 元，协议金额为" in body
    assert "paid 1000.00" not in body and "of the agreed" not in body


def test_deadlines_and_reassignment_name_the_problem_in_chinese(world: factories.World, ctx: Flask) -> None:
    ensure_compiled()
    with pytest.raises(InvalidInput) as caught:
        deadlines.set_deadline(world.actor("supervisor"), "survey", {"due": "soon"}, now=utcnow())
    assert caught.value.fields["due"][0].code == "duration_invalid"
    browser = Browser(ctx).as_user("supervisor")
    page = browser.post("/supervisor/deadlines", data={"bpmn_id": "survey", "due": "soon", "project_id": ""})
    body = text_of(page)
    assert page.status_code == 422 and "请填写有效的办理期限" in body and "ISO 8601 duration" not in body

    _household, instance = factories.new_household(world, "R-1")
    row = db.session.scalar(db.select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                       HumanTask.status == "ready"))
    accountant = world.users["accountant"]
    with pytest.raises(InvalidInput) as caught:
        supervision.reassign(world.actor("supervisor"), [row.id], accountant.id, utcnow())
    [found] = caught.value.fields["task_ids"]
    assert found.code == "reassign_no_role"
    assert found.params == {"step": row.name, "household": "R-1", "person": accountant.display_name,
                            "role": "surveyor"}
    with pytest.raises(InvalidInput) as caught:
        supervision.reassign(world.actor("supervisor"), list(range(1, 502)), accountant.id, utcnow())
    [found] = caught.value.fields["task_ids"]
    assert (found.code, found.params) == ("reassign_task_ids", {"max": 500})

    page = browser.post("/supervisor/reassign", data={"task_id": str(row.id), "user_id": str(accountant.id),
                                                      "back": "/supervisor"}, follow_redirects=True)
    body = text_of(page)
    assert f"R-1 的“{row.name}”：{accountant.display_name} 不具有“调查员”角色" in body
    assert "does not hold" not in body


BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <laneSet><lane id="l" name="surveyor"><flowNodeRef>s</flowNodeRef><flowNodeRef>t</flowNodeRef>
      <flowNodeRef>e</flowNodeRef></lane></laneSet>
    <startEvent id="s"/><userTask id="t" name="入户调查"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </process>
</definitions>"""


def test_the_modeler_gets_coded_problems_in_chinese(world: factories.World, ctx: Flask) -> None:
    ensure_compiled()
    found = validation.validate(BROKEN.encode())
    step = next(p for p in found if p["element_id"] == "t")
    assert (step["message"].code, step["message"].params) == ("step_no_form", {"step": "入户调查"})
    browser = Browser(ctx).as_user("process_owner")
    answer = browser.post("/processes/validate", data=BROKEN.encode(), content_type="application/xml")
    errors = answer.get_json()["errors"]
    shown = next(e["message"] for e in errors if e["element_id"] == "t")
    assert shown == "环节“入户调查”没有指定表单：请选择表单" and not ENGLISH.search(shown)


def test_http_errors_never_show_the_frameworks_english(ctx: Flask) -> None:
    ensure_compiled()
    browser = Browser(ctx)
    page = browser.get("/no/such/page")
    body = text_of(page)
    assert page.status_code == 404 and "页面或记录不存在" in body and "The requested URL" not in body
    big = browser.post("/login", data=b"x" * (ctx.config["MAX_CONTENT_LENGTH"] + 10),
                       content_type="application/octet-stream")
    body = text_of(big)
    assert big.status_code == 413 and "capacity limit" not in body and "上传" in body
    api_answer = browser.post("/api/v1/auth/token", data=b"x" * (ctx.config["MAX_CONTENT_LENGTH"] + 10),
                              content_type="application/json")
    assert api_answer.status_code == 413
    assert api_answer.get_json()["error"] == {"code": "payload_too_large", "message": "The upload is too large."}
