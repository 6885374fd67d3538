"""Browser tests of the step pages: a draft survives a refused completion and a reopened page; the rights page
warns while the clerk types; the audit page shows its red lines; the agreement step offers the draft to print."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import case_data, factories

pytest.register_assert_rewrite("tests.browser_support")
from tests.browser_support import Site, complete_step, open_task, sign_in, sign_out  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser
SHOTS = "/tmp/forms-"  # noqa: S108  (screenshots to look at, not data)


def test_a_draft_and_a_refused_completion_lose_nothing_when_the_step_is_reopened(site: Site, page: Page) -> None:
    _, instance = factories.new_household(site.world, code="B-1")
    task_id = open_task(instance.id, "survey").id
    sign_in(page, "surveyor")
    page.goto(f"/tasks/{task_id}")
    page.fill("#f-head_name", "王德福")
    page.fill("#f-notes", "附房待补测")
    page.get_by_test_id("save-draft").click()
    expect(page.locator(".flash-success")).to_contain_text("草稿已保存")

    page.goto("/inbox")
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#f-head_name")).to_have_value("王德福")
    expect(page.locator("#f-notes")).to_have_value("附房待补测")

    page.fill("#f-buildings-0-label", "主房")
    page.fill("#f-buildings-0-measured_area", "128.50")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("complete").click()
    assert answer.value.status == 422
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(page.get_by_test_id("form-notice")).to_contain_text("已将您填写的内容保存为草稿")
    expect(page.locator("#e-land_nature")).to_be_visible()
    expect(page.locator("#f-buildings-0-measured_area")).to_have_value("128.50")
    page.screenshot(path=f"{SHOTS}survey-refused.png", full_page=True)

    page.goto("/inbox")
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#f-head_name")).to_have_value("王德福")
    expect(page.locator("#f-buildings-0-label")).to_have_value("主房")
    expect(page.locator("#f-buildings-0-measured_area")).to_have_value("128.50")
    assert open_task(instance.id, "survey").id == task_id


def test_the_rights_page_warns_while_typing_and_the_audit_page_shows_the_checks(site: Site, page: Page) -> None:
    world = site.world
    household, instance = factories.new_household(world, code="B-2")
    for step in ("survey", "appraisal"):
        complete_step(world, instance.id, step)
    rights = open_task(instance.id, "rights")
    sign_in(page, "rights_officer")
    page.goto(f"/tasks/{rights.id}")
    legal = page.locator("#f-buildings-0-legal_area")
    legal.fill("200.00")
    warning = page.locator("td:has(#f-buildings-0-legal_area) .warning")
    expect(warning).to_contain_text("认定合法面积 200.00㎡ 超过实测面积 168.50㎡")
    legal.fill("160.00")
    expect(warning).to_have_count(0)
    legal.fill("200.00")
    page.get_by_test_id("save-draft").click()
    expect(page.get_by_test_id("field-warning")).to_contain_text("超过主房的实测面积 168.50㎡")
    page.screenshot(path=f"{SHOTS}rights-warning.png", full_page=True)

    data = case_data.step("rights", household.id)
    data["buildings"][0].update(legal_area="200.00", excluded_area=None, exclusion_reason=None)
    factories.complete_open_step(world, open_task(instance.id, "rights"), data)
    complete_step(world, instance.id, "calculation")
    audit = open_task(instance.id, "calc_audit")
    sign_out(page)
    sign_in(page, "calc_auditor")
    page.goto(f"/tasks/{audit.id}")
    checks = page.get_by_test_id("red-line-checks")
    expect(checks).to_contain_text("主房：认定合法面积 200.00㎡ 超过实测面积 168.50㎡")
    expect(checks.locator('[data-check="legal_area"][data-ok="no"]')).to_have_count(1)
    page.screenshot(path=f"{SHOTS}audit-checks.png", full_page=True)


def test_the_agreement_step_offers_the_draft_to_print_before_the_scan(site: Site, page: Page) -> None:
    world = site.world
    household, instance = factories.new_household(world, code="B-3")
    for step in ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review"):
        complete_step(world, instance.id, step)
    task = open_task(instance.id, "agreement_draft")
    sign_in(page, "handler")
    page.goto(f"/tasks/{task.id}")
    expect(page.get_by_test_id("agreement-scan-missing")).to_contain_text("尚未上传签字扫描件")
    page.screenshot(path=f"{SHOTS}agreement-step.png", full_page=True)
    page.goto(f"/cases/{household.id}/agreement")
    expect(page.get_by_test_id("draft-mark")).to_be_visible()
    expect(page.get_by_test_id("agreement-draft-note")).to_contain_text("协议草稿")
    page.screenshot(path=f"{SHOTS}agreement-draft.png", full_page=True)


def test_a_step_run_again_after_a_return_shows_why_and_what_changed_upstream(site: Site, page: Page) -> None:
    from app.models import utcnow
    from services import modules, runtime

    world = site.world
    household, instance = factories.new_household(world, code="B-4")
    for step in ("survey", "appraisal", "rights", "calculation"):
        complete_step(world, instance.id, step)
    runtime.return_task(world.actor("calc_auditor"), open_task(instance.id, "calc_audit").id, "survey",
                        "主房实测面积有误，请重新丈量", now=utcnow())
    data = case_data.survey()
    stored = modules.get_record(household.id, "survey").data
    for part in ("buildings", "persons"):
        for row, old in zip(data[part], stored[part], strict=True):
            row["id"] = old["id"]
    data["buildings"][0]["measured_area"] = "150.00"
    runtime.complete_task(world.actor("surveyor"), open_task(instance.id, "survey").id, data, now=utcnow())
    sign_in(page, "appraiser")
    page.goto(f"/tasks/{open_task(instance.id, 'appraisal').id}")
    expect(page.get_by_test_id("return-banner")).to_contain_text("主房实测面积有误")
    expect(page.get_by_test_id("change-table")).to_contain_text("168.50")
    page.screenshot(path=f"{SHOTS}appraisal-changes.png", full_page=True)
    page.get_by_test_id("sync").click()
    expect(page.locator(".flash-success")).to_contain_text("已从前序环节同步")
    expect(page.get_by_test_id("upstream-changes")).to_have_count(0)
