"""Browser test: a surveyor previews a survey workbook of three households on the import page, reads the preview
in Chinese, confirms, and finds the households waiting for their appraisal; a broken workbook lists its bad cells
by sheet, row and column, and nothing is written."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Household, HumanTask
from bench.imports import survey_rows, workbook

pytest.register_assert_rewrite("tests.browser_support")
from tests.browser_support import Site, sign_in  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

SHOTS = "/tmp/bulk-import-"  # noqa: S108  (screenshots to look at, not data)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LATIN_WORD = re.compile(r"\b[A-Za-z]{4,}\b")


def upload(page: Page, name: str, data: bytes) -> None:
    section = page.get_by_test_id("bulk-survey")
    section.locator('input[type="file"]').set_input_files({"name": name, "mimeType": XLSX, "buffer": data})
    section.get_by_test_id("bulk-preview-survey").click()


def readable(text: str) -> None:
    """No English words on what the clerk reads (household codes like B-00001 aside)."""
    assert not LATIN_WORD.findall(text.replace("xlsx", "")), LATIN_WORD.findall(text)


def test_survey_workbook_preview_confirm_and_the_problem_table(site: Site, page: Page):
    started = time.monotonic()
    project = site.world.project
    sign_in(page, "surveyor")
    page.goto(f"{site.url}/projects/{project.id}/import")
    broken = survey_rows(3)
    broken["家庭成员"][2][2] = "110105194912310021"  # row 3: a wrong check digit
    broken["房屋"][4][4] = "茅草"  # row 5: no such structure
    upload(page, "有误的调查表.xlsx", workbook(broken))
    problems = page.get_by_test_id("bulk-problems")
    expect(problems).to_be_visible()
    expect(problems.locator('tr[data-sheet="家庭成员"][data-row="3"]')).to_contain_text("身份证号")
    expect(problems.locator('tr[data-sheet="房屋"][data-row="5"]')).to_contain_text("结构")
    expect(problems.get_by_role("alert")).to_contain_text("未导入")
    page.screenshot(path=f"{SHOTS}problems.png", full_page=True)
    readable(problems.inner_text())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Household)) == 0

    upload(page, "调查表.xlsx", workbook(survey_rows(3)))
    preview = page.get_by_test_id("bulk-preview")
    expect(preview).to_be_visible()
    expect(page.get_by_test_id("preview-households")).to_have_text("3")
    expect(page.get_by_test_id("preview-persons")).to_have_text("12")
    expect(page.get_by_test_id("preview-buildings")).to_have_text("6")
    expect(preview).to_contain_text("预览")
    page.screenshot(path=f"{SHOTS}preview.png", full_page=True)
    readable(preview.inner_text())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Household)) == 0  # a preview writes nothing

    page.get_by_test_id("bulk-confirm").click()
    expect(page.locator(".flash-success")).to_contain_text("3")
    page.screenshot(path=f"{SHOTS}imported.png", full_page=True)
    db.session.rollback()
    waiting = db.session.execute(select(Household.code, HumanTask.name).join(
        HumanTask, HumanTask.household_id == Household.id).where(HumanTask.status == "ready")
        .order_by(Household.code)).all()
    assert waiting == [(f"B-{i:05d}", "评估作业") for i in range(3)]
    for code in ("B-00000", "B-00002"):
        expect(page.locator("body")).to_contain_text(code)
    assert time.monotonic() - started < 120
