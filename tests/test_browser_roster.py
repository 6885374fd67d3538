"""Browser test: a surveyor downloads the project's roster template from the import page, fills in households with
their village (村/片区), batch and work group, reads the bad cell of an unknown group by row and column, then
imports the corrected roster and the households land where the rows say."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Batch, Household, Village

pytest.register_assert_rewrite("tests.browser_support")
from tests.browser_support import Site, sign_in  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filled(template: bytes, group: str) -> bytes:
    """The downloaded template with two households, the first in the village, the batch and the given group."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook["花名册"]
    column = {c.value: c.column for c in sheet[1]}
    for row, values in enumerate(({"户号": "W-1", "户别": "企业", "地址": "北区1号", "户主姓名": "张一",
                                   "村/片区": "北区三村", "批次": "第一批", "工作组": group},
                                  {"户号": "W-2", "户别": "店面", "地址": "北区2号", "户主姓名": "李二"}), start=2):
        for header, value in values.items():
            sheet.cell(row=row, column=column[header], value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(page: Page, data: bytes) -> None:
    form = page.get_by_test_id("import-form")
    form.locator('input[type="file"]').set_input_files({"name": "花名册.xlsx", "mimeType": XLSX, "buffer": data})
    form.get_by_test_id("import-submit").click()


def test_the_roster_places_households_in_the_named_village_batch_and_group(site: Site, page: Page):
    project = site.world.project
    village, batch = Village(project_id=project.id, name="北区三村"), Batch(project_id=project.id, name="第一批")
    db.session.add_all([village, batch])
    db.session.commit()
    sign_in(page, "surveyor")
    page.goto(f"{site.url}/projects/{project.id}/import")
    with page.expect_download() as download:
        page.get_by_test_id("roster-template").click()
    with open(download.value.path(), "rb") as file:
        template = file.read()

    upload(page, filled(template, "第九工作组"))
    problems = page.get_by_test_id("import-problems")
    expect(problems.locator('tr[data-row="2"]')).to_contain_text("工作组")
    expect(problems.locator("tr[data-row]")).to_have_count(1)
    db.session.rollback()
    assert db.session.scalar(select(Household.id).where(Household.project_id == project.id)) is None

    upload(page, filled(template, "第二工作组"))
    expect(page.locator(".flash-success")).to_contain_text("2")
    db.session.rollback()
    landed = {h.code: (h.village_id, h.batch_id, h.work_group_id) for h in db.session.scalars(
        select(Household).where(Household.project_id == project.id))}
    assert landed == {"W-1": (village.id, batch.id, site.world.second_group.id),
                      "W-2": (None, None, site.world.group.id)}
