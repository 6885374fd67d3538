"""Browser test of the internal audit: the reviewer samples a project's cases and records a finding, the step's
role finds it in the inbox and records the rectification, the reviewer is told, opens it from the notice and
closes it, and the supervisor's page shows it closed — pages only."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import Site, sign_in, sign_out  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser  # every wait is bounded by the context's default timeout


def test_a_finding_is_opened_rectified_from_the_inbox_closed_and_the_supervisor_sees_it(site: Site, page: Page):
    world = site.world
    factories.new_household(world, "IA-1")
    factories.new_household(world, "IA-2")

    sign_in(page, "reviewer")
    page.get_by_test_id("nav-findings").click()
    form = page.get_by_test_id("sample-form")
    form.locator('select[name="project_id"]').select_option(str(world.project.id))
    form.locator('input[name="size"]').fill("5")
    page.get_by_test_id("sample-go").click()
    row = page.locator('[data-testid="sample-row"][data-code="IA-1"]')
    expect(row).to_have_count(1)
    row.locator('select[name="bpmn_id"]').select_option("survey")
    row.locator('select[name="severity"]').select_option("high")
    row.locator('input[name="text"]').fill("入户调查表缺户主签字")
    row.get_by_test_id("open-finding").click()
    expect(page.get_by_test_id("finding-state")).to_have_text("待整改")
    finding_url = page.url
    sign_out(page)

    sign_in(page, "surveyor")  # the inbox lists the finding to rectify, and it follows the link from there
    findings = page.get_by_test_id("inbox-finding")
    expect(findings).to_have_count(1)
    expect(findings).to_contain_text("IA-1")
    expect(findings).to_contain_text("调查建档")
    page.get_by_test_id("inbox-finding-link").click()
    page.locator("#rect-text").fill("已补户主签字并重新扫描上传")
    page.get_by_test_id("rectify").click()
    expect(page.get_by_test_id("finding-state")).to_have_text("已整改待复核")
    page.goto("/inbox")
    expect(page.get_by_test_id("inbox-findings")).to_have_count(0)
    sign_out(page)

    sign_in(page, "reviewer")  # told of the rectification, it opens the finding from the notice
    page.goto("/notifications")
    notice = page.locator('[data-kind="finding"]')
    expect(notice).to_contain_text("IA-1：“调查建档”的内审问题已整改，待您复核")
    notice.get_by_test_id("open-finding-notice").click()
    expect(page).to_have_url(finding_url)
    page.get_by_test_id("close-finding").click()
    expect(page.get_by_test_id("finding-state")).to_have_text("已销号")
    sign_out(page)

    sign_in(page, "supervisor")
    page.goto("/supervisor")
    page.get_by_test_id("nav-audit-overview").click()
    expect(page.get_by_test_id("count-closed")).to_have_text("1")
    expect(page.get_by_test_id("supervisor-finding-state")).to_have_text("已销号")
