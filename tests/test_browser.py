"""Browser tests: chromium drives the pages on a live server (login, inbox, steps, returns, diagram, access)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests import factories

pytest.register_assert_rewrite("tests.browser_support")
from tests.browser_support import (  # noqa: E402
    BPMN_VIEWER,
    Site,
    complete_step,
    fill_empty_fields,
    instance_id_of,
    open_task,
    path_is,
    sign_in,
    sign_out,
    submit_of,
)

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

RETURN_REASON = "合法面积与确权认定表不一致，请按210㎡重新核算"


def _task_row(page: Page, task_id: int) -> Locator:
    """The inbox row of a step."""
    return page.locator(f'[data-testid="inbox-table"] tr[data-task-id="{task_id}"]')


def test_a_step_returned_with_a_reason_reaches_the_earlier_role(site: Site, page: Page) -> None:
    """Survey in the browser, return calc_audit to calculation, and the accountant sees the returned step."""
    world = site.world
    sign_in(page, "surveyor")

    page.locator('a[href="/cases"]').first.click()
    page.get_by_test_id("new-household").click()
    expect(page).to_have_url(path_is("/cases/new"))
    page.select_option("#project_id", str(world.project.id))
    page.fill("#code", "BT-001")
    page.select_option("#kind", "collective_house")
    page.fill("#head_name", "李秀英")
    page.fill("#address", "北区三村2组8号")
    page.get_by_test_id("create-household").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    household_id = int(page.url.rsplit("/", 1)[1])

    page.locator('a[href="/inbox"]').first.click()
    survey = page.locator(f'[data-testid="inbox-table"] tr[data-task-id]:has(a[href="/cases/{household_id}"])')
    expect(survey).to_have_count(1)
    survey.locator('a[href^="/tasks/"]').first.click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    expect(page.locator("#f-head_name")).to_have_value("李秀英")
    expect(page.locator("#f-address")).to_have_value("北区三村2组8号")
    fill_empty_fields(page, factories.STEP_DATA["survey"])
    page.get_by_test_id("complete").click()
    expect(page).to_have_url(path_is(f"/cases/{household_id}"))

    instance_id = instance_id_of(household_id)
    appraisal = open_task(instance_id, "appraisal")
    expect(page.locator(f'[data-testid="current-steps"] a[href="/tasks/{appraisal.id}"]')).to_be_visible()
    for step in ("appraisal", "rights", "calculation"):
        complete_step(world, instance_id, step)
    audit_id = open_task(instance_id, "calc_audit").id
    sign_out(page)

    sign_in(page, "calc_auditor")
    _task_row(page, audit_id).locator(f'a[href="/tasks/{audit_id}"]').first.click()
    expect(page).to_have_url(path_is(f"/tasks/{audit_id}"))
    expect(page.get_by_test_id("return-form")).to_be_visible()
    page.select_option("#r-to", "calculation")
    page.fill("#r-reason", RETURN_REASON)
    page.get_by_test_id("return").click()
    expect(page).to_have_url(path_is("/inbox"))
    expect(_task_row(page, audit_id)).to_have_count(0)
    sign_out(page)

    returned = open_task(instance_id, "calculation")
    assert returned.returned and returned.return_reason == RETURN_REASON
    sign_in(page, "accountant")
    row = _task_row(page, returned.id)
    expect(row).to_have_class(re.compile(r"(^|\s)returned(\s|$)"))
    expect(page.get_by_test_id("inbox-table")).to_contain_text(RETURN_REASON)
    expect(page.get_by_test_id("unread-badge")).to_be_visible()
    page.goto("/inbox?returned=1")
    expect(_task_row(page, returned.id)).to_have_count(1)

    row.locator(f'a[href="/tasks/{returned.id}"]').first.click()
    expect(page).to_have_url(path_is(f"/tasks/{returned.id}"))
    expect(page.get_by_test_id("return-banner")).to_contain_text(RETURN_REASON)
    expect(page.locator("#f-option")).to_have_value(factories.STEP_DATA["calculation"]["option"])
    expect(page.get_by_test_id("complete")).to_be_enabled()

    page.goto(f"/cases/{household_id}")
    diagram = page.get_by_test_id("diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    expect(diagram.locator('[data-element-id="calculation"]').first).to_have_class(re.compile(r"\bstep-returned\b"))


def test_the_case_page_renders_the_diagram_with_the_current_step_marked(site: Site, page: Page) -> None:
    """bpmn-js draws the pipeline; the open step is marked current and the finished one done."""
    assert BPMN_VIEWER.is_file(), f"bpmn-js is not installed at {BPMN_VIEWER.parent}; run `make assets`"
    household, instance = factories.new_household(site.world)
    household_id, instance_id = household.id, instance.id
    complete_step(site.world, instance_id, "survey")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, "appraiser")
    page.goto(f"/cases/{household_id}")
    diagram = page.get_by_test_id("diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    assert diagram.get_attribute("data-error") is None
    expect(diagram.locator('[data-element-id="appraisal"]').first).to_have_class(re.compile(r"\bstep-current\b"))
    expect(diagram.locator('[data-element-id="survey"]').first).to_have_class(re.compile(r"\bstep-done\b"))
    expect(diagram.locator(".step-current")).to_have_count(1)
    assert errors == []


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(site: Site, page: Page) -> None:
    """A failed sign-in answers 401 on the login page with the username kept and the password cleared."""
    page.goto("/login")
    page.fill("#username", "surveyor")
    page.fill("#password", "not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
        submit_of(page, "#password").click()
    assert answer.value.status == 401
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.locator("#username")).to_have_value("surveyor")
    expect(page.locator("#password")).to_have_value("")
    expect(page.get_by_test_id("logout")).to_have_count(0)

    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    sign_in(page, "surveyor")


def test_an_invalid_step_form_shows_field_errors_and_keeps_the_values(site: Site, page: Page) -> None:
    """The survey form answers 422 with each bad field marked and every entered value kept."""
    _, instance = factories.new_household(site.world)
    task_id = open_task(instance.id, "survey").id
    sign_in(page, "surveyor")
    page.goto(f"/tasks/{task_id}")
    page.fill("#f-head_name", "")
    page.fill("#f-phone", "12345")
    page.fill("#f-buildings-0-measured_area", "-5")
    page.select_option("#f-buildings-0-structure", "frame")
    page.fill("#f-notes", "户主外出务工，由其子代为说明")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("complete").click()
    assert answer.value.status == 422

    expect(page.get_by_test_id("form-errors")).to_be_visible()
    for name in ("head_name", "phone", "land_nature", "buildings-0-label", "buildings-0-measured_area",
                 "buildings-0-floors", "buildings-0-use", "buildings-0-legal_status"):
        expect(page.locator(f"#e-{name}")).to_be_visible()
        expect(page.locator(f"#f-{name}")).to_have_attribute("aria-invalid", "true")
    for name in ("address", "buildings-0-structure", "notes", "homestead_area", "persons-0-name"):
        expect(page.locator(f"#e-{name}")).to_have_count(0)
    expect(page.locator("#f-phone")).to_have_value("12345")
    expect(page.locator("#f-buildings-0-measured_area")).to_have_value("-5")
    expect(page.locator("#f-buildings-0-structure")).to_have_value("frame")
    expect(page.locator("#f-address")).to_have_value("北区三村1组1号")
    expect(page.locator("#f-notes")).to_have_value("户主外出务工，由其子代为说明")
    assert open_task(instance.id, "survey").id == task_id

    for name in ("phone", "buildings-0-measured_area"):
        page.fill(f"#f-{name}", "")
    fill_empty_fields(page, factories.STEP_DATA["survey"])
    page.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    open_task(instance.id, "appraisal")


def test_a_user_of_another_project_gets_not_found_for_a_case(site: Site, page: Page) -> None:
    """The other project's surveyor gets 404 for the case, its diagram and its step, and no trace of it."""
    household, instance = factories.new_household(site.world, code="H-404")
    household_id = household.id
    task_id = open_task(instance.id, "survey").id
    sign_in(page, "outsider")
    expect(_task_row(page, task_id)).to_have_count(0)

    for path in (f"/cases/{household_id}", f"/cases/{household_id}/diagram.bpmn", f"/tasks/{task_id}"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        if not path.endswith(".bpmn"):
            expect(page.get_by_test_id("error-page")).to_be_visible()
        expect(page.get_by_test_id("diagram")).to_have_count(0)
        expect(page.get_by_test_id("step-form")).to_have_count(0)
        assert "H-404" not in page.content()
        assert "张建华" not in page.content()
