"""Hardening: sign-in throttling and lockout, the password policy and the change-password page, session timeouts
and cookie flags, security headers on every response, API tokens listed and revoked."""
from __future__ import annotations

import io
import os
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from app import create_app
from app.config import Config, TestConfig
from app.extensions import db
from app.models import ApiToken, AuditLog, Household, LoginFailure, User, utcnow
from services import files, identity, passwords
from services.errors import InvalidInput
from tests import factories
from tests.api_support import assert_error, fast_passwords  # noqa: F401
from tests.case_data import PNG as CASE_PNG
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser

pytestmark = pytest.mark.usefixtures("fast_passwords")
ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "Lantern-river-42"
PNG = CASE_PNG  # a real image: uploads are opened, not only sniffed


class Client(Browser):
    """A page client from one client address (the login throttle counts per address)."""

    def __init__(self, app: Flask, ip: str = "127.0.0.1"):
        super().__init__(app)
        self.ip = ip

    def open(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("environ_base", {"REMOTE_ADDR": self.ip})
        return super().open(method, url, **kwargs)


def _actions(prefix: str) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like(f"{prefix}%"))
                                   .order_by(AuditLog.id)))


# --- the password policy ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "problem"), [
    ("short-1", "at least 10 characters"),
    ("onlylowercaseletters", "mix at least two kinds"),
    ("12345678901234", "mix at least two kinds"),
    ("surveyor-2026", "must not contain the username"),
    ("Surveyor", "at least 10 characters"),
    ("royevrus", "must not contain the username"),
    ("qwertyuiop", "too well known"),
    ("Password123", "too well known"),
    ("", "a password is required"),
    ("x" * 300 + "1", "at most 256 characters"),
])
def test_the_policy_refuses_weak_passwords(password: str, problem: str):
    assert any(problem in found for found in passwords.problems(password, "surveyor")), passwords.problems(
        password, "surveyor")


@pytest.mark.parametrize("password", [factories.PASSWORD, NEW_PASSWORD, "demo-pass-2026", "拆迁办2026年账号"])
def test_the_policy_accepts_good_passwords(password: str):
    assert passwords.problems(password, "surveyor") == []


def test_users_cannot_be_created_with_a_weak_password(world: factories.World, app: Flask):
    with pytest.raises(InvalidInput) as caught:
        identity.create_user("clerk", "clerk12345", "Clerk", ["surveyor"])
    assert "password" in caught.value.fields
    db.session.rollback()
    result = app.test_cli_runner().invoke(args=["create-user", "clerk2", "--password", "abcdefghij",
                                                "--role", "surveyor"])
    assert result.exit_code == 1 and "password" in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(User).where(User.username.in_(("clerk", "clerk2")))) is None


# --- throttling and lockout --------------------------------------------------------------------------------------

def test_repeated_failures_lock_the_username_out_for_a_while(world: factories.World, app: Flask):
    ensure_compiled()
    browser = Client(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_USER"]):
        assert browser.login("surveyor", "wrong-password-1").status_code == 401
    locked = browser.login("surveyor")  # even the right password is refused now
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    assert Client(app, ip="10.9.8.7").login("surveyor").status_code == 429  # per username, whatever the address
    assert Client(app).login("appraiser").status_code == 302  # other users of the address are not locked
    api = Client(app).post("/api/v1/auth/token", json={"username": "surveyor", "password": factories.PASSWORD})
    assert_error(api, 429, "too_many_requests")
    assert int(api.headers["Retry-After"]) > 0
    assert _actions("auth.login") == ["auth.login.failed"] * 5 + ["auth.login.locked"] * 2 + ["auth.login"]
    assert _actions("auth.token") == ["auth.token.locked"]
    # once the failures are older than the lockout, the right password works again, and clears the count
    with app.app_context():
        past = utcnow() - 2 * timedelta(minutes=max(app.config["LOGIN_LOCKOUT_MINUTES"],
                                                    app.config["LOGIN_WINDOW_MINUTES"]))
        db.session.execute(update(LoginFailure).values(at=past))
        db.session.commit()
    assert browser.login("surveyor").status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(LoginFailure).where(LoginFailure.username == "surveyor")) is None


def test_many_failures_from_one_address_lock_the_address(world: factories.World, app: Flask):
    attacker = Client(app, ip="203.0.113.9")
    limit = app.config["LOGIN_MAX_FAILURES_PER_IP"]
    for number in range(limit):
        response = attacker.post("/api/v1/auth/token", json={"username": f"guess{number}", "password": "x"})
        assert_error(response, 401)
    assert_error(attacker.post("/api/v1/auth/token", json={"username": "surveyor",
                                                            "password": factories.PASSWORD}), 429)
    assert attacker.login("appraiser").status_code == 429
    assert Client(app, ip="198.51.100.1").login("appraiser").status_code == 302


def test_case_and_blanks_do_not_make_a_new_username_for_the_throttle(world: factories.World, app: Flask):
    browser = Client(app)
    for name in ("Surveyor", " surveyor", "SURVEYOR ", "surveyor", "sUrveyor"):
        assert browser.login(name, "nope-nope-1").status_code == 401
    assert browser.login("surveyor").status_code == 429


# --- sessions and cookies ---------------------------------------------------------------------------------------

def test_the_session_cookie_is_httponly_lax_and_secure_in_production():
    assert Config.SESSION_COOKIE_HTTPONLY and Config.SESSION_COOKIE_SAMESITE == "Lax"
    assert TestConfig.SESSION_COOKIE_SECURE is False
    if "SESSION_COOKIE_SECURE" not in os.environ:
        assert Config.SESSION_COOKIE_SECURE is True  # production unless switched off for plain-http development
    production = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    production.update(SQLALCHEMY_DATABASE_URI="sqlite://", SESSION_COOKIE_SECURE=True)
    app = create_app(production)
    with app.test_request_context():
        response = app.make_response("x")
        from flask import session

        session["lang"] = "en"
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_sets_a_cookie_with_the_flags(world: factories.World, app: Flask):
    response = Client(app).login("surveyor")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


@pytest.mark.parametrize(("key", "ago", "reason"), [("seen", 31 * 60, "idle"), ("since", 9 * 3600, "lifetime")])
def test_a_session_expires_when_idle_or_too_old(world: factories.World, app: Flask, key: str, ago: int,
                                                reason: str):
    browser = Client(app)
    browser.login("surveyor")
    assert browser.get("/inbox").status_code == 200
    with app.app_context(), browser.client.session_transaction() as session:
        session[key] = int(time.time()) - ago
    response = browser.get("/cases?q=x")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert "/cases" in response.headers["Location"]
    assert browser.get("/inbox").status_code == 302
    db.session.rollback()
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.logout"))
    assert row.actor_name == "surveyor" and row.after == {"reason": reason}


def test_an_active_session_stays_signed_in(world: factories.World, app: Flask):
    browser = Client(app)
    browser.login("surveyor")
    with app.app_context(), browser.client.session_transaction() as session:
        session["seen"] = int(time.time()) - 29 * 60
    assert browser.get("/inbox").status_code == 200
    with app.app_context(), browser.client.session_transaction() as session:
        assert int(time.time()) - session["seen"] < 5  # the request counted as activity


# --- changing the password ------------------------------------------------------------------------------------

def test_the_change_password_page_is_in_the_user_menu_in_chinese_and_english(world: factories.World, app: Flask):
    ensure_compiled()
    browser = Client(app)
    browser.login("surveyor")
    inbox = browser.get("/inbox").get_data(as_text=True)
    assert 'href="/account/password"' in inbox and 'href="/account/tokens"' in inbox
    page = browser.get("/account/password")
    assert page.status_code == 200 and "修改密码" in page.get_data(as_text=True)
    english = browser.get("/account/password?lang=en").get_data(as_text=True)
    assert "Change password" in english and "Current password" in english


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"current_password": "wrong-password-9", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "current_password", "当前密码不正确"),
    ({"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD, "confirm": "Lantern-river-43"},
     "confirm", "两次输入的新密码不一致"),
    ({"current_password": factories.PASSWORD, "new_password": "abcdefghijk", "confirm": "abcdefghijk"},
     "new_password", "至少混合两类字符"),
    ({"current_password": factories.PASSWORD, "new_password": "surveyor-2026", "confirm": "surveyor-2026"},
     "new_password", "不能包含用户名"),
    ({"current_password": factories.PASSWORD, "new_password": factories.PASSWORD, "confirm": factories.PASSWORD},
     "new_password", "新密码不能与当前密码相同"),
    ({"current_password": factories.PASSWORD, "new_password": "", "confirm": ""}, "new_password", "必填"),
])
def test_a_refused_password_change_says_why(world: factories.World, app: Flask, form: dict, field: str,
                                            message: str):
    ensure_compiled()
    browser = Client(app)
    browser.login("surveyor")
    page = browser.post("/account/password", data=form)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and message in text, text[-3000:]
    assert f'id="e-{field}"' in text
    assert Client(app).login("surveyor").status_code == 302  # the password is unchanged


def test_changing_the_password_signs_out_other_sessions_and_revokes_tokens(world: factories.World, app: Flask):
    ensure_compiled()
    mine, elsewhere = Client(app), Client(app)
    mine.login("surveyor")
    elsewhere.login("surveyor")
    token = Client(app).post("/api/v1/auth/token", json={"username": "surveyor",
                                                         "password": factories.PASSWORD}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert Client(app).get("/api/v1/me", headers=bearer).status_code == 200
    changed = mine.post("/account/password", data={"current_password": factories.PASSWORD,
                                                   "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/account/password")
    assert "密码已修改" in mine.get("/account/password").get_data(as_text=True)
    assert mine.get("/inbox").status_code == 200  # this session follows the new password
    assert elsewhere.get("/inbox").status_code == 302  # the other one is signed out
    assert_error(Client(app).get("/api/v1/me", headers=bearer), 401)
    assert Client(app).login("surveyor").status_code == 401
    assert Client(app).login("surveyor", NEW_PASSWORD).status_code == 302
    assert _actions("auth.password") == ["auth.password.change"]
    db.session.rollback()
    assert db.session.scalar(select(AuditLog.after).where(AuditLog.action == "auth.password.change")) == {
        "tokens_revoked": 1}


def test_wrong_current_passwords_count_towards_the_lockout(world: factories.World, app: Flask):
    browser = Client(app)
    browser.login("surveyor")
    wrong = {"current_password": "not-it-at-all", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_USER"]):
        assert browser.post("/account/password", data=wrong).status_code == 422
    assert browser.post("/account/password", data=wrong).status_code == 429
    assert _actions("auth.password") == ["auth.password.failed"] * 5


# --- API tokens -------------------------------------------------------------------------------------------------

def _token(app: Flask, username: str = "surveyor", name: str | None = None, ip: str = "127.0.0.1") -> str:
    body = {"username": username, "password": factories.PASSWORD} | ({"name": name} if name else {})
    response = Client(app, ip=ip).post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def test_tokens_are_listed_without_their_secret_and_revoked(world: factories.World, app: Flask):
    first, second = _token(app, name="报表脚本", ip="10.0.0.5"), _token(app)
    other = _token(app, "appraiser")
    client = Client(app)
    as_first = {"Authorization": f"Bearer {first}"}
    listed = client.get("/api/v1/auth/tokens", headers=as_first)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert len(items) == 2 and set(items[0]) == {"id", "name", "status", "current", "created_at", "created_ip",
                                                  "expires_at", "last_used_at", "revoked_at"}
    assert first not in listed.get_data(as_text=True) and second not in listed.get_data(as_text=True)
    mine = next(i for i in items if i["current"])
    assert mine["name"] == "报表脚本" and mine["created_ip"] == "10.0.0.5" and mine["status"] == "active"
    assert mine["last_used_at"] is not None
    other_id = next(i["id"] for i in items if not i["current"])
    revoked = client.open("DELETE", f"/api/v1/auth/tokens/{other_id}", headers=as_first)
    assert revoked.status_code == 200 and revoked.get_json()["token"]["status"] == "revoked"
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}), 401)
    db.session.rollback()
    rejected = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.token.rejected"))
    assert rejected.target_id == str(other_id) and rejected.after == {"reason": "revoked", "user": "surveyor"}
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer " + "x" * 43}), 401)
    assert _actions("auth.token.rejected") == ["auth.token.rejected"]  # unknown strings are not recorded
    assert client.open("DELETE", f"/api/v1/auth/tokens/{other_id}", headers=as_first).status_code == 200
    db.session.rollback()
    appraisers = db.session.scalar(select(ApiToken.id).join(User).where(User.username == "appraiser"))
    assert_error(client.open("DELETE", f"/api/v1/auth/tokens/{appraisers}", headers=as_first), 404)
    assert_error(client.open("DELETE", "/api/v1/auth/tokens/999999", headers=as_first), 404)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    # revoking the token in use ends it at once
    me = mine["id"]
    assert client.open("DELETE", f"/api/v1/auth/tokens/{me}", headers=as_first).status_code == 200
    assert_error(client.get("/api/v1/auth/tokens", headers=as_first), 401)
    assert _actions("token.revoke") == ["token.revoke", "token.revoke"]


def test_the_token_name_is_checked(world: factories.World, app: Flask):
    response = Client(app).post("/api/v1/auth/token", json={"username": "surveyor", "password": factories.PASSWORD,
                                                             "name": "x" * 65})
    assert_error(response, 422, fields={"name"})


def test_the_tokens_page_lists_and_revokes(world: factories.World, app: Flask):
    ensure_compiled()
    token = _token(app, name="夜间同步")
    browser = Client(app)
    browser.login("surveyor")
    page = browser.get("/account/tokens")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "夜间同步" in text and token not in text and "API 令牌" in text
    token_id = int(re.search(r'data-token-id="(\d+)" data-status="active"', text).group(1))
    revoked = browser.post(f"/account/tokens/{token_id}/revoke")
    assert revoked.status_code == 302
    assert 'data-status="revoked"' in browser.get("/account/tokens").get_data(as_text=True)
    assert_error(Client(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)
    other = Client(app)
    other.login("appraiser")
    assert other.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert "夜间同步" not in other.get("/account/tokens").get_data(as_text=True)


# --- headers ----------------------------------------------------------------------------------------------------

def _assert_hardened(response: TestResponse) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, policy
    assert "object-src 'none'" in policy or "default-src 'none'" in policy, policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_kind_of_response_carries_the_security_headers(world: factories.World, app: Flask):
    browser = Client(app)
    for response in (browser.get("/login"), browser.get("/static/css/app.css"), browser.get("/nowhere"),
                     browser.post("/login", data={"username": "x", "password": "y"})):
        _assert_hardened(response)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    for response in (browser.get("/healthz"), browser.get("/api/v1/openapi.json"), browser.get("/api/v1/me"),
                     browser.get("/api/v1/nowhere")):
        _assert_hardened(response)  # not pages: nothing may run in them at all
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "sandbox" in response.headers["Content-Security-Policy"]
    browser.login("surveyor")
    inbox = browser.get("/inbox")
    _assert_hardened(inbox)
    assert inbox.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in inbox.headers
    supervisor = Client(app)
    supervisor.login("supervisor")
    diagram = supervisor.get("/supervisor/diagram.bpmn")  # the BPMN XML is data, never a document that runs
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    assert diagram.headers["Content-Security-Policy"].startswith("default-src 'none'")
    secure = browser.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_downloads_are_attachments_and_previews_are_sandboxed(world: factories.World, app: Flask):
    household, _instance = factories.new_household(world)
    row = files.upload(world.actor("surveyor"), household.id, "survey", _category(), "<svg>.png", io.BytesIO(PNG),
                       upload_dir=app.config["UPLOAD_DIR"], max_bytes=1 << 20, now=utcnow())
    bearer = {"Authorization": f"Bearer {_token(app)}"}
    download = Client(app).get(f"/api/v1/files/{row.id}", headers=bearer)
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["Content-Type"] == "image/png"
    _assert_hardened(download)
    assert "sandbox" in download.headers["Content-Security-Policy"]
    preview = Client(app).get(f"/api/v1/files/{row.id}/preview", headers=bearer)
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in preview.headers["Content-Security-Policy"]
    assert "script-src" not in preview.headers["Content-Security-Policy"]  # default-src 'none' covers it


def test_no_template_has_an_inline_script_or_event_handler():
    executable = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not executable.search(text), template
        assert not handler.search(text), template
        assert "javascript:" not in text, template


# --- spreadsheets with odd text (found by the API fuzzing) ------------------------------------------------------

def test_control_characters_in_names_do_not_break_the_ledger_or_the_trail_export(world: factories.World,
                                                                                  app: Flask):
    bearer = {"Authorization": f"Bearer {_token(app)}"}
    url = f"/api/v1/projects/{world.project.id}/households"
    odd = {"code": "C-1", "kind": "shop", "address": "北区\x01三村", "head_name": "=HYPERLINK(\"x\")\x0b"}
    assert_error(Client(app).post(url, headers=bearer, json=odd), 422, fields={"address", "head_name"})
    created = Client(app).post(url, headers=bearer, json={**odd, "address": "北区三村", "head_name": "王五"})
    assert created.status_code == 201
    # rows stored before such text was refused: the exports still work, without the characters
    from services import audit
    from services.tx import transaction

    household = db.session.scalar(select(Household).where(Household.code == "C-1"))
    with transaction():
        db.session.execute(update(Household).where(Household.id == household.id)
                           .values(address=odd["address"], head_name=odd["head_name"]))
        audit.record(world.actor("surveyor"), "household.create", "household", household.id,
                     household_id=household.id, after={"address": odd["address"]})
    ledger = Client(app).get(f"/api/v1/projects/{world.project.id}/ledger.xlsx", headers=bearer)
    assert ledger.status_code == 200
    from openpyxl import load_workbook

    cells = [cell for row in load_workbook(io.BytesIO(ledger.data)).active.iter_rows() for cell in row]
    assert any(cell.value == "北区三村" for cell in cells)
    assert any(cell.value == '=HYPERLINK("x")' and cell.data_type == "s" for cell in cells)  # text, not a formula
    browser = Client(app)
    browser.login("supervisor")
    export = browser.get("/trail/export.xlsx")
    assert export.status_code == 200
    cells = [cell for row in load_workbook(io.BytesIO(export.data)).active.iter_rows(min_row=2) for cell in row]
    assert any(isinstance(cell.value, str) and "北区三村" in cell.value for cell in cells)  # control character dropped
    assert all(cell.data_type != "f" for cell in cells)


def _category() -> str:
    from services.modules.dossier import CATEGORIES

    return next(iter(CATEGORIES))


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(world: factories.World, app: Flask):
    config = {key: value for key, value in app.config.items() if key.isupper()}
    proxied = create_app({**config, "PROXY_HOPS": 1})
    try:
        client = Client(proxied)
        response = client.post("/login", data={"username": "surveyor", "password": "not-it-at-all"},
                               headers={"X-Forwarded-For": "198.51.100.7"})
        assert response.status_code == 401
        Client(app).post("/login", data={"username": "surveyor", "password": "not-it-at-all"},
                         headers={"X-Forwarded-For": "198.51.100.8"})  # no proxy trusted: the peer counts
        db.session.rollback()
        assert sorted(db.session.scalars(select(LoginFailure.ip))) == ["127.0.0.1", "198.51.100.7"]
    finally:
        with proxied.app_context():
            db.engine.dispose()
