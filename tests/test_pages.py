"""The server-rendered pages: who sees what, forms with errors, CSRF, odd query arguments, login and language."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import HumanTask, Notification, utcnow
from services import identity, modules, runtime
from services.problems import problem
from services.tx import transaction
from tests import factories
from tests.test_i18n import ensure_compiled

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
RETURN_REASON = "装修补偿单价套用有误，请按政策表重新核算"


class Browser:
    """A test client that signs in by username and runs each request in an application context of its own."""

    def __init__(self, app: Flask):
        self.app = app
        self.client = app.test_client()

    def open(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        # the fixtures keep an application context open; a fresh one per request keeps Flask's `g`
        # (signed-in user, chosen locale) from leaking from one request into the next
        with self.app.app_context():
            return self.client.open(url, method=method, **kwargs)

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.open("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> TestResponse:
        return self.open("POST", url, **kwargs)

    def login(self, username: str, password: str = factories.PASSWORD) -> TestResponse:
        return self.post("/login", data={"username": username, "password": password})

    def as_user(self, username: str) -> Browser:
        """Sign out whoever is signed in and sign in as someone else."""
        self.client = self.app.test_client()
        response = self.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return self


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def open_task(instance_id: int, bpmn_id: str) -> HumanTask:
    """The open step of an instance with that BPMN id, read afresh."""
    db.session.rollback()
    row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                    HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))
    assert row is not None, f"{bpmn_id} is not open in instance {instance_id}"
    return row


def task_status(task_id: int) -> str:
    db.session.rollback()
    return db.session.get(HumanTask, task_id).status


def complete(world: factories.World, instance_id: int, *steps: str) -> None:
    """Complete steps through the services, each as its role with the factories' data."""
    for step in steps:
        row = open_task(instance_id, step)
        factories.complete_open_step(world, row)


@dataclass
class Cases:
    """Households of the world's project at known steps."""

    at_survey: int
    survey_task: int
    at_audit: int
    audit_task: int
    returned: int
    returned_task: int
    overdue_task: int


@pytest.fixture()
def browser(ctx: Flask) -> Browser:
    ensure_compiled()
    return Browser(ctx)


@pytest.fixture()
def cases(world: factories.World) -> Cases:
    """One case waiting for its survey, one at calculation audit, one returned from the audit to calculation."""
    first, first_instance = factories.new_household(world, code="H-001")
    survey = open_task(first_instance.id, "survey")
    second, second_instance = factories.new_household(world, code="H-002")
    complete(world, second_instance.id, "survey", "appraisal", "rights", "calculation")
    audit = open_task(second_instance.id, "calc_audit")
    third, third_instance = factories.new_household(world, code="H-003")
    complete(world, third_instance.id, "survey", "appraisal", "rights", "calculation")
    runtime.return_task(world.actor("calc_auditor"), open_task(third_instance.id, "calc_audit").id, "calculation",
                        RETURN_REASON, now=utcnow())
    returned = open_task(third_instance.id, "calculation")
    db.session.execute(update(HumanTask).where(HumanTask.id == survey.id)
                       .values(due_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    return Cases(first.id, survey.id, second.id, audit.id, third.id, returned.id, survey.id)


INBOX_FILTERS = ["", "?returned=1", "?overdue=1", "?returned=0&overdue=0", "?assigned=me", "?assigned=unassigned",
                 "?q=H-00", "?role=accountant", "?page=2", "?returned=1&overdue=1"]


@pytest.mark.parametrize("username", ["surveyor", "accountant", "calc_auditor", "supervisor", "admin"])
@pytest.mark.parametrize("query", INBOX_FILTERS)
def test_the_inbox_renders_with_every_filter(browser: Browser, cases: Cases, username: str, query: str) -> None:
    browser.as_user(username)
    page = browser.get("/inbox" + query)
    assert page.status_code == 200
    body = text_of(page)
    assert 'data-testid="inbox-table"' in body and 'data-testid="inbox-counts"' in body
    assert "我的待办" in body
    assert not INLINE_SCRIPT.search(body)


def test_the_inbox_filters_show_the_right_steps(browser: Browser, cases: Cases) -> None:
    browser.as_user("accountant")
    body = text_of(browser.get("/inbox?returned=1"))
    assert f'data-task-id="{cases.returned_task}"' in body
    assert RETURN_REASON in body and "审核退回" in body
    body = text_of(browser.get("/inbox?overdue=1"))
    assert f'data-task-id="{cases.returned_task}"' not in body
    assert "没有符合筛选条件的待办" in body

    browser.as_user("surveyor")
    body = text_of(browser.get("/inbox?overdue=1"))
    assert f'data-task-id="{cases.overdue_task}"' in body and "已超期" in body
    body = text_of(browser.get("/inbox?returned=1"))
    assert f'data-task-id="{cases.overdue_task}"' not in body


@pytest.mark.parametrize("username", ["surveyor", "calc_auditor", "accountant", "supervisor", "admin"])
def test_case_pages_render_for_the_roles(browser: Browser, cases: Cases, username: str) -> None:
    browser.as_user(username)
    for url in ("/cases", "/cases?q=H-002", "/cases?status=running", "/cases?step=calculation",
                "/cases?project_id=1&page=1", f"/cases/{cases.at_survey}", f"/cases/{cases.at_audit}",
                f"/cases/{cases.returned}", "/notifications"):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert not INLINE_SCRIPT.search(text_of(page)), url
    diagram = browser.get(f"/cases/{cases.returned}/diagram.bpmn")
    assert diagram.status_code == 200
    assert diagram.mimetype == "application/xml"
    assert b"bpmn:definitions" in diagram.data or b"definitions" in diagram.data


def test_the_case_list_searches_and_filters_by_step(browser: Browser, cases: Cases) -> None:
    browser.as_user("supervisor")
    body = text_of(browser.get("/cases?q=H-002"))
    assert f'href="/cases/{cases.at_audit}"' in body
    assert f'href="/cases/{cases.at_survey}"' not in body
    body = text_of(browser.get("/cases?step=calculation"))
    assert f'href="/cases/{cases.returned}"' in body
    assert f'href="/cases/{cases.at_audit}"' not in body
    assert "所在环节：核算" in body


def test_the_case_page_shows_translated_history_and_the_marked_diagram(browser: Browser, cases: Cases) -> None:
    browser.as_user("accountant")
    body = text_of(browser.get(f"/cases/{cases.returned}"))
    assert 'data-testid="diagram"' in body
    assert 'data-current="calculation"' in body and 'data-returned="calculation"' in body
    match = re.search(r'data-done="([^"]*)"', body)
    assert match and {"survey", "appraisal", "rights", "calculation"} <= set(match.group(1).split(","))
    timeline = body.split('data-testid="timeline"', 1)[1]
    for label in ("立案", "环节到达", "已完成", "审核退回"):
        assert label in timeline, label
    for code in (">completed<", ">returned<", ">created<", ">started<"):
        assert code not in timeline
    assert RETURN_REASON in timeline
    assert "集体土地房屋" in body and "办理中" in body
    assert "js/diagram.js" in body


def test_the_task_pages_render_for_their_roles_and_readers(browser: Browser, cases: Cases) -> None:
    browser.as_user("surveyor")
    body = text_of(browser.get(f"/tasks/{cases.survey_task}"))
    assert 'data-testid="step-form"' in body and 'data-testid="complete"' in body
    assert 'id="f-head_name"' in body and 'value="张建华"' in body
    assert 'data-testid="return-form"' not in body

    browser.as_user("calc_auditor")
    body = text_of(browser.get(f"/tasks/{cases.audit_task}"))
    assert 'data-testid="return-form"' in body and 'id="r-to"' in body and 'id="r-reason"' in body
    assert '<option value="calculation" selected>' in body
    assert "补偿核算" in body  # the case file part the audit checks

    browser.as_user("accountant")
    body = text_of(browser.get(f"/tasks/{cases.returned_task}"))
    assert 'data-testid="return-banner"' in body and RETURN_REASON in body

    browser.as_user("supervisor")  # sees every project, holds no role of the step
    page = browser.get(f"/tasks/{cases.audit_task}")
    assert page.status_code == 200
    body = text_of(page)
    assert 'data-testid="complete"' not in body and 'data-testid="return-form"' not in body
    assert "您只能查看" in body


def test_the_new_household_page_renders_and_creates_a_case(browser: Browser, world: factories.World) -> None:
    browser.as_user("surveyor")
    page = browser.get("/cases/new")
    assert page.status_code == 200
    assert 'data-testid="household-form"' in text_of(page)
    created = browser.post("/cases/new", data={"project_id": str(world.project.id), "code": "N-001",
                                               "kind": "shop", "head_name": "王店主", "address": "北区三村商业街1号"})
    assert created.status_code == 302
    assert re.search(r"/cases/\d+$", created.headers["Location"])


def test_the_new_household_form_keeps_values_and_shows_errors(browser: Browser, world: factories.World) -> None:
    browser.as_user("surveyor")
    page = browser.post("/cases/new", data={"project_id": str(world.project.id), "code": "bad code!",
                                            "kind": "shop", "head_name": "", "address": "北区三村1组9号"})
    assert page.status_code == 422
    body = text_of(page)
    assert 'id="e-code"' in body and "只能使用字母、数字" in body
    assert 'id="e-head_name"' in body and "此项为必填项" in body
    assert 'value="bad code!"' in body and 'value="北区三村1组9号"' in body
    assert '<option value="shop" selected>' in body
    page = browser.post("/cases/new", data={"project_id": "", "code": "X-1", "kind": "shop", "head_name": "甲",
                                            "address": "乙"})
    assert page.status_code == 422
    assert "请选择项目" in text_of(page)


def test_another_projects_user_gets_not_found(browser: Browser, cases: Cases, world: factories.World) -> None:
    browser.as_user("outsider")
    for url in (f"/cases/{cases.at_audit}", f"/cases/{cases.at_audit}/diagram.bpmn", f"/tasks/{cases.audit_task}",
                f"/tasks/{cases.survey_task}"):
        page = browser.get(url)
        assert page.status_code == 404, url
        assert "H-002" not in text_of(page) and "张建华" not in text_of(page)
    for action in ("claim", "release", "complete", "return"):
        assert browser.post(f"/tasks/{cases.audit_task}/{action}", data={"to": "calculation",
                                                                         "reason": "x"}).status_code == 404
    assert task_status(cases.audit_task) == "ready"
    body = text_of(browser.get("/inbox"))
    assert f'data-task-id="{cases.survey_task}"' not in body


def test_an_invalid_step_form_answers_422_and_completes_nothing(browser: Browser, cases: Cases) -> None:
    browser.as_user("surveyor")
    page = browser.post(f"/tasks/{cases.survey_task}/complete", data={
        "head_name": "", "phone": "12345", "address": "北区三村1组1号", "land_nature": "collective",
        "persons.0.name": "张三", "persons.0.id_number": "110105196503121311", "persons.0.relation": "head",
        "buildings.0.label": "主房", "buildings.0.measured_area": "-5", "buildings.0.structure": "frame",
        "buildings.0.floors": "0", "notes": "户主外出务工"})
    assert page.status_code == 422
    body = text_of(page)
    assert 'data-testid="form-errors"' in body and "请修改标红的项目" in body
    for name in ("head_name", "phone", "persons-0-id_number", "buildings-0-measured_area", "buildings-0-floors",
                 "buildings-0-use", "buildings-0-legal_status"):
        assert f'id="e-{name}"' in body, name
    for name in ("address", "land_nature", "notes", "homestead_area", "buildings-0-structure", "persons-0-name"):
        assert f'id="e-{name}"' not in body, name
    assert "此项为必填项" in body and "请输入 0 至 100000 之间的数值" in body and "身份证号校验码不正确" in body
    assert 'value="12345"' in body and 'value="110105196503121311"' in body and 'value="-5"' in body
    assert '<option value="frame" selected>' in body and "户主外出务工</textarea>" in body
    assert task_status(cases.survey_task) == "ready"
    assert modules.get_record(cases.at_survey, "survey") is None


def posted(data: dict, prefix: str = "") -> dict[str, str]:
    """Step data as a page posts it: dotted names, rows numbered, every value a string."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(posted(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            for index, row in enumerate(value):
                out.update(posted(row, f"{prefix}{key}.{index}."))
        elif isinstance(value, bool):
            if value:
                out[prefix + key] = "on"
        elif value is not None:
            out[prefix + key] = str(value)
    return out


def test_a_valid_step_form_completes_the_step_and_redirects(browser: Browser, cases: Cases) -> None:
    browser.as_user("surveyor")
    page = browser.post(f"/tasks/{cases.survey_task}/complete", data=posted(factories.STEP_DATA["survey"]))
    assert page.status_code == 302, text_of(page)[:3000]
    assert page.headers["Location"].endswith(f"/cases/{cases.at_survey}")
    assert task_status(cases.survey_task) == "completed"
    follow = browser.get(page.headers["Location"])
    assert "已办结环节：调查建档" in text_of(follow)
    stored = modules.get_record(cases.at_survey, "survey").data
    assert [p["name"] for p in stored["persons"]] == ["张建华", "李秀英", "张小军"]
    assert [b["measured_area"] for b in stored["buildings"]] == ["168.50", "32.00"]
    assert stored["persons"][1]["special_group"] == "disabled" and stored["persons"][0]["hukou_here"] is True


def test_the_return_form_needs_a_reason(browser: Browser, cases: Cases) -> None:
    browser.as_user("calc_auditor")
    page = browser.post(f"/tasks/{cases.audit_task}/return", data={"to": "calculation", "reason": "  "})
    assert page.status_code == 422
    body = text_of(page)
    assert 'id="e-r-reason"' in body and "请填写退回理由" in body
    assert '<option value="calculation" selected>' in body
    assert task_status(cases.audit_task) == "ready"

    page = browser.post(f"/tasks/{cases.audit_task}/return", data={"to": "nowhere", "reason": "核算有误"})
    assert page.status_code == 422
    assert 'id="e-r-to"' in text_of(page) and "核算有误</textarea>" in text_of(page)

    page = browser.post(f"/tasks/{cases.audit_task}/return", data={"to": "calculation", "reason": "核算有误"})
    assert page.status_code == 302 and page.headers["Location"].endswith("/inbox")
    assert task_status(cases.audit_task) == "completed"


def test_claim_and_release_and_a_step_taken_by_someone_else(browser: Browser, cases: Cases,
                                                            world: factories.World) -> None:
    url = f"/tasks/{cases.audit_task}"
    browser.as_user("calc_auditor")
    assert browser.post(url + "/claim").status_code == 302
    assert "您已签收本环节" in text_of(browser.get(url))
    with transaction():
        second = identity.create_user("calc_auditor_2", factories.PASSWORD, "第二核算审核员", ["calc_auditor"])
        world.project.groups[0].members.append(second)

    browser.as_user("calc_auditor_2")
    page = browser.post(url + "/claim")
    assert page.status_code == 302 and page.headers["Location"].endswith(url)
    body = text_of(browser.get(url))
    assert "该环节已被其他人员签收" in body
    assert 'data-testid="complete"' not in body and "只有签收人可以办理本环节" in body
    page = browser.post(url + "/complete", data={"opinion": "同意"})
    assert page.status_code == 302
    assert "该环节已被其他人员签收" in text_of(browser.get(url))
    assert task_status(cases.audit_task) == "ready"

    browser.as_user("calc_auditor")
    assert browser.post(url + "/release").status_code == 302
    db.session.rollback()
    assert db.session.get(HumanTask, cases.audit_task).assignee_id is None

    browser.as_user("admin")  # sees the step, does not hold its role
    page = browser.post(url + "/claim")
    assert page.status_code == 403
    assert "您的角色无权进行此操作" in text_of(page)


def test_the_notifications_page_lists_and_marks_read(browser: Browser, cases: Cases, world: factories.World) -> None:
    browser.as_user("accountant")
    body = text_of(browser.get("/notifications"))
    assert "H-003" in body and RETURN_REASON in body and "审核退回" in body
    assert 'data-testid="unread-badge"' in body
    assert browser.post("/notifications/read-all").status_code == 302
    body = text_of(browser.get("/notifications"))
    assert 'data-testid="unread-badge"' not in body and "全部已读" in body
    db.session.rollback()
    assert db.session.scalar(select(Notification).where(Notification.user_id == world.users["accountant"].id,
                                                        Notification.read_at.is_(None))) is None


MALFORMED = ["/inbox?page=abc", "/inbox?page=0", "/inbox?page=-3", "/inbox?page=99999999999999999999",
             "/inbox?project_id=-1", "/inbox?project_id=abc", "/inbox?project_id=999999", "/inbox?overdue=maybe",
             "/inbox?returned=%00", "/inbox?assigned=bogus", "/inbox?role=nobody", "/inbox?q=" + "长" * 500,
             "/inbox?q=%25%27%22%3C", "/cases?page=abc", "/cases?project_id=-1", "/cases?status=nope",
             "/cases?step=" + "x" * 300, "/cases?q=%27%20OR%201%3D1", "/notifications?page=abc",
             "/inbox?page=1&page=abc"]


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_query_arguments_never_fail(browser: Browser, cases: Cases, url: str) -> None:
    browser.as_user("supervisor")
    page = browser.get(url)
    assert page.status_code == 200, text_of(page)[:500]


@pytest.mark.parametrize("url", ["/tasks/abc", "/tasks/99999999", "/cases/abc", "/cases/99999999",
                                 "/cases/99999999/diagram.bpmn", "/nowhere"])
def test_unknown_addresses_are_404_pages(browser: Browser, cases: Cases, url: str) -> None:
    browser.as_user("surveyor")
    page = browser.get(url)
    assert page.status_code == 404
    assert 'data-testid="error-page"' in text_of(page)
    assert "页面或记录不存在" in text_of(page)


def test_pages_need_a_signed_in_user(browser: Browser, cases: Cases) -> None:
    for url in ("/inbox", "/cases", f"/cases/{cases.at_audit}", f"/tasks/{cases.audit_task}", "/notifications",
                "/cases/new"):
        page = browser.get(url)
        assert page.status_code == 302 and "/login" in page.headers["Location"], url


def test_a_wrong_password_is_refused_and_logout_works(browser: Browser, world: factories.World) -> None:
    page = browser.login("surveyor", "not-the-password")
    assert page.status_code == 401
    body = text_of(page)
    assert 'data-testid="login-error"' in body and "用户名或密码错误" in body
    assert 'value="surveyor"' in body
    assert browser.get("/inbox").status_code == 302

    page = browser.login("nobody-of-that-name", "whatever")
    assert page.status_code == 401

    page = browser.post("/login", data={"username": "", "password": ""})
    assert page.status_code == 200
    assert 'id="e-username"' in text_of(page) and "必填" in text_of(page)

    page = browser.login("surveyor")
    assert page.status_code == 302 and page.headers["Location"].endswith("/inbox")
    assert browser.get("/inbox").status_code == 200
    assert browser.get("/login").status_code == 302  # already signed in

    page = browser.post("/logout")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    assert browser.get("/inbox").status_code == 302


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(browser: Browser, world: factories.World) -> None:
    page = browser.post("/login?next=/cases", data={"username": "surveyor", "password": factories.PASSWORD})
    assert page.headers["Location"].endswith("/cases")
    browser.post("/logout")
    page = browser.post("/login?next=//evil.example/x", data={"username": "surveyor",
                                                               "password": factories.PASSWORD})
    assert page.headers["Location"].endswith("/inbox")


def test_the_language_switch_stores_the_choice(browser: Browser, world: factories.World) -> None:
    page = browser.get("/lang/en", headers={"Referer": "http://localhost/login"})
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    body = text_of(browser.get("/login"))
    assert "Sign in" in body and "登录" not in body and 'lang="en"' in body

    browser.login("surveyor")  # the choice survives signing in
    body = text_of(browser.get("/inbox"))
    assert "My inbox" in body and "我的待办" not in body
    assert ">中文<" in body

    page = browser.get("/lang/fr", headers={"Referer": "http://localhost/inbox"})
    assert page.status_code == 302
    assert "My inbox" in text_of(browser.get("/inbox"))

    page = browser.get("/lang/zh", headers={"Referer": "http://evil.example/steal"})
    assert page.status_code == 302 and "evil.example" not in page.headers["Location"]
    assert "我的待办" in text_of(browser.get("/inbox"))


@pytest.fixture()
def csrf_browser(app: Flask, ctx: Flask) -> Iterator[Browser]:
    """A second application on the same database with CSRF protection on, as in production."""
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                  UPLOAD_DIR=app.config["UPLOAD_DIR"], WTF_CSRF_ENABLED=True)
    protected = create_app(config)
    ensure_compiled()
    yield Browser(protected)
    with protected.app_context():
        db.engine.dispose()


def _token(page: TestResponse) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text_of(page))
    assert match, "no csrf_token in the page"
    return match.group(1)


def test_posts_without_the_csrf_token_are_refused(csrf_browser: Browser, cases: Cases) -> None:
    refused = csrf_browser.post("/login", data={"username": "calc_auditor", "password": factories.PASSWORD})
    assert refused.status_code == 400
    assert "表单已过期" in text_of(refused)

    token = _token(csrf_browser.get("/login"))
    signed_in = csrf_browser.post("/login", data={"username": "calc_auditor", "password": factories.PASSWORD,
                                                  "csrf_token": token})
    assert signed_in.status_code == 302

    url = f"/tasks/{cases.audit_task}"
    for action, data in (("claim", {}), ("complete", {"opinion": "同意"}),
                         ("return", {"to": "calculation", "reason": "x"})):
        assert csrf_browser.post(f"{url}/{action}", data=data).status_code == 400, action
        assert csrf_browser.post(f"{url}/{action}", data={**data, "csrf_token": "forged"}).status_code == 400
    assert task_status(cases.audit_task) == "ready"
    assert csrf_browser.post("/logout").status_code == 400

    token = _token(csrf_browser.get(url))
    assert csrf_browser.post(f"{url}/claim", data={"csrf_token": token}).status_code == 302
    db.session.rollback()
    assert db.session.get(HumanTask, cases.audit_task).assignee_id is not None


RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["head_name", "persons"],
    "properties": {
        "head_name": {"type": "string", "title": "户主"},
        "persons": {"type": "array", "title": "家庭人口", "minItems": 1, "maxItems": 5, "x-widget": "table",
                    "items": {"type": "object", "required": ["name", "relation"], "properties": {
                        "id": {"type": "integer", "x-widget": "hidden", "nullable": True},
                        "name": {"type": "string", "title": "姓名"},
                        "relation": {"type": "string", "title": "关系", "enum": ["head", "child", None],
                                     "x-labels": {"head": "户主", "child": "子女"}},
                        "hukou_here": {"type": "boolean", "title": "本地户籍", "default": True}}}},
        "business": {"type": "object", "title": "店面", "x-show-for": ["shop"], "properties": {
            "tenant": {"type": "string", "title": "承租人"},
            "equipment": {"type": "array", "title": "设备", "items": {"type": "object", "properties": {
                "name": {"type": "string", "title": "设备"}}}}}},
        "checked": {"type": "boolean", "title": "已核对"},
    },
}


def test_posted_record_tables_and_parts_are_read_into_the_schemas_shape() -> None:
    from werkzeug.datastructures import MultiDict

    from app.inbox.formdata import values_from_form

    form = MultiDict([("head_name", " 张三 "), ("persons._rows", "1"),
                      ("persons.0.id", "7"), ("persons.0.name", "张三"), ("persons.0.relation", "head"),
                      ("persons.0.hukou_here", "on"),
                      ("persons.1.id", ""), ("persons.1.name", " "), ("persons.1.relation", ""),  # a blank spare row
                      ("persons.4.name", "张小"), ("persons.4.relation", "child"),
                      ("business.tenant", "李四"), ("business.equipment._rows", "1"),
                      ("business.equipment.0.name", "冷柜")])
    assert values_from_form(RECORD_SCHEMA, form) == {
        "head_name": "张三",
        "persons": [{"id": "7", "name": "张三", "relation": "head", "hukou_here": True},
                    {"name": "张小", "relation": "child", "hukou_here": False}],
        "business": {"tenant": "李四", "equipment": [{"name": "冷柜"}]},
        "checked": False,
    }
    emptied = values_from_form(RECORD_SCHEMA, MultiDict([("persons._rows", "1"), ("persons.0.name", ""),
                                                         ("business.tenant", ""), ("checked", "on")]))
    assert emptied == {"checked": True}  # a required table left blank reads as missing; a blank part is left out


def test_record_tables_render_with_their_errors(ctx: Flask) -> None:
    from flask import render_template_string

    ensure_compiled()
    values = {"head_name": "张三", "persons": [{"id": 7, "name": "张三", "relation": "head", "hukou_here": True},
                                              {"name": "张小", "relation": None, "hukou_here": False}]}
    errors = {"persons.1.relation": [problem("required")], "persons": [problem("one_head")]}
    template = '{% from "_macros.html" import schema_form %}{{ schema_form(schema, values, errors, kind=kind) }}'
    with ctx.app_context(), ctx.test_request_context("/"):
        html = render_template_string(template, schema=RECORD_SCHEMA, values=values, errors=errors, kind="shop")
        other = render_template_string(template, schema=RECORD_SCHEMA, values=values, errors={}, kind="state_house")
    assert 'name="persons.0.name" id="f-persons-0-name"' in html
    assert 'name="persons.0.id" value="7"' in html
    assert 'id="e-persons-1-relation"' in html and "此项为必填项" in html
    assert 'id="e-persons"' in html and "家庭成员中须有且只有一名户主" in html
    assert 'id="f-persons-2-name"' in html and 'id="f-persons-3-name"' not in html  # one spare row
    assert 'data-row-template="persons"' in html and "persons.__i__.name" in html
    assert '<option value="None"' not in html
    assert 'name="business.tenant"' in html and 'name="business.equipment.0.name"' in html
    assert 'name="business.tenant"' not in other  # parts shown only for the kinds they belong to
    assert 'name="persons.0.hukou_here" id="f-persons-0-hukou_here"' in html


def test_lists_of_records_in_a_module_show_as_tables(ctx: Flask) -> None:
    from app.cases.display import module_rows, module_tables

    data = {"head_name": "张三", "persons": [{"name": "张三", "relation": "head"}, {"name": "张小"}],
            "business": {"equipment": [{"name": "冷柜", "count": 2}]}, "checked": True}
    with ctx.app_context(), ctx.test_request_context("/"):
        rows = module_rows("survey", data, "zh")
        tables = module_tables("survey", data)
    assert ("户主", "张三") in rows and all("persons" not in label for label, _ in rows)
    assert [t.title for t in tables] == ["家庭人口", "企业/店面情况 · 设备清单"]
    assert tables[0].columns == ["姓名", "身份证号", "与户主关系", "本地户籍", "特殊群体", "未婚成年子女", "预留人口"]
    assert tables[0].rows == [["张三", "—", "户主", "—", "—", "—", "—"], ["张小", "—", "—", "—", "—", "—", "—"]]
    assert tables[1].columns == ["设备", "数量", "账面价值（元）"] and tables[1].rows == [["冷柜", "2", "—"]]
    with ctx.app_context(), ctx.test_request_context("/"):  # the payees' totals are rows of the items table only
        labels = [label for label, _ in module_rows("calculation", {"total": "3.00", "payees": None}, "zh")]
    assert labels == ["合计"]


def test_a_step_with_rows_per_building_starts_with_one_named_row_each(browser: Browser, world: factories.World) -> None:
    household, instance = factories.new_household(world, "H-ROWS")
    complete(world, instance.id, "survey")
    row = open_task(instance.id, "appraisal")
    browser.as_user("appraiser")
    body = text_of(browser.get(f"/tasks/{row.id}"))
    buildings = modules.get_record(household.id, "survey").data["buildings"]
    for index, building in enumerate(buildings):
        assert f'name="buildings.{index}.building_id" value="{building["id"]}"' in body
        assert f'<span class="ref" id="f-buildings-{index}-building_id">{building["label"]}</span>' in body
    assert f'name="buildings.{len(buildings)}.building_id"' not in body  # no spare row to add a building
    assert 'data-add-row="buildings"' not in body
    page = browser.post(f"/tasks/{row.id}/complete", data={
        "firm": "江城房地产估价有限公司", "appraiser_name": "李评估", "report_no": "PG-1", "report_date": "2026-11-20",
        "no_conflict": "on",
        **{f"buildings.{i}.building_id": str(b["id"]) for i, b in enumerate(buildings)},
        **{f"buildings.{i}.unit_price": "4000" for i in range(len(buildings))}})
    assert page.status_code == 302, text_of(page)[:2000]
    stored = modules.get_record(household.id, "appraisal").data
    assert [r["building_id"] for r in stored["buildings"]] == [b["id"] for b in buildings]
    assert {r["unit_price"] for r in stored["buildings"]} == {"4000.00"}


def test_the_case_page_links_the_agreement_once_it_has_a_number(browser: Browser, world: factories.World) -> None:
    household, instance = factories.new_household(world, "H-AGR")
    complete(world, instance.id, "survey")
    browser.as_user("handler")
    assert 'data-testid="agreement-link"' not in text_of(browser.get(f"/cases/{household.id}"))
    complete(world, instance.id, "appraisal", "rights", "calculation", "calc_audit", "policy_review",
             "agreement_draft")
    body = text_of(browser.get(f"/cases/{household.id}"))
    number = modules.get_record(household.id, "agreement").data["number"]
    assert f'href="/cases/{household.id}/agreement"' in body and f"协议 {number}" in body
    assert browser.get(f"/cases/{household.id}/agreement").status_code == 200
