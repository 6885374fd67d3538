"""Full numbers from a step's page: the same audited act of the roles that need them as on the case page, the
step it was asked from in the trail, the form still masked and still keeping the stored numbers."""
from __future__ import annotations

import html as htmllib
import re

import pytest

from app.extensions import db
from app.models import utcnow
from services import modules, personal
from services.modules.store import get_record
from tests import case_data, factories
from tests.test_casefile import reveals
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser, open_task, text_of
from tests.test_step_pages import form_of


@pytest.fixture()
def pages(ctx) -> Browser:
    ensure_compiled()
    return Browser(ctx)


@pytest.fixture()
def survey_step(world) -> tuple[int, int, list[str]]:
    """A survey step whose draft holds three persons with their ID numbers: (household, step, numbers)."""
    household, instance = factories.new_household(world, code="R-1")
    survey = case_data.survey()
    modules.put(world.actor("surveyor"), household.id, "survey", survey, 0, now=utcnow())
    db.session.commit()
    return household.id, open_task(instance.id, "survey").id, [p["id_number"] for p in survey["persons"]]


def parts(page: str) -> tuple[str, str, str]:
    """The step form, the case file section and the household card of a step page."""
    form = page.split('data-testid="step-form"', 1)[1].split("</form>", 1)[0]
    case_file = page.split('data-testid="task-case-file"', 1)[1].split("</section>", 1)[0]
    card = page.split('data-testid="household-card"', 1)[1].split("</section>", 1)[0]
    return form, htmllib.unescape(case_file), htmllib.unescape(card)


def test_a_role_that_needs_them_reveals_the_numbers_on_the_step_page_audited_with_the_step(pages, survey_step):
    household_id, task_id, numbers = survey_step
    pages.as_user("surveyor")
    masked = text_of(pages.get(f"/tasks/{task_id}"))
    assert 'data-testid="reveal"' in masked and "显示完整号码" in masked
    assert all(n not in masked for n in numbers) and "13912345678" not in masked
    shown = pages.post(f"/tasks/{task_id}/reveal")
    assert shown.status_code == 200
    page = text_of(shown)
    form, case_file, card = parts(page)
    assert all(n in case_file for n in numbers) and "13912345678" in card
    assert all(n not in form for n in numbers) and personal.mask_id_number(numbers[0]) in form
    assert "已记入操作日志" in page
    rows = reveals()
    assert len(rows) == len(numbers) and {r.actor_name for r in rows} == {"surveyor"}
    assert all(r.household_id == household_id and r.after["step"] == "survey" for r in rows)
    again = text_of(pages.get(f"/tasks/{task_id}"))  # the next plain view is masked again
    assert all(n not in again for n in numbers)

    # the form posted from the revealed page, numbers left as shown, keeps the stored ones
    saved = pages.post(f"/tasks/{task_id}/draft", data={**form_of(page), "notes": "核对身份证原件"})
    assert saved.status_code == 302
    stored = get_record(household_id, "survey").data
    assert [p["id_number"] for p in stored["persons"]] == numbers and stored["notes"] == "核对身份证原件"


def test_the_trail_says_who_revealed_which_household_from_which_step(pages, survey_step):
    _household_id, task_id, numbers = survey_step
    pages.as_user("surveyor")
    assert pages.post(f"/tasks/{task_id}/reveal").status_code == 200
    pages.as_user("admin")
    trail = htmllib.unescape(text_of(pages.get("/trail?action=person.id_number.view")))
    assert "查看完整身份证号" in trail and "R-1" in trail
    assert "环节：调查建档" in re.sub(r"<[^>]+>|\s+", "", trail)
    assert all(n not in trail for n in numbers)


@pytest.mark.parametrize("username", ["appraiser", "accountant", "archivist"])
def test_a_role_without_need_gets_no_button_and_403_on_the_step_page(pages, survey_step, username):
    _household_id, task_id, numbers = survey_step
    pages.as_user(username)
    page = text_of(pages.get(f"/tasks/{task_id}"))
    assert 'data-testid="reveal"' not in page and "显示完整号码" not in page
    answer = pages.post(f"/tasks/{task_id}/reveal")
    assert answer.status_code == 403
    assert all(n not in text_of(answer) for n in numbers)
    assert reveals() == []
