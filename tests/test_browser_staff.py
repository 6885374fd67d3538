"""Browser test: the administrator creates a member of staff with roles and a work group and resets their
password; that person signs in and must change the temporary password before anything else."""
from __future__ import annotations

import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytest.register_assert_rewrite("tests.browser_support")
from tests.browser_support import Site, path_is, sign_in, sign_out  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir())
TEMP = "Reset-temp-5507"
OWN = "My-own-pass-9241"
LIMIT_SECONDS = 120


@pytest.fixture(autouse=True)
def bounded() -> Iterator[None]:
    """The test fails instead of hanging when it runs longer than LIMIT_SECONDS."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"the staff browser test ran longer than {LIMIT_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(LIMIT_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_admin_creates_staff_and_resets_a_password_the_user_must_change(site: Site, page: Page):
    sign_in(page, "admin")
    page.get_by_test_id("admin-staff").click()
    expect(page).to_have_url(path_is("/staff"))
    expect(page.get_by_test_id("staff-table")).to_contain_text("从未登录")
    page.get_by_test_id("staff-new").click()
    page.fill("#username", "chen.jing")
    page.fill("#display_name", "陈静")
    page.fill("#email", "not-an-address")
    page.get_by_test_id("role-choices").get_by_label("调查员").check()
    page.get_by_test_id("role-choices").get_by_label("经办人").check()
    page.get_by_test_id("group-choices").get_by_label("北区三村 · 第一工作组").check()
    page.get_by_test_id("staff-save").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()  # the e-mail is refused, nothing typed is lost
    expect(page.locator("#display_name")).to_have_value("陈静")
    expect(page.get_by_test_id("role-choices").get_by_label("经办人")).to_be_checked()
    page.fill("#email", "chen@example.gov.cn")
    page.screenshot(path=str(SHOTS / "staff-form.png"), full_page=True)
    page.get_by_test_id("staff-save").click()
    expect(page).to_have_url(path_is("/staff"))
    row = page.locator('tr[data-username="chen.jing"]')
    expect(row).to_contain_text("调查员、经办人")
    expect(row).to_contain_text("北区三村 · 第一工作组")
    expect(row).to_contain_text("须修改密码")
    page.screenshot(path=str(SHOTS / "staff-list.png"), full_page=True)

    row.get_by_test_id("staff-edit").click()
    page.fill("#reset-password", TEMP)
    page.get_by_test_id("staff-reset-submit").click()
    expect(page.locator(".flash-success")).to_contain_text("临时密码")
    page.screenshot(path=str(SHOTS / "staff-edit.png"), full_page=True)
    sign_out(page)

    page.goto("/login")
    page.fill("#username", "chen.jing")
    page.fill("#password", TEMP)
    page.locator("#password").press("Enter")
    expect(page).to_have_url(path_is("/account/password"))
    expect(page.get_by_test_id("password-forced")).to_be_visible()
    page.goto("/inbox")
    expect(page).to_have_url(path_is("/account/password"))  # no other page until the password is changed
    page.fill("#current_password", TEMP)
    page.fill("#new_password", OWN)
    page.fill("#confirm", OWN)
    page.get_by_test_id("password-form").locator("[type=submit]").click()
    expect(page).to_have_url(path_is("/inbox"))
    sign_out(page)
    sign_in(page, "admin")
    page.goto("/staff?role=handler")
    expect(page.locator('tr[data-username="chen.jing"]')).not_to_contain_text("从未登录")
    expect(page.locator('tr[data-username="chen.jing"]')).to_contain_text("正常")
