"""Browser test of the supervisor's pages: stuck cases with their waiting times and bulk reassignment, the live
diagram with counts per step, the report charts and their .xlsx export."""
from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import HumanTask, utcnow
from services import identity
from services.tx import transaction

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import Site, open_task, sign_in  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser


def test_the_supervisor_sees_stuck_cases_reassigns_and_reads_live_counts_and_reports(site: Site, page: Page):
    world = site.world
    long_ago = utcnow() - timedelta(days=9, hours=3)  # the survey is due in 7 days
    stuck = [factories.new_household(world, code, now=long_ago)[1].id for code in ("SV-1", "SV-2")]
    factories.new_household(world, "SV-3")  # moving: started just now
    with transaction():
        helper = identity.create_user("surveyor_2", factories.PASSWORD, "第二调查员", ["surveyor"])
        world.project.groups[0].members.append(helper)
        helper_id = helper.id
    first_task = open_task(stuck[0], "survey").id

    sign_in(page, "supervisor")
    page.goto("/supervisor")
    table = page.get_by_test_id("stuck-table")
    expect(table.locator("tr[data-instance-id]")).to_have_count(2)
    expect(table).to_contain_text("SV-1")
    expect(table).not_to_contain_text("SV-3")
    expect(table.locator(f'tr[data-instance-id="{stuck[0]}"] [data-testid="waited"]')).to_have_text(
        re.compile(r"^9\D"))
    expect(page.get_by_test_id("overdue-by-role")).to_contain_text("2")

    table.locator(f'input[name="task_id"][value="{first_task}"]').check()
    page.select_option("#reassign-to", str(helper_id))
    page.get_by_test_id("reassign").click()
    expect(page.locator(".flash-success")).to_contain_text("1")
    db.session.rollback()
    assert db.session.get(HumanTask, first_task).assignee_id == helper_id

    page.goto("/supervisor/diagram")
    diagram = page.get_by_test_id("live-diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    badge = diagram.locator('a.count-badge[data-step="survey"]')
    expect(badge).to_have_count(1)
    expect(badge).to_have_text(re.compile(r"^32$"))  # three open, two of them overdue
    expect(badge).to_have_attribute("href", re.compile(r"step=survey"))

    page.goto("/supervisor/reports")
    expect(page.locator("canvas[data-rendered]").first).to_be_visible()
    expect(page.get_by_test_id("project-report").first).to_contain_text(world.project.name)
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as handle:  # the download's temporary file has no suffix
        book = load_workbook(BytesIO(handle.read()))
    assert "项目进度" in book.sheetnames
    codes = [row[0] for row in book["项目进度"].iter_rows(min_row=2, values_only=True)]
    assert world.project.code in codes
