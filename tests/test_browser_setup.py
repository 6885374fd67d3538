"""Browser test of setting up a project on the pages only: the administrator creates a member of staff, a
project, a village, a batch (removed again while no household is in it) and two work groups with their leaders
and members, a refused form keeping what was typed, and an edit refused because another administrator changed the
project meanwhile."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Project, User, utcnow
from services import identity, setup
from services.context import Actor
from services.tx import transaction

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import ARTIFACTS, Site, sign_in  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

BUDGET_SECONDS = 120
STAFF = {"wang_zz": ("王组长", ["group_leader"]), "li_zz": ("李组长", ["group_leader"]),
         "zhao_cg": ("赵村干", ["village_cadre"]), "qian_dc": ("钱调查", ["surveyor"]),
         "sun_jb": ("孙经办", ["handler"]), "qian_zr": ("钱主任", ["admin"])}


@pytest.fixture()
def staff(site: Site) -> Site:
    """The office's people, created with the identity service (the staff pages are not needed here)."""
    with pytest.MonkeyPatch.context() as patch, transaction():
        patch.setattr(identity, "hash_password", lambda password: "pbkdf2:sha256:1000$x$0")
        for username, (name, roles) in STAFF.items():
            identity.create_user(username, factories.PASSWORD, name, roles)
    return site


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"setup-{name}.png"), full_page=True)


def _add_group(page: Page, name: str, leader: str, members: list[str]) -> None:
    form = page.get_by_test_id("group-form")
    form.locator("#group-name").fill(name)
    form.locator("#group-leader").select_option(label=leader)
    for member in members:
        form.get_by_label(member, exact=True).check()
    form.get_by_test_id("add-group").click()
    expect(page.locator(".flash-success")).to_contain_text(name)


def test_the_administrator_sets_up_a_project_on_the_pages(staff: Site, page: Page):
    started = time.monotonic()
    sign_in(page, "admin")
    page.get_by_test_id("admin-staff").click()  # one member of staff comes in through the staff pages
    page.get_by_test_id("staff-new").click()
    page.fill("#username", "zhou_hs")
    page.fill("#display_name", "周核算")
    page.get_by_test_id("role-choices").get_by_label("核算员").check()
    page.get_by_test_id("staff-save").click()
    expect(page.locator('tr[data-username="zhou_hs"]')).to_contain_text("核算员")
    page.goto("/admin")
    page.get_by_test_id("admin-setup").click()
    expect(page.get_by_test_id("setup-projects")).to_contain_text(staff.world.project.name)
    page.get_by_test_id("new-project").click()

    form = page.get_by_test_id("project-form")
    form.locator("#code").fill("XQ-2026")
    form.locator("#name").fill("西区棚改")
    form.locator("#kind").select_option(label="国有土地")
    form.locator("#decision_number").fill("区政征字〔2026〕3号")
    form.locator("#signing_starts_on").fill("2026-06-01")
    form.locator("#sign_deadline").fill("2026-05-01")  # before the start: refused
    form.locator("#description").fill("西区棚户区改造")
    form.get_by_test_id("save-project").click()
    expect(page.locator("#e-sign_deadline")).to_contain_text("不得早于签约开始日期")
    expect(page.locator("#decision_number")).to_have_value("区政征字〔2026〕3号")
    expect(page.locator("#description")).to_have_value("西区棚户区改造")
    _shot(page, "refused")
    page.locator("#sign_deadline").fill("2026-08-31")
    page.get_by_test_id("save-project").click()
    expect(page.get_by_test_id("project-status")).to_have_text("进行中")
    expect(page.get_by_test_id("project-particulars")).to_contain_text("区政征字〔2026〕3号")

    village = page.get_by_test_id("village-form")
    village.locator("#village-name").fill("东村")
    village.locator("#village-cadre").select_option(label="赵村干")
    village.get_by_test_id("add-village").click()
    expect(page.locator('[data-village="东村"]')).to_contain_text("赵村干")

    batch = page.get_by_test_id("batch-form")
    batch.locator("#batch-name").fill("第一批")
    batch.locator("#batch-notes").fill("先行签约")
    batch.get_by_test_id("add-batch").click()
    expect(page.locator('[data-batch="第一批"]')).to_contain_text("先行签约")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator('[data-batch="第一批"]').get_by_test_id("remove-batch").click()  # no household in it yet
    expect(page.locator(".flash-success")).to_contain_text("第一批 已删除")
    expect(page.locator('[data-batch="第一批"]')).to_have_count(0)
    assert asked == ["确定删除“第一批”？删除后不能恢复。"]

    _add_group(page, "一组", "王组长", ["王组长", "钱调查", "孙经办"])
    _add_group(page, "二组", "李组长", ["周核算"])
    second = page.locator('[data-group="二组"]')
    second.get_by_role("link").click()
    page.get_by_test_id("member-form").locator("#username").select_option(label="李组长")
    page.get_by_test_id("add-member").click()
    expect(page.get_by_test_id("members")).to_contain_text("李组长")
    page.get_by_role("link", name="返回西区棚改").click()

    expect(page.locator('[data-group="一组"] [data-testid="group-leader"]')).to_have_text("王组长")
    expect(page.locator('[data-group="二组"] [data-testid="group-members"]')).to_contain_text("李组长")
    expect(page.locator('[data-group="二组"] [data-testid="group-members"]')).to_contain_text("周核算")
    _shot(page, "project")

    db.session.rollback()
    project = db.session.scalars(select(Project).where(Project.code == "XQ-2026")).one()
    page.get_by_test_id("edit-project").click()  # meanwhile another administrator changes the particulars
    page.locator("#description").fill("西区棚户区改造一期")
    other = db.session.scalars(select(User).where(User.username == "qian_zr")).one()
    setup.update_project(Actor(other), project.id, {"decision_number": "区政征字〔2026〕4号"}, now=utcnow())
    page.get_by_test_id("save-project").click()
    expect(page.get_by_test_id("stale-edit")).to_contain_text("钱主任")
    expect(page.locator("#description")).to_have_value("西区棚户区改造一期")
    page.get_by_test_id("save-project").click()  # saving again keeps the typed version, knowingly
    expect(page.get_by_test_id("project-particulars")).to_contain_text("西区棚户区改造一期")
    db.session.rollback()
    project = db.session.get(Project, project.id)
    assert project.kind == "state" and [v.name for v in project.villages] == ["东村"] and project.batches == []
    groups = {g.name: sorted(m.username for m in g.members) for g in project.groups}
    assert groups == {"一组": ["qian_dc", "sun_jb", "wang_zz"], "二组": ["li_zz", "zhou_hs"]}
    assert time.monotonic() - started < BUDGET_SECONDS
