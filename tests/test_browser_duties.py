"""In Chromium: the step page of a calculation auditor who made the calculation says why, with 办结 disabled; the
administrator's rules page refuses switching a rule off without a reason."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from services import identity, runtime
from services.context import Actor
from services.tx import transaction
from tests import factories
from tests.browser_support import ARTIFACTS, Site, complete_step, instance_id_of, open_task, sign_in, sign_out

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser


def test_the_step_page_tells_the_calculator_to_leave_the_audit_to_another(site: Site, page: Page) -> None:
    world = site.world
    with transaction():
        both = identity.create_user("calc_both", factories.PASSWORD, "钱双岗", ["accountant", "calc_auditor"])
        world.project.groups[0].members.append(both)
    household, _instance = factories.new_household(world, code="Z-001")
    instance_id = instance_id_of(household.id)
    for step in ("survey", "appraisal", "rights"):
        complete_step(world, instance_id, step)
    calculation = open_task(instance_id, "calculation")
    factories.before_step(both, "calculation", household.id)
    runtime.complete_task(Actor(both), calculation.id, factories.step_data("calculation", household.id),
                          now=calculation.created_at)
    audit = open_task(instance_id, "calc_audit")

    sign_in(page, "calc_both")
    page.goto(f"/tasks/{audit.id}")
    expect(page.get_by_test_id("duty-notice")).to_contain_text("本案核算由您完成，须由其他核算审核员审核")
    expect(page.get_by_test_id("complete")).to_be_disabled()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "duty-notice.png"), full_page=False)
    sign_out(page)

    sign_in(page, "admin")
    page.goto(f"/admin/projects/{world.project.id}/duties")
    rule = page.locator('[data-rule="audit_not_calculator"]')
    rule.locator("textarea").fill("人手不够")
    rule.get_by_test_id("duty-off").click()
    expect(page.locator('[data-rule="audit_not_calculator"] .error')).to_contain_text("至少 10 个字")
    expect(page.locator('[data-rule="audit_not_calculator"] textarea')).to_have_value("人手不够")
    page.screenshot(path=str(ARTIFACTS / "duty-rules.png"), full_page=True)
