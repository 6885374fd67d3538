"""Browser test of moving a household to another work group from its case page."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import Site, sign_in  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser


def test_the_supervisor_moves_a_household_to_the_second_group(site: Site, page: Page):
    household, _instance = factories.new_household(site.world, "MV-1")
    sign_in(page, "supervisor")
    page.goto(f"/cases/{household.id}")
    card = page.get_by_test_id("work-group")
    expect(card).to_contain_text("第一工作组")
    page.get_by_test_id("move-to").select_option(label="第二工作组")
    page.get_by_test_id("move").click()
    expect(page.locator(".flash-success")).to_contain_text("该户已调整到其他工作组")
    expect(card).to_contain_text("第二工作组")
    expect(page.get_by_test_id("move-to")).not_to_contain_text("第二工作组")
