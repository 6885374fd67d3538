"""Browser test support: the application on a live server, Debian's chromium, sign-in and step helpers."""
from __future__ import annotations

import re
import signal
import threading
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Error, Locator, Page, Playwright, expect, sync_playwright
from sqlalchemy import select
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from app.extensions import db
from app.models import HumanTask
from services import households, identity
from tests import factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
BPMN_VIEWER = ROOT / "app" / "static" / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js"
TIMEOUT_MS = 10_000
LIMIT_SECONDS = 300  # no browser test runs longer than this: it fails instead of hanging the suite

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture(autouse=True)
def _browser_test_bounded(request: pytest.FixtureRequest) -> Iterator[None]:
    """A browser test (marked browser) fails with TimeoutError after LIMIT_SECONDS instead of hanging."""
    if request.node.get_closest_marker("browser") is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"{request.node.name} ran longer than {LIMIT_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(LIMIT_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Site:
    """The live server's address and the world its database holds."""

    url: str
    world: factories.World


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The session's application served by werkzeug on a free local port, in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _quick_hash(password: str) -> str:
    """A cheap salted hash: the world's seventeen users need not cost a second of scrypt per test."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture()
def site(live_server: str, ctx: Flask) -> Site:
    """The live server on a database cleared by `ctx` and filled by build_world (with cheap password hashes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "hash_password", _quick_hash)
        world = factories.build_world()
    return Site(url=live_server, world=world)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, shared by the session; a clear failure when it is not installed."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"chromium is not installed at {CHROMIUM}; the browser tests need it "
                    "(`make browser-deps`, i.e. apt-get install chromium fonts-noto-cjk)", pytrace=False)
    try:
        instance = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Error as exc:
        pytest.fail(f"chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
    yield instance
    instance.close()


@pytest.fixture()
def page(browser: Browser, live_server: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context; every page of the context is screenshotted when the test fails."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900},
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            _screenshot(context.pages, request)
        context.close()


def _screenshot(pages: list[Page], request: pytest.FixtureRequest) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", request.node.nodeid).strip("_")
    for number, tab in enumerate(pages):
        target = ARTIFACTS / (f"{stem}.png" if number == 0 else f"{stem}-{number}.png")
        try:
            tab.screenshot(path=str(target), full_page=True)
        except Error as exc:
            request.node.add_report_section("teardown", "screenshot", f"no screenshot of {tab.url}: {exc}")
        else:
            request.node.add_report_section("teardown", "screenshot", f"{tab.url} -> {target}")


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern matching exactly this path, with or without a query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


def submit_of(page: Page, field: str) -> Locator:
    """The submit button of the form that holds the field."""
    return page.locator(field).locator("xpath=ancestor::form[1]").locator("[type=submit]")


# where a role lands after signing in (everyone else: the inbox)
LANDINGS = {"supervisor": "/supervisor", "process_owner": "/processes", "admin": "/admin"}


def sign_in(page: Page, username: str, password: str = factories.PASSWORD) -> None:
    """Sign in through the login page and land where the role works (the inbox for most)."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    submit_of(page, "#password").click()
    expect(page).to_have_url(path_is(LANDINGS.get(username, "/inbox")))


def sign_out(page: Page) -> None:
    """Sign out with the header's button and land on the login page."""
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(path_is("/login"))


def fill_empty_fields(page: Page, data: Mapping[str, Any], prefix: str = "") -> None:
    """Enter values into the step form's empty fields (ids f-<path with dashes>); prefilled ones keep theirs.

    Rows of record tables are added with the table's button when the page does not show enough of them.
    """
    for name, value in data.items():
        path = prefix + name
        if isinstance(value, Mapping):
            fill_empty_fields(page, value, path + ".")
            continue
        if isinstance(value, list):
            for index, row in enumerate(value):
                while page.locator(f'[data-records="{path}"] tr[data-row]').count() <= index:
                    page.locator(f'[data-add-row="{path}"]').click()
                fill_empty_fields(page, row, f"{path}.{index}.")
            continue
        field = page.locator(f"#f-{path.replace('.', '-')}")
        if field.count() == 0 or value is None:
            continue
        kind = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.getAttribute('type') || '')")
        if kind == "input:checkbox":
            field.set_checked(bool(value))
        elif field.input_value() != "":
            continue
        elif kind.startswith("select"):
            field.select_option(str(value))
        else:
            field.fill(str(value))


def open_task(instance_id: int, bpmn_id: str) -> HumanTask:
    """The open step of an instance with that BPMN id, read afresh from the database."""
    db.session.rollback()
    row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                    HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))
    assert row is not None, f"{bpmn_id} is not open in instance {instance_id}"
    return row


def complete_step(world: factories.World, instance_id: int, bpmn_id: str) -> None:
    """Complete a step through the services as its role, with the factories' data."""
    row = open_task(instance_id, bpmn_id)
    factories.complete_open_step(world, row)


def instance_id_of(household_id: int) -> int:
    """The id of a household's process instance, read afresh from the database."""
    db.session.rollback()
    instance = households.instance_of(household_id)
    assert instance is not None, f"household {household_id} has no process instance"
    return instance.id
