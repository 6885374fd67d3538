"""Browser test of the case file: an admin reads it with personal data masked; a rights officer shows the full
ID numbers with one explicit action, which the audit trail records; a surveyor does the same from the step."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from services.modules.store import get_record

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import ARTIFACTS, Site, sign_in, sign_out  # noqa: E402
from tests.test_pages import complete  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"casefile-{name}.png"), full_page=True)


def _case_page(page: Page, household_id: int, shot: str) -> str:
    page.goto(f"/cases/{household_id}")
    expect(page.get_by_test_id("personal-data")).to_be_visible()
    _shot(page, shot)
    return page.locator("main").inner_text()


def test_the_case_file_reads_masked_and_a_rights_officer_reveals_with_a_trace(site: Site, page: Page):
    world = site.world
    household, instance = factories.new_household(world, code="BC-1")
    complete(world, instance.id, "survey", "appraisal", "rights", "calculation")
    db.session.commit()
    numbers = [p["id_number"] for p in get_record(household.id, "survey").data["persons"]]

    sign_in(page, "admin")
    text = _case_page(page, household.id, "calculation")
    assert all(n not in text for n in numbers) and numbers[0][:3] + "*" * 11 + numbers[0][-4:] in text
    assert "主房价值（合法）" in text and "计算依据" in text and not ISO_UTC.search(text)
    expect(page.get_by_test_id("reveal")).to_be_visible()  # the admin may, but does not by default
    complete(world, instance.id, "calc_audit", "policy_review", "agreement_draft", "sign_handler",
             "sign_group_leader", "sign_village_cadre", "sign_reviewer", "payment")
    db.session.commit()
    text = _case_page(page, household.id, "paid")
    assert all(n not in text for n in numbers) and re.search(r"\d{1,3}(,\d{3})+\.\d\d 元", text)
    assert "红线检查" in text and "签字：经办人" in text and "139****5678" in text
    sign_out(page)

    sign_in(page, "rights_officer")
    page.goto(f"/cases/{household.id}")
    expect(page.locator("main")).not_to_contain_text(numbers[0])
    page.get_by_test_id("reveal").click()
    expect(page.locator("main")).to_contain_text(numbers[0])
    expect(page.get_by_test_id("personal-data")).to_contain_text("操作日志")
    _shot(page, "revealed")
    db.session.rollback()
    views = db.session.scalars(select(AuditLog).where(AuditLog.action == "person.id_number.view")).all()
    assert {v.actor_name for v in views} == {"rights_officer"} and len(views) == len(numbers)
    page.get_by_role("link", name="隐藏号码").click()
    expect(page.locator("main")).not_to_contain_text(numbers[0])


def test_a_surveyor_completes_a_survey_whose_numbers_the_page_shows_masked(site: Site, page: Page):
    from app.models import utcnow
    from services import modules
    from tests import case_data
    from tests.browser_support import open_task

    world = site.world
    household, instance = factories.new_household(world, code="BC-2")
    survey = case_data.survey()
    modules.put(world.actor("surveyor"), household.id, "survey", survey, 0, now=utcnow())
    factories.before_step(world.users["surveyor"], "survey", household.id)
    db.session.commit()
    numbers = [p["id_number"] for p in survey["persons"]]
    task = open_task(instance.id, "survey")

    sign_in(page, "surveyor")
    page.goto(f"/tasks/{task.id}")
    first = page.locator('input[name="persons.0.id_number"]')
    expect(first).to_have_value(numbers[0][:3] + "*" * 11 + numbers[0][-4:])
    expect(page.locator('input[name="phone"]')).to_have_value("139****5678")
    _shot(page, "survey-step")
    assert all(n not in page.content() for n in numbers)
    page.get_by_test_id("reveal").click()  # to check the numbers against the ID cards: audited, form kept masked
    expect(page.get_by_test_id("task-case-file")).to_contain_text(numbers[0])
    expect(first).to_have_value(numbers[0][:3] + "*" * 11 + numbers[0][-4:])
    _shot(page, "survey-step-revealed")
    page.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(rf"/cases/{household.id}$"))
    db.session.rollback()
    stored = get_record(household.id, "survey").data
    assert [p["id_number"] for p in stored["persons"]] == numbers and stored["phone"] == "13912345678"
    views = db.session.scalars(select(AuditLog).where(AuditLog.action == "person.id_number.view")).all()
    assert len(views) == len(numbers) and {v.after["step"] for v in views} == {"survey"}
