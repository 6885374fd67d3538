"""Browser test of the supervisor's pages: stuck cases with their waiting times and bulk reassignment, the live
diagram with counts per step, the report charts and their .xlsx export, narrowed to one work group, and the
group leader's report of their own group."""
from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import HumanTask, utcnow
from services import households, identity
from services.tx import transaction

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import Site, open_task, sign_in, sign_out  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser


def test_the_supervisor_sees_stuck_cases_reassigns_and_reads_live_counts_and_reports(site: Site, page: Page):
    world = site.world
    long_ago = utcnow() - timedelta(days=9, hours=3)  # the survey is due in 7 days
    stuck = [factories.new_household(world, code, now=long_ago)[1].id for code in ("SV-1", "SV-2")]
    moving = factories.new_household(world, "SV-3")[0].id  # moving: started just now
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

    households.move(world.actor("supervisor"), moving, {"work_group_id": world.second_group.id}, now=utcnow())
    page.goto("/supervisor/reports")
    expect(page.locator("canvas[data-rendered]").first).to_be_visible()
    expect(page.get_by_test_id("project-report").first).to_contain_text(world.project.name)
    expect(page.get_by_test_id("report-scope")).to_contain_text("全部工作组")
    expect(page.get_by_test_id("households").first).to_have_text("3")
    page.select_option("select[name=group_id]", str(world.second_group.id))  # narrowed to one work group
    page.get_by_role("button", name="显示").click()
    expect(page.get_by_test_id("report-scope")).to_contain_text("工作组：第二工作组")
    expect(page.get_by_test_id("project-report")).to_have_count(1)
    expect(page.get_by_test_id("households")).to_have_text("1")
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as handle:  # the download's temporary file has no suffix
        book = load_workbook(BytesIO(handle.read()))
    assert [row[:3] for row in book["项目进度"].iter_rows(min_row=2, values_only=True)] == [
        (world.project.code, world.project.name, 1)]
    assert book["统计范围"]["A2"].value == "工作组：第二工作组"

    sign_out(page)  # the group leader counts their own group's households
    sign_in(page, "group_leader")
    page.goto("/supervisor/reports")
    expect(page.get_by_test_id("report-scope")).to_contain_text("本工作组：第一工作组")
    expect(page.get_by_test_id("households")).to_have_text("2")
    expect(page.locator("select[name=group_id]")).to_have_count(0)
