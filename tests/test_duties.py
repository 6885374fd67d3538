"""Separation of duties (分工制衡): each rule refuses the same person on the API and on the step page and lets another
through; an administrator switches a rule off only with a reason, audited; the check costs one statement."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, HumanTask
from services import duties, identity
from services.context import Actor
from services.errors import Forbidden
from services.tx import transaction
from tests import factories
from tests.api_support import MAIN_PATH, SIGNS, assert_error, fast_passwords, start_case  # noqa: F401
from tests.test_pages import Browser, text_of
from tests.test_query_counts import counting

pytestmark = pytest.mark.usefixtures("fast_passwords")

# people of the project who hold two roles each: the office's past problem
DUAL = {"calc_both": ["accountant", "calc_auditor"], "calc_reviewer": ["calc_auditor", "policy_reviewer"],
        "two_signer": ["handler", "reviewer"], "drafter_payer": ["handler", "finance"]}
TYPED = "我在此处填写的意见，被拒绝后仍在页面上"


@dataclass(frozen=True)
class Scenario:
    """A rule: the steps before the one it governs (with who completed them), the dual user it refuses there, the
    user of the role who may, and what the refused user reads on the step page."""

    rule: str
    steps: tuple[tuple[str, str | None], ...]
    step: str
    refused: str
    allowed: str
    notice: str
    typed_field: str = "opinion"


SCENARIOS = {
    "audit_not_calculator": Scenario(
        "audit_not_calculator", (("survey", None), ("appraisal", None), ("rights", None), ("calculation", "calc_both")),
        "calc_audit", "calc_both", "calc_auditor", "本案核算由您完成，须由其他核算审核员审核"),
    "policy_not_calculation": Scenario(
        "policy_not_calculation", (*((s, None) for s in MAIN_PATH[:4]), ("calc_audit", "calc_reviewer")),
        "policy_review", "calc_reviewer", "policy_reviewer", "本案核算或核算审核由您完成，须由其他政策审核员审核"),
    "four_signers": Scenario(
        "four_signers", (*((s, None) for s in MAIN_PATH[:7]), ("sign_handler", "two_signer")),
        "sign_reviewer", "two_signer", "reviewer", "您已在本协议上签过字，四方签字须由四个不同的人分别签署"),
    "payment_not_drafter": Scenario(
        "payment_not_drafter", (*((s, None) for s in MAIN_PATH[:6]), ("agreement_draft", "drafter_payer"),
                                *((s, None) for s in SIGNS)),
        "payment", "drafter_payer", "finance", "本案协议由您拟定，须由其他财务人员登记拨付", typed_field="notes"),
}


@pytest.fixture()
def people(world: factories.World) -> factories.World:
    """The world with four users of the project who hold two roles each."""
    with transaction():
        group = world.project.groups[0]
        for username, roles in DUAL.items():
            group.members.append(identity.create_user(username, factories.PASSWORD, f"{username} 双岗", roles))
    return world


def _at_step(api, world: factories.World, scenario: Scenario, code: str = "D-001") -> dict:
    """A case whose governed step is open, the dual user having done the earlier step: that step, as the inbox
    shows it to the dual user."""
    instance_id = start_case(api, world.project.id, code)
    for bpmn_id, who in scenario.steps:
        api.complete(instance_id, bpmn_id, as_=who)
    return api.open_task(instance_id, scenario.step, scenario.refused)


def _complete(api, task: dict, username: str):
    data = api.prepare(task, username)
    return api.post(f"/api/v1/tasks/{task['id']}/complete", as_=username, json={"data": data})


def _status(task_id: int) -> str:
    db.session.rollback()
    return db.session.get(HumanTask, task_id).status


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_each_rule_refuses_the_same_person_on_the_api_and_lets_another_through(api, people, rule: str) -> None:
    scenario = SCENARIOS[rule]
    task = _at_step(api, people, scenario)
    error = assert_error(_complete(api, task, scenario.refused), 403, "duty_separation")
    assert error["problem"] == {"code": "duty_separation", "params": {"duty": rule, "step": scenario.step}}
    assert error["message"].startswith("Separation of duties: ")
    assert _status(task["id"]) == "ready"
    assert _complete(api, task, scenario.allowed).status_code == 200
    assert _status(task["id"]) == "completed"


def test_recording_payments_is_refused_to_the_drafter_and_open_to_another(api, people) -> None:
    task = _at_step(api, people, SCENARIOS["payment_not_drafter"])
    url = f"/api/v1/households/{task['household_id']}/modules/payment"
    data = api.prepare(task, "drafter_payer")
    refused = api.put(url, as_="drafter_payer", json={"data": data, "version": 0})
    assert assert_error(refused, 403, "duty_separation")["problem"]["params"]["duty"] == "payment_not_drafter"
    saved = api.put(url, as_="finance", json={"data": data, "version": 0})
    assert saved.status_code == 200, saved.get_json()


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_the_step_page_says_so_beforehand_and_a_refused_completion_keeps_what_was_typed(app, api, people,
                                                                                        rule: str) -> None:
    scenario = SCENARIOS[rule]
    task = _at_step(api, people, scenario)
    url = f"/tasks/{task['id']}"
    browser = Browser(app).as_user(scenario.refused)
    body = text_of(browser.get(url))
    assert 'data-testid="duty-notice"' in body and scenario.notice in body
    assert 'data-testid="complete" disabled' in body
    page = browser.post(url + "/complete", data={scenario.typed_field: TYPED})
    assert page.status_code == 403
    body = text_of(page)
    assert scenario.notice in body and TYPED in body
    assert _status(task["id"]) == "ready"

    body = text_of(Browser(app).as_user(scenario.allowed).get(url))
    assert 'data-testid="duty-notice"' not in body and 'data-testid="complete" disabled' not in body


def test_after_a_return_the_latest_calculation_is_the_one_that_counts(api, people) -> None:
    """calc_both made the first calculation; after a return the accountant made it again: calc_both may audit."""
    scenario = SCENARIOS["audit_not_calculator"]
    task = _at_step(api, people, scenario)
    sent = api.post(f"/api/v1/tasks/{task['id']}/return", as_="calc_auditor",
                    json={"to": "calculation", "reason": "核算口径有误，请重新核算"})
    assert sent.status_code == 200, sent.get_json()
    instance_id = task["instance_id"]
    rework = api.open_task(instance_id, "calculation", "calc_both")  # the rework goes back to its last handler
    assert api.post(f"/api/v1/tasks/{rework['id']}/release", as_="calc_both").status_code == 200
    api.complete(instance_id, "calculation", as_="accountant")
    audit = api.open_task(instance_id, "calc_audit", "calc_both")
    assert _complete(api, audit, "calc_both").status_code == 200


def test_a_rule_switched_off_with_a_reason_lets_the_same_person_through_and_is_audited(api, people) -> None:
    url = f"/api/v1/projects/{people.project.id}/duty-rules"
    reason = "本项目仅一名核算审核员，由分管领导另行复核"
    answer = api.put(url, as_="admin", json={"rules": [{"rule": "audit_not_calculator", "on": False,
                                                         "reason": reason}]})
    assert answer.status_code == 200, answer.get_json()
    states = {r["code"]: r for r in answer.get_json()["items"]}
    assert states["audit_not_calculator"]["on"] is False and states["audit_not_calculator"]["reason"] == reason
    assert states["audit_not_calculator"]["by"] == "admin" and states["four_signers"]["on"] is True
    task = _at_step(api, people, SCENARIOS["audit_not_calculator"])
    assert _complete(api, task, "calc_both").status_code == 200
    assert api.get(url, as_="admin").get_json()["items"][0]["on"] is False

    back_on = api.put(url, as_="admin", json={"rules": [{"rule": "audit_not_calculator", "on": True}]})
    assert back_on.status_code == 200 and all(r["on"] for r in back_on.get_json()["items"])
    db.session.rollback()
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action.like("duty_rule.%")).order_by(AuditLog.id)))
    assert [(r.action, r.after) for r in rows] == [
        ("duty_rule.off", {"duty_rule": "audit_not_calculator", "reason": reason}),
        ("duty_rule.on", {"duty_rule": "audit_not_calculator"})]
    assert rows[1].before == {"reason": reason}


def test_switching_a_rule_off_without_a_reason_is_refused(api, people) -> None:
    url = f"/api/v1/projects/{people.project.id}/duty-rules"
    for reason in (None, "", "  太短了  "):
        refused = api.put(url, as_="admin", json={"rules": [{"rule": "four_signers", "on": False, "reason": reason}]})
        assert_error(refused, 422, fields={"rules.0.reason"})
    assert_error(api.put(url, as_="admin", json={"rules": [{"rule": "nobody", "on": True}]}), 422,
                 fields={"rules.0.rule"})
    assert_error(api.put(url, as_="calc_both", json={"rules": [{"rule": "four_signers", "on": True}]}), 403)
    assert all(r["on"] for r in api.get(url, as_="admin").get_json()["items"])


def test_the_administration_page_lists_the_rules_and_switches_one_off_only_with_a_reason(app, people) -> None:
    browser = Browser(app).as_user("admin")
    assert "分工制衡规则" in text_of(browser.get("/admin"))
    assert "北区三村" in text_of(browser.get("/admin/duties"))
    url = f"/admin/projects/{people.project.id}/duties"
    body = text_of(browser.get(url))
    assert body.count('data-testid="duty-rule"') == 4 and "核算审核人不得是该案的核算人" in body
    page = browser.post(url, data={"rule": "payment_not_drafter", "on": "no", "reason": "人手不足"})
    assert page.status_code == 422
    body = text_of(page)
    assert "请填写关闭此规则的理由（至少 10 个字）" in body and "人手不足" in body
    reason = "本项目财务仅一人，协议由其兼任拟定，经办公会同意"
    page = browser.post(url, data={"rule": "payment_not_drafter", "on": "no", "reason": reason})
    assert page.status_code == 302
    body = text_of(browser.get(url))
    assert "已关闭" in body and reason in body and "admin 双岗" not in body
    assert "关闭分工制衡规则" in text_of(browser.get("/trail?action=duty_rule.off"))
    assert browser.post(url, data={"rule": "payment_not_drafter", "on": "yes"}).status_code == 302
    assert "已关闭" not in text_of(browser.get(url))
    assert Browser(app).as_user("supervisor").get(url).status_code == 403


def test_the_check_costs_one_statement_on_a_governed_step_and_none_elsewhere(api, people) -> None:
    task = _at_step(api, people, SCENARIOS["audit_not_calculator"])
    db.session.rollback()
    governed = db.session.get(HumanTask, task["id"])
    other = HumanTask(instance_id=governed.instance_id, project_id=governed.project_id, bpmn_id="appraisal",
                      status="ready", role="appraiser")
    user = api.user("calc_both")
    with counting() as seen, pytest.raises(Forbidden) as refused:
        duties.check(Actor(user), governed)
    assert len(seen) == 1 and refused.value.code == "duty_separation"
    with counting() as seen:
        duties.check(Actor(user), other)
        assert duties.refusal(user, other) is None
    assert seen == []
