"""Odd input is refused or answered plainly, never a 500: unwritable text, ids in other scripts or out of range,
odd query strings, values that would be changed instead of refused; and the database out of reach is a 503."""
from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from docx import Document
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Household
from services.errors import InvalidInput
from services.forms import get_form
from tests import factories, test_pages
from tests.api_support import assert_error, case_at
from tests.test_agreements import agreement, household_with
from tests.test_pages import Browser, Cases, posted, text_of

browser, cases = test_pages.browser, test_pages.cases  # the page tests' fixtures

ODD_IDS = [str(2**31), str(2**63), "١٢٣", "１", "-1", "0x1", "1e3", "0", "²"]


# --- text the office's documents cannot hold ----------------------------------------------------------------

def household_body(**changes: Any) -> dict[str, Any]:
    return {"code": "H-900", "kind": "collective_house", "address": "北区三村9组9号", "head_name": "王五", **changes}


@pytest.mark.parametrize("char", ["\ufffe", "\uffff", "\x01", "\x0b", "\x1f"])
def test_creating_a_household_with_unwritable_text_is_422_naming_the_field(world, api, char: str) -> None:
    url = f"/api/v1/projects/{world.project.id}/households"
    error = assert_error(api.post(url, as_="surveyor", json=household_body(head_name=f"王{char}五")), 422,
                         "invalid_input", {"head_name"})
    assert f"U+{ord(char):04X}" in error["fields"]["head_name"][0]
    assert_error(api.post(url, as_="surveyor", json=household_body(notes=f"备注{char}")), 422, fields={"notes"})
    assert db.session.query(Household).filter_by(code="H-900").count() == 0
    assert api.post(url, as_="surveyor", json=household_body(notes="一行\n二行\t制表")).status_code == 201


def test_a_lone_surrogate_is_refused_too(world, api) -> None:
    url = f"/api/v1/projects/{world.project.id}/households"
    body = '{"code": "H-901", "kind": "collective_house", "address": "北区", "head_name": "王\\ud800五"}'
    assert_error(api.post(url, as_="surveyor", data=body, content_type="application/json"), 422,
                 fields={"head_name"})


def test_the_pages_refuse_unwritable_text_in_chinese_and_keep_what_was_typed(browser: Browser, cases: Cases,
                                                                             world) -> None:
    browser.as_user("surveyor")
    page = browser.post("/cases/new", data={"project_id": str(world.project.id), "code": "H-902", "address": "北区三村",
                                            "kind": "collective_house", "head_name": "王\uffff五"})
    assert page.status_code == 422
    body = text_of(page)
    assert "无法保存或打印的字符" in body and "U+FFFF" in body and 'value="北区三村"' in body
    browser.as_user("calc_auditor")
    page = browser.post(f"/tasks/{cases.audit_task}/return", data={"to": "calculation", "reason": "核算\ufffe有误"})
    assert page.status_code == 422 and "无法保存或打印的字符" in text_of(page)


def test_a_name_stored_before_the_check_still_exports(world, api, browser: Browser) -> None:
    household = household_with(world, agreement(head_name="张\uffff建华", notes="屋后\x02果树"))
    db.session.execute(update(Household).where(Household.id == household.id)
                       .values(head_name="张\ufffe建华", address="北区\x01三村"))
    db.session.commit()
    response = api.get(f"/api/v1/projects/{world.project.id}/ledger.xlsx", as_="accountant")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    row = [c.value for c in load_workbook(io.BytesIO(response.data))["签约台账"][2]]
    assert row[1] == "张建华" and row[3] == "北区三村"
    docx = api.get(f"/api/v1/households/{household.id}/agreement.docx", as_="handler")
    assert docx.status_code == 200
    document = Document(io.BytesIO(docx.data))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    tables = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "张建华" in paragraphs + tables and "屋后果树" in paragraphs + tables
    browser.as_user("accountant")
    assert browser.get(f"/projects/{world.project.id}/ledger.xlsx").status_code == 200
    assert browser.get(f"/cases/{household.id}/agreement.docx").status_code == 200


# --- ids in paths: ASCII digits within the id range, nothing else ---------------------------------------------

def _id_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        ids = [name for name in rule.arguments if f"<int:{name}>" in rule.rule or f"<id:{name}>" in rule.rule]
        if ids:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((rule.rule, method, ids))
    return routes


def _fill(rule: str, ids: list[str], value: str) -> str:
    url = rule
    for name in ids:
        for converter in ("int", "id"):
            url = url.replace(f"<{converter}:{name}>", value)
    return url.replace("<module>", "survey").replace("<path:filename>", "x").replace("<string:kind>", "x")


def test_every_int_path_parameter_uses_the_ascii_id_converter(app: Flask) -> None:
    routes = _id_routes(app)
    assert len(routes) > 30
    for rule in app.url_map.iter_rules():
        for name in rule.arguments:
            if f"<int:{name}>" in rule.rule or f"<id:{name}>" in rule.rule:
                assert rule._converters[name].regex == "[0-9]+", rule.rule


@pytest.mark.parametrize("value", ODD_IDS)
def test_odd_ids_in_paths_are_never_a_record_and_never_a_500(world, api, browser: Browser, value: str) -> None:
    household, instance = factories.new_household(world, code="H-001")
    assert household.id == 1 and instance.id == 1  # '١' or '１' read as digits would name these
    browser.as_user("admin")
    token = {"Authorization": f"Bearer {api.token('admin')}"}
    seen = {}
    for rule, method, ids in _id_routes(browser.app):
        url = _fill(rule, ids, value)
        if url.startswith("/api/"):
            response = api.client.open(url, method=method, headers=token, json={})
        else:
            response = browser.open(method, url, data={})
        seen[(method, url)] = response.status_code
    assert len(seen) > 30
    wrong = {key: status for key, status in seen.items() if status not in (400, 404, 405, 422)}
    assert not wrong, wrong


QUERY_PAGES = ["/inbox?q=", "/inbox?role=", "/cases?q=", "/cases?step=", "/supervisor?step=", "/trail?user=",
               "/trail?household=", "/trail?action="]
ODD_QUERIES = {"nul": "a%00b", "surrogate": "%ED%A0%80x", "ideographic": "%E4%B8%AD%00"}


@pytest.mark.parametrize("url", QUERY_PAGES)
@pytest.mark.parametrize("kind", sorted(ODD_QUERIES))
def test_odd_query_strings_on_pages_answer_the_page(browser: Browser, cases: Cases, url: str, kind: str) -> None:
    browser.as_user("admin")
    page = browser.get(url + ODD_QUERIES[kind])
    assert page.status_code == 200, text_of(page)[:500]


@pytest.mark.parametrize("url", [*QUERY_PAGES, "/api/v1/tasks?q=", "/api/v1/instances?q="])
def test_a_10k_query_is_414_in_the_shape_of_its_side(browser: Browser, cases: Cases, api, url: str) -> None:
    browser.as_user("admin")
    if url.startswith("/api/"):
        assert_error(api.get(url + "x" * 10000, as_="admin"), 414, "uri_too_long")
    else:
        page = browser.get(url + "长" * 3000)
        assert page.status_code == 414 and "地址过长" in text_of(page)


@pytest.mark.parametrize("query", ["q=a%00b", "q=%ED%A0%80x"])
def test_odd_query_strings_on_the_api_are_refused_or_answered(world, api, query: str) -> None:
    response = api.get(f"/api/v1/tasks?{query}", as_="surveyor")
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]


# --- values changed instead of refused ------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "code"), [
    ("12.345", "decimal_places"), (12.345, "decimal_places"), ("1e-07", "decimal_format"),
    (1e-07, "decimal_format"), ("1_000", "decimal_format"), ("1,000.00", "decimal_format"), ("１２", "decimal_format"),
    ("Infinity", "decimal_format"), (" 12. ", "decimal_format"), ("+12", "decimal_format"), (True, "decimal_format")])
def test_money_is_refused_unless_written_plainly(written: Any, code: str) -> None:
    data = {**factories.STEP_DATA["survey"]}
    data["buildings"] = [{**data["buildings"][0], "measured_area": written}]
    with pytest.raises(InvalidInput) as caught:
        get_form("survey").load(data)
    problems = caught.value.fields["buildings.0.measured_area"]
    assert [getattr(p, "code", None) for p in problems] == [code]


@pytest.mark.parametrize(("written", "stored"), [("12.34", "12.34"), ("12", "12.00"), (12, "12.00"), (12.5, "12.50"),
                                                 ("0.1", "0.10"), (" 7.25 ", "7.25")])
def test_plain_money_is_kept_exactly(written: Any, stored: str) -> None:
    data = {**factories.STEP_DATA["survey"]}
    data["buildings"] = [{**data["buildings"][0], "measured_area": written}]
    values = get_form("survey").load(data)
    assert str(values["buildings"][0]["measured_area"]) == stored


DATES = [("appraisal", "report_date"), ("rights", "determined_on"), ("decision", "meeting_date"),
         ("calculation", "signed_on"), ("agreement", "move_deadline"), ("agreement", "household_signed_on")]


@pytest.mark.parametrize(("form", "name"), [*DATES, ("payment", "payments.0.paid_on")])
@pytest.mark.parametrize("day", ["9999-12-31", "0202-06-01", "1900-01-01"])
def test_dates_far_from_today_are_refused_with_their_range(form: str, name: str, day: str) -> None:
    schema = get_form(form).schema
    field = schema._declared_fields[name.split(".")[0]]
    if name.startswith("payments."):
        field = field.inner.schema.fields["paid_on"]
    low, high = field.bounds()
    assert date.today() - timedelta(days=366 * 11) <= low < date.today() < high <= date.today() + timedelta(
        days=366 * 10 + 1)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the field's own ValidationError
        field.deserialize(day)
    assert getattr(caught.value.messages[0], "code", None) == "date_range"
    assert field.deserialize(date.today().isoformat()) == date.today()


def test_a_year_built_in_the_future_is_refused() -> None:
    data = {**factories.STEP_DATA["survey"]}
    data["buildings"] = [{**data["buildings"][0], "year_built": date.today().year + 1}]
    with pytest.raises(InvalidInput) as caught:
        get_form("survey").load(data)
    assert [p.code for p in caught.value.fields["buildings.0.year_built"]] == ["year_range"]


def test_the_api_refuses_changed_values_and_keeps_the_record(world, api) -> None:
    _, task = case_at(api, world.project.id, "V-1", "agreement_draft")
    household_id = task["household_id"]
    url = f"/api/v1/households/{household_id}/modules/agreement"
    current = api.get(url, as_="handler").get_json()
    for changes, field in (({"household_signed_on": "9999-12-31"}, "household_signed_on"),
                           ({"move_deadline": "0001-01-01"}, "move_deadline")):
        error = assert_error(api.put(url, as_="handler", json={"data": changes, "version": current["version"]}),
                             422, fields={field})
        assert "日期" in error["fields"][field][0] or "date" in error["fields"][field][0]
    _, appraisal = case_at(api, world.project.id, "V-2", "appraisal")
    appraisal_url = f"/api/v1/households/{appraisal['household_id']}/modules/appraisal"
    api.post(f"{appraisal_url}/sync", as_="appraiser")
    record = api.get(appraisal_url, as_="appraiser").get_json()
    for written in ("12.345", "1e-07", "1_000", 12.345):
        rows = [{**row, "unit_price": written} for row in record["data"]["buildings"]]
        assert_error(api.put(appraisal_url, as_="appraiser", json={"data": {"buildings": rows},
                                                                    "version": record["version"]}),
                     422, fields={"buildings.0.unit_price"})
    assert api.get(appraisal_url, as_="appraiser").get_json()["version"] == record["version"]


def test_the_survey_page_refuses_changed_values_in_chinese_and_keeps_them(browser: Browser, cases: Cases) -> None:
    browser.as_user("surveyor")
    data = posted(factories.STEP_DATA["survey"])
    data.update({"buildings.0.measured_area": "12.345", "buildings.1.measured_area": "1,000",
                 "buildings.0.year_built": str(date.today().year + 5)})
    page = browser.post(f"/tasks/{cases.survey_task}/complete", data=data)
    assert page.status_code == 422
    body = text_of(page)
    assert 'value="12.345"' in body and 'value="1,000"' in body
    assert "最多两位小数" in body and "千位分隔符" in body and f"1900 至 {date.today().year}" in body


# --- the database out of reach, limits of the request -----------------------------------------------------------

@pytest.fixture()
def unreachable_app(app: Flask) -> Flask:
    """The application pointed at a database port nothing listens on."""
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:9/nowhere",
                  SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
                  UPLOAD_DIR=app.config["UPLOAD_DIR"])
    return create_app(config)


def test_the_database_out_of_reach_is_503_json_with_retry_after(unreachable_app: Flask) -> None:
    client = unreachable_app.test_client()
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer nothing-to-check"})
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert response.get_json() == {"error": {"code": "unavailable", "message": response.get_json()["error"]["message"]}}
    response = client.post("/api/v1/auth/token", json={"username": "surveyor", "password": "x"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "unavailable"


def test_the_database_out_of_reach_is_a_chinese_page(unreachable_app: Flask) -> None:
    client = unreachable_app.test_client()
    page = client.post("/login", data={"username": "surveyor", "password": "x"})
    assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
    body = page.get_data(as_text=True)
    assert "暂时无法使用" in body and "Traceback" not in body and 'data-testid="error-page"' in body


def test_a_dropped_connection_during_the_request_is_503(world, api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.token("surveyor")

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.engine, "connect", refuse)
    monkeypatch.setattr(Session, "execute", refuse)
    response = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "unavailable"


def test_a_teardown_rollback_that_fails_never_escapes(world, api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.token("surveyor")
    original = Session.close

    def broken_close(self: Session) -> None:
        original(self)
        raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))

    monkeypatch.setattr(Session, "close", broken_close)
    with api.client.application.app_context():  # the request's own context, torn down as a server's would be
        response = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    monkeypatch.undo()
    assert response.status_code == 200 and "items" in response.get_json()


def test_a_chunked_body_over_the_limit_is_413_json(world, api) -> None:
    limit = api.client.application.config["MAX_CONTENT_LENGTH"]
    body = b'{"code": "' + b"x" * (limit + 10) + b'"}'
    response = api.client.post(f"/api/v1/projects/{world.project.id}/households", input_stream=io.BytesIO(body),
                               headers={"Authorization": f"Bearer {api.token('surveyor')}",
                                        "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                               environ_overrides={"wsgi.input_terminated": True})
    assert_error(response, 413, "payload_too_large")
    small = api.client.post(f"/api/v1/projects/{world.project.id}/households",
                            input_stream=io.BytesIO(b'{"code": "H-1"}'),
                            headers={"Authorization": f"Bearer {api.token('surveyor')}",
                                     "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                            environ_overrides={"wsgi.input_terminated": True})
    assert_error(small, 422, "invalid_input", {"kind"})


def test_gunicorn_lets_the_long_addresses_through_to_the_application(app: Flask) -> None:
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    assert settings["limit_request_line"] > app.config["MAX_URL_LENGTH"] + 100

