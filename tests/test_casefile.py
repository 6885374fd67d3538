"""The case file as the office reads it (labels, names, money in yuan, local times, no internal fields) and
personal data masked everywhere, shown in full only by an audited action of a role that needs it."""
from __future__ import annotations

import html as htmllib
import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, utcnow
from services import audit, personal
from services.context import Actor
from services.modules.store import get_record
from services.tx import transaction
from tests import factories
from tests.test_agreements import text_of_docx
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser, complete, open_task, text_of

STEPS = ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
         "sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer", "payment")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT")
INTERNAL_KEYS = re.compile(r"\b(total|computed_at|items|option|checks|code|upstream|revision|building_id|"
                           r"person_id|by_name|survey \d)\b")
NAMES = {"surveyor": "王调查", "handler": "孙经办", "finance": "周财务"}
MONEY = re.compile(r"\d{1,3}(,\d{3})+\.\d\d 元")


@pytest.fixture()
def browser(ctx) -> Browser:
    ensure_compiled()
    return Browser(ctx)


@pytest.fixture()
def paid_case(world) -> int:
    """A household with persons, buildings, calculation, signed agreement and payment, waiting for its archive."""
    for username, name in NAMES.items():
        world.users[username].display_name = name
    household, instance = factories.new_household(world, code="H-101")
    complete(world, instance.id, *STEPS)
    db.session.commit()
    return household.id


def full_numbers(household_id: int) -> list[str]:
    numbers = [p["id_number"] for p in get_record(household_id, "survey").data["persons"]]
    assert len(numbers) == 3 and all(len(n) == 18 for n in numbers)
    return numbers


def file_text(page: str) -> str:
    """The visible text of the household-file section of a page (where the modules are shown)."""
    start = page.index('data-module="survey"')
    body = re.sub(r"<[^>]+>", " ", page[start:])
    return htmllib.unescape(re.sub(r"\s+", " ", body))


def assert_office_file(page: str, numbers: list[str]) -> None:
    text = file_text(page)
    for number in numbers:
        assert number not in page
        assert personal.mask_id_number(number) in text
    assert not ISO_UTC.search(page), ISO_UTC.search(page)
    assert not INTERNAL_KEYS.search(text), INTERNAL_KEYS.search(text)
    for name in ("主房", "附房", "张建华", "李秀英", "张小军", "货币补偿", "计算依据", "主房价值（合法）",
                 "附房装修补偿（简易）"):
        assert name in text, name
    assert "房屋 1" not in text and "房屋 2" not in text
    assert "875,900.00 元" in text and MONEY.search(text)
    assert "139****5678" in text and "13912345678" not in page
    assert re.search(r"孙经办 · 20\d\d-\d\d-\d\d \d\d:\d\d · 同意", text)  # signer's name, local time
    assert text.count("第 ") >= 7 and "revision" not in text


def test_the_case_page_and_every_module_view_read_as_the_office_file(browser, paid_case):
    numbers = full_numbers(paid_case)
    for username in ("admin", "process_owner", "rights_officer", "supervisor"):
        browser.as_user(username)
        page = browser.get(f"/cases/{paid_case}")
        assert page.status_code == 200
        assert_office_file(text_of(page), numbers)
        assert "· 王调查" in text_of(page) and "· 周财务" in text_of(page)  # editors by name, not username
    archive = open_task(_instance(paid_case), "archive")
    browser.as_user("archivist")
    task = browser.get(f"/tasks/{archive.id}")
    assert task.status_code == 200
    assert_office_file(text_of(task), numbers)
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "person.id_number.view")) == 0


def _instance(household_id: int) -> int:
    from services.households import instance_of

    return instance_of(household_id).id


def reveals() -> list[AuditLog]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "person.id_number.view")))


@pytest.mark.parametrize("username", ["appraiser", "accountant", "supervisor", "process_owner", "archivist"])
def test_a_role_without_need_cannot_reveal(browser, paid_case, username):
    browser.as_user(username)
    page = text_of(browser.get(f"/cases/{paid_case}"))
    assert 'data-testid="reveal"' not in page
    answer = browser.post(f"/cases/{paid_case}/reveal")
    assert answer.status_code == 403
    assert all(n not in text_of(answer) for n in full_numbers(paid_case))
    assert reveals() == []


@pytest.mark.parametrize("username", ["rights_officer", "admin", "handler"])
def test_a_role_that_needs_them_reveals_the_numbers_and_each_view_is_audited(browser, paid_case, username):
    numbers = full_numbers(paid_case)
    browser.as_user(username)
    masked = text_of(browser.get(f"/cases/{paid_case}"))
    assert 'data-testid="reveal"' in masked and all(n not in masked for n in numbers)
    assert reveals() == []
    shown = browser.post(f"/cases/{paid_case}/reveal")
    assert shown.status_code == 200
    page = text_of(shown)
    assert all(n in page for n in numbers) and "13912345678" in page
    rows = reveals()
    assert len(rows) == 3 and {r.actor_name for r in rows} == {username}
    assert {r.after["name"] for r in rows} == {"张建华", "李秀英", "张小军"}
    assert all(r.household_id == paid_case for r in rows)
    again = text_of(browser.get(f"/cases/{paid_case}"))  # the next plain view is masked again
    assert all(n not in again for n in numbers)


def test_the_api_masks_module_reads_without_reveal(api, paid_case):
    numbers = full_numbers(paid_case)
    case = api.get(f"/api/v1/households/{paid_case}", as_="admin")
    assert case.status_code == 200
    body = case.get_data(as_text=True)
    assert all(n not in body for n in numbers) and "13912345678" not in body
    for module in ("survey", "agreement"):
        read = api.get(f"/api/v1/households/{paid_case}/modules/{module}", as_="admin").get_data(as_text=True)
        assert all(n not in read for n in numbers)


def xlsx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist()
                       if name.endswith(".xml"))


def test_the_ledger_and_the_audit_trail_exports_carry_no_full_number(browser, world, paid_case):
    numbers = full_numbers(paid_case)
    with transaction():  # a raw survey in a trail entry, as older entries hold them
        audit.record(Actor(world.users["surveyor"]), "module.survey.sync", "household", paid_case,
                     household_id=paid_case, after=get_record(paid_case, "survey").data, at=utcnow())
    stored = " ".join(str(r.after) for r in db.session.scalars(select(AuditLog)))
    assert numbers[0] in stored  # the trail itself keeps what happened
    browser.as_user("admin")
    ledger = browser.get(f"/projects/{world.project.id}/ledger.xlsx")
    trail = browser.get("/trail/export.xlsx")
    assert ledger.status_code == 200 and trail.status_code == 200
    for content in (ledger.get_data(), trail.get_data()):
        text = xlsx_text(content)
        assert all(n not in text for n in numbers)
    trail_text = xlsx_text(trail.get_data())
    assert personal.mask_id_number(numbers[0]) in trail_text and "139****5678" in trail_text


def test_the_agreement_names_the_buildings_and_the_project_once(browser, world, paid_case):
    labels = [i["label"] for i in get_record(paid_case, "calculation").data["items"]]
    assert labels[:4] == ["主房价值（合法）", "附房价值（历史遗留）", "主房装修补偿（砖混）", "附房装修补偿（简易）"]
    world.project.name = "北区三村集体土地征收项目"
    db.session.commit()
    browser.as_user("handler")
    page = text_of(browser.get(f"/cases/{paid_case}/agreement"))
    document = text_of_docx(browser.get(f"/cases/{paid_case}/agreement.docx").get_data())
    for text in (page, document):
        assert "项目项目" not in text and "为保障北区三村集体土地征收项目顺利实施" in text
        assert "主房价值（合法）" in text and "附房装修补偿（简易）" in text
        assert "房屋 1" not in text and "房屋 2" not in text


def test_mask_personal_masks_keys_at_any_depth_and_numbers_inside_texts():
    number = "110105196503121315"
    stored = {"persons": [{"name": "张建华", "id_number": number, "phone": "13912345678"}],
              "bank_account": "6222 0210 0100 1234", "notes": f"户主身份证 {number}，电话13912345678", "count": 2,
              "nested": {"deep": [{"id_number": number}]}}
    masked = personal.mask_personal(stored)
    flat = str(masked)
    assert number not in flat and "13912345678" not in flat and "0100 1234" not in flat
    assert masked["persons"][0]["id_number"] == "110***********1315"
    assert masked["persons"][0]["phone"] == "139****5678" and masked["bank_account"].endswith("1234")
    assert masked["notes"] == "户主身份证 110***********1315，电话139****5678" and masked["count"] == 2
    assert stored["persons"][0]["id_number"] == number  # the stored value is left alone
    assert personal.mask_personal(None) is None and personal.mask_phone("0571-8765432") == "057*-***5432"


def test_a_step_form_shows_numbers_masked_and_keeps_them_when_left_as_shown(browser, world):
    from services import modules, runtime, tasks
    from tests import case_data

    household, instance = factories.new_household(world, code="H-102")
    row = open_task(instance.id, "survey")
    survey = case_data.survey()
    modules.put(world.actor("surveyor"), household.id, "survey", survey, 0, now=utcnow())
    numbers = [p["id_number"] for p in survey["persons"]]
    db.session.commit()
    browser.as_user("surveyor")
    page = text_of(browser.get(f"/tasks/{row.id}"))
    assert all(n not in page for n in numbers) and personal.mask_id_number(numbers[0]) in page
    assert "13912345678" not in page
    shown = tasks.form_values(row)  # what the page's inputs hold, submitted untouched but one new phone
    assert shown["persons"][0]["id_number"] == personal.mask_id_number(numbers[0])
    shown["persons"][2]["id_number"] = case_data.id_number("19930303", 575)
    runtime.complete_task(world.actor("surveyor"), row.id, shown, now=utcnow())
    stored = get_record(household.id, "survey").data
    assert [p["id_number"] for p in stored["persons"]] == [*numbers[:2], case_data.id_number("19930303", 575)]
    assert stored["phone"] == "13912345678"
