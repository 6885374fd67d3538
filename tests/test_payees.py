"""A shop with a tenant (承租人): the agreement gives the owner and the tenant each a part; finance pays each part
to its own payee, never more than it, and the payment step completes only when both are paid; the printed
agreement and the .docx show both parts and the tenant's items; the tenant's bank account is masked."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import docx
import pytest
from flask import Flask

from app.extensions import db
from app.models import Household
from services import agreements, modules
from services.modules import payees
from services.modules.case import load
from tests import factories
from tests.api_support import assert_error, fast_passwords  # noqa: F401
from tests.test_compensation_people_business import shop_calculated
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser, complete, open_task, posted, text_of

D = Decimal
TENANT_ACCOUNT = "6217 0000 1111 2222 9876"
SIGNS = ("sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer")


def shop_at_payment(world: factories.World, code: str = "SHOP-P") -> tuple[Household, int]:
    """A shop whose tenant 李记餐饮 is given the business interruption and the equipment, signed and at payment."""
    household, instance = shop_calculated(world, code)
    for step in ("calc_audit", "policy_review"):
        factories.complete_open_step(world, open_task(instance.id, step),
                                     {"opinion": "核对无误，同意", "override_reason": "承租户部分按租赁协议确认"})
    row = open_task(instance.id, "agreement_draft")
    factories.before_step(world.users["handler"], "agreement_draft", household.id)
    factories.complete_open_step(world, row, {**factories.step_data("agreement_draft", household.id),
                                              "bank_account": "6222 0210 0100 1234",
                                              "tenant_bank_account": TENANT_ACCOUNT})
    for step in SIGNS:
        factories.complete_open_step(world, open_task(instance.id, step))
    return db.session.get(Household, household.id), instance.id


def _parts(household: Household) -> dict[str, Decimal]:
    parts = payees.agreed_parts(load(household))
    assert parts is not None and set(parts) == {"owner", "tenant"} and parts["tenant"] > 0, parts
    return parts


def _row(payee: str, amount: Decimal, voucher: str) -> dict:
    return {"payee": payee, "amount": f"{amount:.2f}", "paid_on": date.today().isoformat(), "voucher_no": voucher}


def test_each_payee_is_paid_their_part_and_no_more(world: factories.World, api, ctx: Flask) -> None:
    household, instance_id = shop_at_payment(world)
    parts = _parts(household)
    items = load(household).doc("agreement")["items"]  # the tenant's shares of interruption, equipment, decoration
    assert parts["tenant"] == sum(D(i["amount"]) for i in items if i.get("payee") == "tenant")
    task = open_task(instance_id, "payment")
    url = f"/api/v1/tasks/{task.id}/complete"

    # the owner paid in full is not enough: the tenant's part is still open
    error = assert_error(api.post(url, as_="finance", json={"data": {"payments": [
        _row("owner", parts["owner"], "FK1")]}}), 422, fields={"payments"})
    assert error["problems"]["payments"] == [{"code": "payee_paid_of_agreed", "params": {
        "payee": "tenant", "paid": "0.00", "agreed": f"{parts['tenant']:.2f}"}}]

    # one cent more to the tenant than their part: refused at that row, both amounts written out
    error = assert_error(api.post(url, as_="finance", json={"data": {"payments": [
        _row("owner", parts["owner"], "FK1"), _row("tenant", parts["tenant"] + D("0.01"), "FK2")]}}), 422)
    assert error["problems"]["payments.1.amount"][0]["code"] == "payment_above_payee"
    assert error["fields"]["payments.1.amount"] == [
        f"with this payment {parts['tenant'] + D('0.01'):,.2f} 元 would be paid to the tenant, more than the agreed "
        f"{parts['tenant']:,.2f} 元"]

    # over-paying the owner (two instalments) is refused on a draft save as well
    view = api.get(f"/api/v1/households/{household.id}/modules/payment", as_="finance").get_json()
    first = parts["owner"] - D("1000.00")
    error = assert_error(api.put(f"/api/v1/households/{household.id}/modules/payment", as_="finance", json={
        "data": {"payments": [_row("owner", first, "FK1"), _row("owner", D("1000.01"), "FK3")]},
        "version": view["version"]}), 422)
    assert error["problems"]["payments.1.amount"][0]["params"]["payee"] == "owner"

    # the tenant's part paid separately to the tenant, the owner's in two instalments: the step completes
    rows = [_row("owner", first, "FK1"), _row("tenant", parts["tenant"], "FK2"), _row("owner", D("1000.00"), "FK3")]
    response = api.post(url, as_="finance", json={"data": {"payments": rows}})
    assert response.status_code == 200, response.get_json()
    stored = modules.view(world.actor("finance"), household.id, "payment").data
    assert [p["payee"] for p in stored["payments"]] == ["owner", "tenant", "owner"]
    assert D(stored["paid_total"]) == parts["owner"] + parts["tenant"] == load(household).agreement_total()
    assert open_task(instance_id, "archive")


def test_the_payment_page_shows_each_payee_and_refuses_over_paying_in_chinese(world: factories.World,
                                                                                ctx: Flask) -> None:
    ensure_compiled()
    household, instance_id = shop_at_payment(world, "SHOP-Q")
    parts = _parts(household)
    task = open_task(instance_id, "payment")
    browser = Browser(ctx).as_user("finance")
    body = text_of(browser.get(f"/tasks/{task.id}"))
    progress = body.split('data-testid="payee-progress"', 1)[1].split("</table>", 1)[0]
    assert "收款方" in progress and "未付" in progress
    assert f"<td>产权人</td><td class=\"num\">{parts['owner']:,.2f} 元</td>" in progress
    assert f"<td>承租人</td><td class=\"num\">{parts['tenant']:,.2f} 元</td>" in progress
    assert '<option value="tenant"' in body and ">承租人</option>" in body

    too_much = {"payments": [_row("owner", parts["owner"], "FK1"), _row("tenant", parts["tenant"] + 1, "FK2")]}
    page = browser.post(f"/tasks/{task.id}/complete", data=posted(too_much))
    body = text_of(page)
    assert page.status_code == 422
    assert (f"加上此笔付款，支付给承租人的累计 {parts['tenant'] + 1:,.2f} 元，超过其协议金额 "
            f"{parts['tenant']:,.2f} 元") in body
    assert 'value="FK2"' in body  # what was typed is kept
    assert "tenant" not in body.split('data-testid="step-form"', 1)[1].split("</form>", 1)[0].replace(
        'value="tenant"', "")

    owner_only = {"payments": [_row("owner", parts["owner"], "FK1")]}
    page = browser.post(f"/tasks/{task.id}/complete", data=posted(owner_only))
    assert page.status_code == 422 and f"承租人：已支付 0.00 元，协议金额为 {parts['tenant']:,.2f} 元" in text_of(page)

    both = {"payments": [_row("owner", parts["owner"], "FK1"), _row("tenant", parts["tenant"], "FK2")]}
    page = browser.post(f"/tasks/{task.id}/complete", data=posted(both))
    assert page.status_code in (302, 303), text_of(page)[:500]
    assert open_task(instance_id, "archive")

    # the case file: each payment's payee in Chinese, the tenant's account masked
    case_page = text_of(Browser(ctx).as_user("finance").get(f"/cases/{household.id}"))
    assert "承租人银行账号" in case_page and "*" * 16 + "9876" in case_page and TENANT_ACCOUNT not in case_page
    assert "tenant_bank_account" not in case_page and "payee" not in case_page


def test_the_agreement_prints_the_owners_and_the_tenants_parts(world: factories.World, ctx: Flask) -> None:
    household, _instance = shop_at_payment(world, "SHOP-R")
    parts = _parts(household)
    agreement = modules.view(world.actor("handler"), household.id, "agreement").data
    assert agreement["template_version"] == "2026.2"
    assert agreement["tenant_bank_account"] == "*" * 16 + "9876"  # masked when read
    sheet = agreements.page(world.actor("handler"), household.id, office="城东街道办事处", timezone="Asia/Shanghai")
    text = "\n".join(b.text for b in sheet.blocks if b.kind == "paragraph")
    items = next(b for b in sheet.blocks if b.name == "items").rows
    tenant_items = [row for row in items if "承租户" in row[1]]
    stored = load(household).doc("agreement")["items"]
    assert len(tenant_items) == sum(1 for i in stored if i.get("payee") == "tenant")
    capitals = agreements.to_capitals(parts["tenant"])
    assert f"属乙方（产权人）的部分为人民币{parts['owner']:,.2f}元" in text
    assert f"属承租人李记餐饮的部分为人民币{parts['tenant']:,.2f}元（大写：人民币{capitals}）" in text
    numbers, labels = "、".join(r[0] for r in tenant_items), "、".join(r[1] for r in tenant_items)
    assert f"即上表第{numbers}项（{labels}）" in text
    assert f"支付至承租人李记餐饮账户（{TENANT_ACCOUNT}）" in text
    assert f"将属乙方的补偿款人民币{parts['owner']:,.2f}元" in text and "6222 0210 0100 1234" in text
    content = agreements.document(world.actor("handler"), household.id, office="城东街道办事处",
                                  timezone="Asia/Shanghai", now=factories.utcnow()).content
    document = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert f"属承租人李记餐饮的部分为人民币{parts['tenant']:,.2f}元" in document
    assert f"支付至承租人李记餐饮账户（{TENANT_ACCOUNT}）" in document


def test_without_a_tenants_part_payments_go_to_the_owner(world: factories.World, api, ctx: Flask) -> None:
    household, instance = factories.new_household(world, code="HOUSE-P")
    for step in ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review"):
        factories.complete_open_step(world, open_task(instance.id, step))
    error = assert_error(api.post(f"/api/v1/tasks/{open_task(instance.id, 'agreement_draft').id}/complete",
                                  as_="handler", json={"data": {**factories.step_data("agreement_draft", household.id),
                                                                "tenant_bank_account": "6217000011112222"}}), 422)
    assert error["problems"]["tenant_bank_account"][0]["code"] == "tenant_account_without_tenant"
    for step in ("agreement_draft", *SIGNS):
        factories.complete_open_step(world, open_task(instance.id, step))
    total = load(db.session.get(Household, household.id)).agreement_total()
    task = open_task(instance.id, "payment")
    error = assert_error(api.post(f"/api/v1/tasks/{task.id}/complete", as_="finance", json={"data": {"payments": [
        _row("tenant", total, "FK1")]}}), 422)
    assert error["problems"]["payments.0.payee"][0]["code"] == "payee_no_tenant_part"
    # a payment stored without a payee (as before payees were recorded) is the owner's and settles the agreement
    view = api.get(f"/api/v1/households/{household.id}/modules/payment", as_="finance").get_json()
    old = {k: v for k, v in _row("owner", total, "FK1").items() if k != "payee"}
    saved = api.put(f"/api/v1/households/{household.id}/modules/payment", as_="finance",
                    json={"data": {"payments": [old]}, "version": view["version"]})
    assert saved.status_code == 200 and "payee" not in saved.get_json()["data"]["payments"][0]
    progress = payees.progress(load(db.session.get(Household, household.id)), saved.get_json()["data"]["payments"])
    assert [(p.payee, p.agreed, p.paid, p.remaining) for p in progress] == [("owner", total, total, 0)]
    response = api.post(f"/api/v1/tasks/{task.id}/complete", as_="finance", json={"data": {}})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("payments", [None, "x", [{"amount": "abc"}, 3, {"payee": "someone", "amount": "5"}]])
def test_the_summary_reads_whatever_was_typed(payments) -> None:
    assert payees.paid_parts(payments)["owner"] == (D("5") if isinstance(payments, list) else 0)


def test_a_spare_row_left_at_the_default_payee_is_no_payment(world: factories.World, ctx: Flask) -> None:
    ensure_compiled()
    household, instance = factories.new_household(world, code="HOUSE-Q")
    complete(world, instance.id, "survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review",
             "agreement_draft", *SIGNS)
    total = load(db.session.get(Household, household.id)).agreement_total()
    task = open_task(instance.id, "payment")
    browser = Browser(ctx).as_user("finance")
    version = str(load(db.session.get(Household, household.id)).version("payment"))
    spare = {"payments.1.payee": "owner", "payments.1.amount": "", "payments.1.paid_on": "", "_version": version}
    # a row with only a voucher number typed: refused at its fields and kept as the draft, never a server error
    page = browser.post(f"/tasks/{task.id}/complete", data={
        **posted({"payments": [_row("owner", total, "FK1")]}), **spare, "payments.1.voucher_no": "FK9"})
    assert page.status_code == 422 and "已将您填写的内容保存为草稿" in text_of(page)
    version = str(load(db.session.get(Household, household.id)).version("payment"))
    page = browser.post(f"/tasks/{task.id}/complete", data={
        **posted({"payments": [_row("owner", total, "FK1")]}), **spare, "_version": version})
    assert page.status_code in (302, 303), text_of(page)[:300]
    stored = modules.view(world.actor("finance"), household.id, "payment").data["payments"]
    assert [(p["payee"], p["voucher_no"]) for p in stored] == [("owner", "FK1")]
