"""Browser test: one household from registration to archive on the pages alone — every upload, a return with its
reason, the four signatures, the payment with an uploaded voucher, the archive. No step goes through the services:
after the household is created on the case list page, the database is only read to assert."""
from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance

pytest.register_assert_rewrite("tests.browser_support")
from tests import case_data  # noqa: E402
from tests.browser_support import Site, fill_empty_fields, path_is, sign_in, sign_out  # noqa: E402
from tests.test_files import pdf_bytes, png_bytes  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

SHOTS = "/tmp/e2e-"  # noqa: S108  (screenshots to look at, not data)
RETURN_REASON = "附房补偿单价取值有误，请按评估报告重新核算"
TODAY = date.today().isoformat()


class Run:
    """The browser's walk through one case: who is signed in, the screenshots taken so far."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.shots = 0
        self.user: str | None = None
        self.household_id = 0

    def shot(self, step: str) -> None:
        self.shots += 1
        self.page.screenshot(path=f"{SHOTS}{self.shots:02d}-{step}.png", full_page=True)

    def as_user(self, username: str) -> None:
        if self.user == username:
            self.page.locator('a[href="/inbox"]').first.click()
            expect(self.page).to_have_url(path_is("/inbox"))
            return
        if self.user is not None:
            sign_out(self.page)
        sign_in(self.page, username)
        self.user = username

    def open_step(self, username: str, step_name: str) -> None:
        """Sign in and open this household's step from the inbox, by the step's Chinese name."""
        self.as_user(username)
        page = self.page
        row = page.locator(f'[data-testid="inbox-table"] tr[data-task-id]:has(a[href="/cases/{self.household_id}"])')
        expect(row.filter(has_text=step_name)).to_have_count(1)
        row.filter(has_text=step_name).locator('a[href^="/tasks/"]').first.click()
        expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
        expect(page.get_by_test_id("step-form")).to_be_visible()

    def upload(self, category: str, name: str, content: bytes, mime: str = "image/png") -> None:
        """Upload one file of a category with the step page's files card."""
        files = self.page.get_by_test_id("files")
        files.get_by_test_id("upload-category").select_option(category)
        files.get_by_test_id("upload-input").set_input_files({"name": name, "mimeType": mime, "buffer": content})
        files.get_by_test_id("upload").click()
        expect(files.get_by_test_id("files-status")).to_contain_text("已上传 1 个文件")
        expect(files.locator(f'[data-testid="file-item"][data-name="{name}"]')).to_have_count(1)

    def complete(self, step: str) -> None:
        """Complete the open step with its button; the page leaves the step with a success message."""
        page = self.page
        url = page.url
        page.get_by_test_id("complete").click()
        expect(page).not_to_have_url(url)
        expect(page.locator(".flash-success").first).to_be_visible()
        self.shot(step)


def _fill(page: Page, data: dict[str, Any]) -> None:
    fill_empty_fields(page, data)


def test_one_household_from_registration_to_archive_on_the_pages(site: Site, page: Page) -> None:
    started = time.monotonic()
    run = Run(page)
    survey = case_data.survey()
    api_calls: list[str] = []
    page.context.on("request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None)
    failures: list[str] = []
    page.context.on("response", lambda answer: failures.append(f"{answer.status} {answer.url}")
                    if answer.status >= 500 else None)

    # the surveyor registers the household on the case list page
    run.as_user("surveyor")
    page.locator('a[href="/cases"]').first.click()
    page.get_by_test_id("new-household").click()
    page.select_option("#project_id", str(site.world.project.id))
    page.fill("#code", "E2E-001")
    page.select_option("#kind", "collective_house")
    page.fill("#head_name", survey["head_name"])
    page.fill("#address", survey["address"])
    run.shot("register")
    page.get_by_test_id("create-household").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    run.household_id = int(page.url.rsplit("/", 1)[1])

    run.open_step("surveyor", "调查建档")
    _fill(page, survey)
    for category, name in (("decision_notice", "征收决定公告.png"), ("survey_form", "入户调查表.png"),
                           ("id_scan", "身份证户口本.png"), ("title_deed", "宅基地证.pdf"),
                           ("measurement", "丈量表.png")):
        run.upload(category, name, pdf_bytes() if name.endswith(".pdf") else png_bytes((400, 300)),
                   "application/pdf" if name.endswith(".pdf") else "image/png")
    run.shot("survey")
    run.complete("survey-done")

    run.open_step("appraiser", "评估作业")
    _fill(page, {"firm": "江城房地产估价有限公司", "appraiser_name": "李评估", "report_no": "PG2026-0001",
                 "report_date": TODAY, "ancillary_value": "1200.00", "no_conflict": True,
                 "buildings": [{"unit_price": "4200.00", "decoration_value": "30000.00"},
                               {"unit_price": "1800.00", "decoration_value": "2000.00"}]})
    run.upload("appraisal_report", "评估报告.pdf", pdf_bytes(), "application/pdf")
    # the report's field, empty until now, picks the report just uploaded with the files card
    expect(page.locator("#f-report_file option:checked")).to_contain_text("评估报告.pdf")
    expect(page.locator("#f-firm")).to_have_value("江城房地产估价有限公司")  # what was typed stays
    run.shot("appraisal")
    run.complete("appraisal-done")

    run.open_step("rights_officer", "确权确户")
    _fill(page, {"basis": "不动产登记及村委会证明", "determined_on": TODAY,
                 "buildings": [{"legal_area": "160.00", "excluded_area": "8.50", "exclusion_reason": "超出证载面积"},
                               {"legal_area": "32.00", "excluded_area": "0.00"}]})
    run.upload("rights_table", "确权认定表.png", png_bytes((400, 300)))
    expect(page.locator("#f-table_file option:checked")).to_contain_text("确权认定表.png")
    run.shot("rights")
    run.complete("rights-done")

    run.open_step("accountant", "核算")
    _fill(page, {"option": "cash", "signed_on": TODAY, "notes": "按政策表核算"})
    run.upload("calculation_sheet", "补偿核算表.png", png_bytes((400, 300)))
    run.shot("calculation")
    run.complete("calculation-done")

    # the calc auditor returns the case to the calculation with a written reason
    run.open_step("calc_auditor", "核算审核")
    expect(page.get_by_test_id("red-line-checks")).to_be_visible()
    page.get_by_test_id("return-form").locator("#r-to").select_option("calculation")
    page.fill("#r-reason", RETURN_REASON)
    run.shot("calc-audit-return")
    page.get_by_test_id("return").click()
    expect(page).to_have_url(path_is("/inbox"))

    run.as_user("accountant")
    expect(page.get_by_test_id("inbox-table")).to_contain_text(RETURN_REASON)
    run.open_step("accountant", "核算")
    expect(page.get_by_test_id("return-banner")).to_contain_text(RETURN_REASON)
    page.fill("#f-notes", "已按评估报告重新核算附房")
    run.shot("calculation-returned")
    run.complete("calculation-again")

    run.open_step("calc_auditor", "核算审核")
    _fill(page, {"opinion": "核对无误，同意"})
    run.complete("calc-audit-done")

    run.open_step("policy_reviewer", "政策审核")
    _fill(page, {"opinion": "符合政策，同意"})
    run.shot("policy-review")
    run.complete("policy-review-done")

    # the handler prints the draft, uploads the household's signed scan in the field's picker and completes
    run.open_step("handler", "协议拟定")
    _fill(page, {"move_deadline": date.today().replace(year=date.today().year + 1).isoformat(),
                 "household_signed_on": TODAY})
    page.get_by_test_id("save-draft").click()
    expect(page.locator(".flash-success").first).to_contain_text("草稿已保存")
    with page.context.expect_page() as printed:
        page.get_by_test_id("agreement-print").click()
    draft = printed.value
    expect(draft.get_by_test_id("draft-mark")).to_be_visible()
    draft.screenshot(path=f"{SHOTS}{run.shots + 1:02d}-agreement-draft.png", full_page=True)
    run.shots += 1
    draft.close()
    page.locator('input[data-pick-upload="f-signed_scan"]').set_input_files(
        {"name": "签字协议.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()})
    expect(page.locator("#f-signed_scan option:checked")).to_contain_text("签字协议.pdf")
    run.shot("agreement")
    run.complete("agreement-done")

    for username, name in (("handler", "经办人签字"), ("group_leader", "工作组负责人签字"),
                           ("village_cadre", "村干部签字"), ("reviewer", "审核人员签字")):
        run.open_step(username, name)
        # a signer reads the numbered agreement; no draft banner asks for the scan already filed
        expect(page.get_by_test_id("agreement-view")).to_be_visible()
        expect(page.get_by_test_id("agreement-draft")).to_have_count(0)
        _fill(page, {"opinion": "同意", "no_conflict": True})
        run.shot(f"sign-{username}")
        run.complete(f"sign-{username}-done")

    # finance records the payment of the agreed amount, with the voucher uploaded in the payment row
    run.open_step("finance", "资金拨付")
    total = page.get_by_test_id("agreed-total")
    expect(total).to_contain_text("元")
    amount = re.search(r"([\d,]+\.\d\d) 元", total.inner_text()).group(1).replace(",", "")
    # a house has no tenant: the whole amount is the owner's, the default payee of each payment
    expect(page.get_by_test_id("payee-progress")).to_contain_text("产权人")
    expect(page.locator("#f-payments-0-payee option:checked")).to_have_text("产权人")
    _fill(page, {"payments": [{"amount": amount, "paid_on": TODAY, "voucher_no": "FK2026-0001"}]})
    page.locator('input[data-pick-upload="f-payments-0-attachment_id"]').set_input_files(
        {"name": "付款凭证.png", "mimeType": "image/png", "buffer": png_bytes((400, 300))})
    expect(page.locator("#f-payments-0-attachment_id option:checked")).to_contain_text("付款凭证.png")
    run.shot("payment")
    run.complete("payment-done")

    # the archivist files the vacating acceptance, checks the dossier and closes the case
    run.open_step("archivist", "档案归档")
    checklist = page.locator('[data-records="checklist"] tr[data-row]')
    expect(checklist).to_have_count(19)
    vacated = checklist.filter(has_text="腾空验收单").locator('input[type="checkbox"]')
    expect(vacated).not_to_be_checked()
    run.upload("vacated", "腾空验收单.png", png_bytes((400, 300)))
    expect(vacated).to_be_checked()  # the checklist ticks the acceptance just filed
    _fill(page, {"box_no": "A01", "serial_no": "2026-001"})
    expect(checklist.filter(has_text="补偿协议").locator('input[type="checkbox"]')).to_be_checked()
    expect(checklist.filter(has_text="付款凭证").locator('input[type="checkbox"]')).to_be_checked()
    run.shot("archive")
    run.complete("archive-done")

    page.goto(f"/cases/{run.household_id}")
    expect(page.get_by_test_id("case-status")).to_have_text("已办结")
    expect(page.get_by_test_id("dossier-summary")).to_contain_text("必备材料已齐全")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text(RETURN_REASON)
    run.shot("case-closed")

    db.session.rollback()
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.household_id == run.household_id))
    assert instance is not None and instance.status == "completed"
    done = db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance.id,
                                                              HumanTask.status == "completed")).all()
    assert {"survey", "calc_audit", "agreement_draft", "sign_reviewer", "payment", "archive"} <= set(done)
    assert api_calls == [], "the pages called the API"
    assert failures == []
    assert time.monotonic() - started < 180
