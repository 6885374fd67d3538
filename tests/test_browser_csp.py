"""Browser test: the pages with scripts — bpmn-js viewer and modeler, the live diagram, the charts, the step form —
still work under the Content-Security-Policy, and the browser reports no violation of it."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessDefinition

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import Site, sign_in, sign_out  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '')));
"""


def _watch(page: Page) -> list[str]:
    """Console errors and uncaught errors of the page, collected as they happen."""
    problems: list[str] = []
    page.context.add_init_script(WATCH)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _visit(page: Page, path: str, rendered: str, problems: list[str]) -> None:
    page.goto(path)
    if rendered:
        expect(page.locator(rendered).first).to_have_attribute("data-rendered", "true")
    violations = page.evaluate("() => window.__violations")
    assert violations == [], (path, violations)
    csp = [p for p in problems if "Content Security Policy" in p]
    assert csp == [], (path, csp)


def test_the_scripted_pages_work_under_the_policy(site: Site, page: Page) -> None:
    world = site.world
    household, _instance = factories.new_household(world)
    household_id = household.id
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.household_id == household_id))
    definition_id = db.session.scalar(select(ProcessDefinition.id).order_by(ProcessDefinition.id))
    db.session.commit()
    problems = _watch(page)

    sign_in(page, "surveyor")
    _visit(page, f"/cases/{household_id}", '[data-testid="diagram"]', problems)
    _visit(page, f"/tasks/{task_id}", "", problems)
    _visit(page, "/account/password", "", problems)
    _visit(page, "/account/tokens", "", problems)
    sign_out(page)

    sign_in(page, "process_owner")
    _visit(page, f"/processes/{definition_id}", '[data-testid="process-viewer"]', problems)
    _visit(page, f"/processes/{definition_id}/edit", '[data-testid="modeler"]', problems)
    assert page.evaluate("() => typeof window.processModeler.saveXML") == "function"
    sign_out(page)

    sign_in(page, "supervisor")
    _visit(page, "/supervisor/diagram", '[data-testid="live-diagram"]', problems)
    _visit(page, "/supervisor/reports", "canvas[data-rendered]", problems)
    assert [p for p in problems if "Content Security Policy" in p] == []
