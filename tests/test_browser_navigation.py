"""Browser test: each role lands where its work is; the inbox sorts by a column head and filters by a badge;
the audit trail and the administration page read in Chinese."""
from __future__ import annotations

import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, utcnow
from services.tx import transaction

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import Site, path_is, sign_in, sign_out  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir())


def test_roles_land_on_their_pages_and_the_inbox_sorts_and_filters(site: Site, page: Page):
    world = site.world
    now = utcnow()
    with transaction():
        for code, due in (("NV-2", 3), ("NV-1", 40), ("NV-3", -5)):
            _, instance = factories.new_household(world, code)
            row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
            row.due_at = now + timedelta(hours=due)

    sign_in(page, "admin")  # lands on administration
    expect(page.get_by_test_id("admin-links")).to_contain_text("操作日志")
    page.screenshot(path=str(SHOTS / "nav-admin.png"), full_page=True)
    page.get_by_test_id("admin-trail").click()
    expect(page).to_have_url(path_is("/trail"))
    expect(page.get_by_test_id("trail-table")).to_contain_text("登记住户")
    expect(page.get_by_test_id("trail-table")).not_to_contain_text("household.create")
    page.select_option('[data-testid="filter-action"]', "household.create")
    page.get_by_test_id("trail-filters").locator("button[type=submit]").click()
    expect(page.get_by_test_id("trail-table").locator('tr[data-testid="trail-row"]')).to_have_count(3)
    page.screenshot(path=str(SHOTS / "nav-trail.png"), full_page=True)
    sign_out(page)

    sign_in(page, "supervisor")  # lands on the overview
    expect(page.get_by_test_id("stuck-table")).to_be_visible()
    sign_out(page)
    sign_in(page, "process_owner")  # lands on the processes
    expect(page.locator("h1")).to_contain_text("流程")
    sign_out(page)

    sign_in(page, "surveyor")
    rows = page.get_by_test_id("inbox-table").locator("tr[data-task-id]")
    expect(rows.first).to_contain_text("NV-3")  # most urgent first
    page.get_by_test_id("sort-household").click()
    expect(page).to_have_url(re.compile(r"sort=household"))
    expect(rows.first).to_contain_text("NV-1")
    page.get_by_test_id("sort-household").click()  # the same head again: the other way
    expect(page).to_have_url(re.compile(r"dir=desc"))
    expect(rows.first).to_contain_text("NV-3")
    page.get_by_test_id("filter-due-soon").click()
    expect(page).to_have_url(re.compile(r"due_soon=1.*sort=household|sort=household.*due_soon=1"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("NV-2")
    page.get_by_test_id("filter-all").click()
    expect(rows).to_have_count(3)
    page.screenshot(path=str(SHOTS / "nav-inbox.png"), full_page=True)
