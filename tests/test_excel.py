"""The roster template and import (all rows or none, every bad cell named) and the case ledger export."""
from __future__ import annotations

import io
import random
import zipfile
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Agreement, AuditLog, Household, HumanTask, ProcessInstance, WorkGroup, utcnow
from services import households
from services.excel import ledger
from tests import factories
from tests.api_support import fast_passwords  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

HEADERS = ["户号", "户别", "片区/标段", "地址", "户主姓名", "联系电话", "土地性质", "工作组", "备注"]
TEMPLATE_HEADERS = [*HEADERS[:7], "村/片区", "批次", *HEADERS[7:]]  # a roster without these two still imports
LEDGER_HEADERS = ["户号", "户主", "户别", "地址", "片区", "当前环节", "状态", "协议编号", "协议金额", "已拨付",
                  "拨付进度", "签约日期", "结案"]
KINDS = ["农户(集体土地房屋)", "国有土地住宅", "企业", "店面", "shop", "农户（集体土地房屋）"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def roster_row(i: int) -> list[Any]:
    """A valid roster line (the spreadsheet row is i + 2)."""
    return [f"R-{i:04d}", KINDS[i % len(KINDS)], f"{i % 3 + 1}片区", f"北区三村{i}号", f"户主{i}",
            13800000000 + i if i % 2 else f"0571-8765{i % 10000:04d}", "国有" if i % 5 == 0 else None,
            "第一工作组" if i % 4 else None, f"备注{i}" if i % 7 == 0 else None]


def workbook_bytes(rows: list[list[Any]], headers: list[Any] | None = None, text: tuple[str, ...] = ()) -> bytes:
    """An .xlsx roster; cells named in `text` are stored as text, as an apostrophe makes Excel do."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    for row in (HEADERS if headers is None else headers, *rows):
        sheet.append(row)
    for ref in text:
        sheet[ref].data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(api, project_id: int, data: bytes, as_: str | None = "surveyor", name: str = "roster.xlsx"):
    return api.post(f"/api/v1/projects/{project_id}/households/import", as_=as_,
                    data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def households_in(project_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Household).where(Household.project_id == project_id))


def roster_error(response, status: int = 422) -> dict:
    """The error of a refused roster: the API's shape, plus "rows" for bad cells."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    error = response.get_json()["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "fields", "problems", "problem", "rows"}
    if status == 422:
        assert error["fields"] and all(isinstance(v, list) and v for v in error["fields"].values())
    return error


def cells(error: dict) -> set[tuple[int, str]]:
    return {(r["row"], r["field"]) for r in error["rows"]}


def test_a_200_row_roster_imports_every_household_with_its_pipeline(world, api):
    response = upload(api, world.project.id, workbook_bytes([roster_row(i) for i in range(200)]))
    assert (response.status_code, response.get_json(), households_in(world.project.id)) == (200, {"created": 200}, 200)
    instances = db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.project_id == world.project.id))
    surveys = db.session.scalars(select(HumanTask.instance_id).where(HumanTask.bpmn_id == "survey",
                                                                     HumanTask.status == "ready")).all()
    assert len(set(instances)) == len(surveys) == len(set(surveys)) == 200
    group = db.session.scalar(select(WorkGroup.id).where(WorkGroup.project_id == world.project.id))
    found = {h.code: h for h in db.session.scalars(select(Household).where(Household.code < "R-0007"))}
    assert [(h.kind, h.land_nature) for _, h in sorted(found.items())] == [
        ("collective_house", "state"), ("state_house", "state"), ("enterprise", "state"), ("shop", "state"),
        ("shop", "state"), ("collective_house", "state"), ("collective_house", "collective")]
    first = found["R-0000"]
    assert (first.section, first.address, first.head_name, first.phone, first.work_group_id, first.created_by_id,
            found["R-0001"].phone) == ("1片区", "北区三村0号", "户主0", "0571-87650000", group,
                                       world.users["surveyor"].id, "13800000001")
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("household.%"))).all()
    assert actions.count("household.create") == 200 and actions.count("household.import") == 1


def test_one_bad_cell_imports_nothing_and_names_its_row_and_field(world, api):
    rows = [roster_row(i) for i in range(200)]
    rows[55][1] = "别墅"  # spreadsheet row 57: the header is row 1
    error = roster_error(upload(api, world.project.id, workbook_bytes(rows)))
    assert error["code"] == "invalid_roster" and "file" in error["fields"]
    assert error["rows"] == [{"row": 57, "field": "kind", "message": error["rows"][0]["message"]}]
    assert "农户(集体土地房屋)" in error["rows"][0]["message"] and households_in(world.project.id) == 0
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_every_bad_cell_is_named_with_its_row_and_field(world, api):
    rows = [roster_row(i) for i in range(8)]
    rows[0][3] = None                      # row 2: address missing
    rows[1][5] = "12345"                   # row 3: not a phone number
    rows[2][6] = "宅基地"                   # row 4: not a land nature
    rows[3][7] = "第九工作组"                # row 5: not a work group of the project
    rows[4][0] = "R 4"                     # row 6: a space in the code
    rows[5][4] = "张" * 65                  # row 7: head of household too long
    rows[6][0] = datetime(2026, 1, 5)      # row 8: Excel made the code a date
    rows[7][4] = "#N/A"                    # row 9: a spreadsheet error
    rows.append([None] * 9)                # an empty row is skipped
    rows.append(["R-9000", None, None, None, None, None, None, None, "  "])  # row 11: kind, address, head missing
    error = roster_error(upload(api, world.project.id, workbook_bytes(rows)))
    assert cells(error) == {(2, "address"), (3, "phone"), (4, "land_nature"), (5, "work_group"), (6, "code"),
                            (7, "head_name"), (8, "code"), (9, "head_name"), (11, "kind"), (11, "address"),
                            (11, "head_name")}
    assert [r["row"] for r in error["rows"]] == sorted(r["row"] for r in error["rows"])
    assert "date" in next(r["message"] for r in error["rows"] if r["row"] == 8) and not households_in(world.project.id)


def test_duplicate_codes_in_the_file_and_in_the_project_are_named(world, api):
    factories.new_household(world, code="H-001")
    rows = [roster_row(i) for i in range(4)]
    rows[0][0] = "H-001"
    rows[3][0] = rows[1][0]
    error = roster_error(upload(api, world.project.id, workbook_bytes(rows)))
    assert cells(error) == {(2, "code"), (5, "code")}
    messages = {r["row"]: r["message"] for r in error["rows"]}
    assert "already exists" in messages[2] and "row 3" in messages[5] and households_in(world.project.id) == 1


def test_columns_are_found_by_their_headers_and_required_ones_must_be_there(world, api):
    headers = ["序号", "户主姓名", "地址", "户别", "户号*"]
    data = workbook_bytes([[1, "周敏", "滨江路1号", "店面", "S-1"], [2, None, None, None, None]], headers)
    assert upload(api, world.project.id, data).get_json() == {"created": 1}
    error = roster_error(upload(api, world.project.id, workbook_bytes([["x", "y"]], ["户号", "户号", "备注"])))
    assert cells(error) == {(1, "code"), (1, "kind"), (1, "address"), (1, "head_name")}


def test_formulas_are_read_as_their_values_and_text_stays_text(world, api):
    rows = [roster_row(0), roster_row(1)]
    rows[0][4] = '="张"&"三"'
    rows[1][8] = '=HYPERLINK("http://example.com")'
    parts = _parts(workbook_bytes(rows, text=("I3",)))
    sheet = parts["xl/worksheets/sheet1.xml"].decode()  # the value Excel saves with a formula
    parts["xl/worksheets/sheet1.xml"] = sheet.replace('<c r="E2">', '<c r="E2" t="str">').replace(
        "<v></v>", "<v>张三</v>").encode()
    assert upload(api, world.project.id, _zip(parts)).status_code == 200
    values = {code: (name, notes) for code, name, notes in db.session.execute(
        select(Household.code, Household.head_name, Household.notes))}
    assert values["R-0000"][0] == "张三" and values["R-0001"][1] == '=HYPERLINK("http://example.com")'
    rows[0][4], rows[1][7] = "=B2&C2", "拓宽组"  # a formula without a saved value is an empty cell
    assert cells(roster_error(upload(api, world.other_project.id, workbook_bytes(rows), as_="outsider"))) == {
        (2, "head_name")}


def _parts(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {item.filename: archive.read(item.filename) for item in archive.infolist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


VALID = workbook_bytes([roster_row(0)])
HEAD = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
FILES = {  # what is sent and the status it gets: the content decides, never the name
    "png": (lambda: PNG, 415),
    "random bytes": (lambda: random.Random(7).randbytes(4096), 415),
    "empty": (lambda: b"", 422),
    "csv": (lambda: "户号,户别\nH-1,店面\n".encode(), 415),
    "legacy xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), 415),
    "docx": (lambda: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}), 415),
    "zip claiming xlsx": (lambda: _zip({**HEAD, "xl/workbook.xml": b"not xml"}), 422),
    "truncated xlsx": (lambda: VALID[:700], 415),
    "zip bomb": (lambda: _zip({**HEAD, "xl/worksheets/sheet1.xml": bytes(70 * 1024 * 1024)}), 413),
    "xlsx named .png": (lambda: VALID, 200),
}


@pytest.mark.parametrize("kind", list(FILES))
def test_the_content_decides_what_is_accepted_and_nothing_gives_a_500(world, api, kind):
    make, status = FILES[kind]
    response = upload(api, world.project.id, make(), name="名册.png" if status == 200 else "roster.xlsx")
    if status != 200:
        roster_error(response, status)
    assert households_in(world.project.id) == (1 if status == 200 else 0)


def test_no_bytes_whatever_give_a_500(world, api):
    rng = random.Random(2026)
    samples = [VALID[:cut] for cut in (4, 30, 200, len(VALID) // 2, len(VALID) - 1)]
    for _ in range(25):
        mutated = bytearray(VALID)
        for position in rng.sample(range(len(VALID)), rng.randint(1, 40)):
            mutated[position] = rng.randrange(256)
        samples.append(bytes(mutated))
    for victim in ("xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/_rels/workbook.xml.rels"):
        parts = _parts(VALID)
        parts[victim] = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>"
        samples.append(_zip(parts))
        parts[victim] = parts[victim][:10]
        samples.append(_zip(parts))
    for sample in samples:
        response = upload(api, world.project.id, sample)
        assert response.status_code in (200, 413, 415, 422), (response.status_code, response.get_json())
    garbage = api.post(f"/api/v1/projects/{world.project.id}/households/import", as_="surveyor",
                       data=b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\x00\xff",
                       content_type="multipart/form-data; boundary=x")
    assert garbage.status_code in (400, 415, 422)
    roster_error(api.post(f"/api/v1/projects/{world.project.id}/households/import", as_="surveyor",
                          json={"file": "roster.xlsx"}))


def test_size_and_row_limits(app, world, api, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 10)
    assert roster_error(upload(api, world.project.id, workbook_bytes([roster_row(i) for i in range(11)])))[
        "code"] == "too_many_rows"
    assert upload(api, world.project.id, workbook_bytes([roster_row(i) for i in range(10)])).status_code == 200
    assert roster_error(upload(api, world.project.id, workbook_bytes([[None] * 9, ["  "]])))["code"] == "no_rows"
    monkeypatch.setitem(app.config, "ROSTER_MAX_BYTES", 2000)
    roster_error(upload(api, world.project.id, workbook_bytes([roster_row(20)])), 413)
    assert households_in(world.project.id) == 10


@pytest.mark.parametrize(("username", "status"), [("surveyor", 200), ("admin", 200), ("accountant", 403),
                                                  ("supervisor", 403), ("outsider", 404), (None, 401)])
def test_importing_is_for_surveyors_and_admins_of_the_project(world, api, username, status):
    response = upload(api, world.project.id, VALID, as_=username)
    assert response.status_code == status, response.get_json()
    assert upload(api, 999999, VALID, as_=username).status_code == (401 if username is None else 404)
    assert households_in(world.project.id) == (1 if status == 200 else 0)


def test_the_template_has_the_chinese_headers_dropdowns_and_instructions(world, api):
    response = api.get(f"/api/v1/projects/{world.project.id}/households/import-template.xlsx", as_="accountant")
    assert (response.status_code, response.mimetype, response.headers["Content-Disposition"][:10]) == (
        200, XLSX, "attachment")
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook["花名册"]
    assert workbook.sheetnames[:2] == ["花名册", "填写说明"] and workbook["选项"]["A1"].value == "第一工作组"
    assert [c.value for c in sheet[1]] == TEMPLATE_HEADERS and sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert all(label in lists["B2"] for label in ("农户(集体土地房屋)", "国有土地住宅", "企业", "店面"))
    assert "集体" in lists["G2"] and "国有" in lists["G2"] and "选项" in lists["J2"]
    assert "H2" not in lists and "I2" not in lists  # the project has no villages or batches to offer
    instructions = " ".join(str(c.value) for row in workbook["填写说明"].iter_rows() for c in row if c.value)
    assert "北区三村" in instructions and "户别" in instructions
    for row in map(roster_row, range(3)):
        sheet.append([*row[:7], None, None, *row[7:]])
    buffer = io.BytesIO()
    workbook.save(buffer)  # filled in, with its dropdowns and hidden choices, it imports
    assert upload(api, world.project.id, buffer.getvalue()).get_json() == {"created": 3}
    for url in (f"{world.project.id}/households/import-template.xlsx", "99999999999/households/import-template.xlsx",
                f"{world.project.id}/ledger.xlsx", "999999/ledger.xlsx"):
        roster_error(api.get(f"/api/v1/projects/{url}", as_="outsider"), 404)


@pytest.fixture()
def ledger_cases(world):
    """Three households: one signed and half paid with its agreement, one waiting for its survey, one closed."""
    signed, first = factories.new_household(world, code="H-001")
    second, third = (factories.new_household(world, code=code, kind=kind)[1]
                     for code, kind in (("H-002", "shop"), ("H-003", "enterprise")))
    first.agreed_amount, first.paid_amount = Decimal("1280000.00"), Decimal("640000.00")
    first.signed_at = datetime(2026, 11, 24, 18, 30)  # 02:30 on the 25th in Shanghai
    third.agreed_amount = third.paid_amount = Decimal("300000.50")
    third.signed_at, third.status = datetime(2026, 10, 1, 2, 0), "completed"
    db.session.add(Agreement(household_id=signed.id, project_id=world.project.id, number="P1-2026-0001",
                             template_version="v1", total=Decimal("1280000.00")))
    db.session.commit()
    return first, second, third


def test_the_ledger_has_a_row_per_household_with_its_figures_and_totals(world, api, ledger_cases):
    response = api.get(f"/api/v1/projects/{world.project.id}/ledger.xlsx", as_="accountant")
    assert (response.status_code, response.mimetype) == (200, XLSX)
    sheet = load_workbook(io.BytesIO(response.data))["签约台账"]
    assert [c.value for c in sheet[1]] == LEDGER_HEADERS and sheet.freeze_panes == "A2"
    first, second, third, totals = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert first == ["H-001", "张建华", "农户(集体土地房屋)", "北区三村1组1号", None, "调查建档", "办理中",
                     "P1-2026-0001", 1280000, 640000, 0.5, datetime(2026, 11, 25), "否"]
    assert second == ["H-002", "张建华", "店面", "北区三村1组1号", None, "调查建档", "办理中", None, None, 0, None,
                      None, "否"]
    assert third[2] == "企业" and third[6] == "已办结" and third[8:] == [
        pytest.approx(300000.5), pytest.approx(300000.5), 1, datetime(2026, 10, 1), "是"]
    assert totals[0] == "合计" and totals[8] == pytest.approx(1580000.5) and totals[9] == pytest.approx(940000.5)
    assert totals[10] == pytest.approx(940000.5 / 1580000.5)
    assert {(sheet.cell(row=r, column=c).number_format) for r in (2, 3, 5) for c in (9, 10)} == {"#,##0.00"}
    assert {sheet.cell(row=r, column=11).number_format for r in (2, 3, 5)} == {"0.00%"}
    assert isinstance(sheet["I2"].value, (int, float)) and sheet["L2"].is_date
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "export.ledger")).all()
    assert [(a.actor_name, a.target_id) for a in audit] == [("accountant", str(world.project.id))]


@pytest.mark.parametrize(("username", "status"), [("accountant", 200), ("finance", 200), ("supervisor", 200),
                                                  ("admin", 200), ("outsider", 404), (None, 401)])
def test_the_ledger_is_for_members_supervisors_and_admins(world, api, ledger_cases, username, status):
    assert api.get(f"/api/v1/projects/{world.project.id}/ledger.xlsx", as_=username).status_code == status
    exported = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "export.ledger"))
    assert exported == (1 if status == 200 else 0)


def test_ledger_text_never_becomes_a_formula(world, api):
    households.create(world.actor("surveyor"), world.project.id,
                      {"code": "F-1", "kind": "shop", "address": "#N/A", "head_name": "=1+1"}, now=utcnow())
    sheet = load_workbook(io.BytesIO(api.get(f"/api/v1/projects/{world.project.id}/ledger.xlsx",
                                             as_="surveyor").data))["签约台账"]
    assert [(sheet[ref].value, sheet[ref].data_type) for ref in ("B2", "D2")] == [("=1+1", "s"), ("#N/A", "s")]


def _ledger_queries(project_id: int, expected_rows: int) -> int:
    """How many statements building the ledger's lines takes."""
    statements: list[str] = []
    db.session.rollback()
    event.listen(db.engine, "before_cursor_execute", count := lambda *args: statements.append(args[2]))
    try:
        assert len(ledger.rows(project_id, ZoneInfo("Asia/Shanghai"))) == expected_rows
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_the_ledger_takes_the_same_few_queries_for_any_number_of_households(world, api):
    upload(api, world.project.id, workbook_bytes([roster_row(i) for i in range(3)]))
    few = _ledger_queries(world.project.id, 3)
    upload(api, world.project.id, workbook_bytes([roster_row(i) for i in range(3, 40)]))
    assert _ledger_queries(world.project.id, 40) == few <= 3


class Pages:
    """A signed-in browser of the pages; each request in an application context of its own."""

    def __init__(self, app, username: str):
        self.app, self.client = app, app.test_client()
        assert self.post("/login", data={"username": username, "password": factories.PASSWORD}).status_code == 302

    def post(self, url: str, **kwargs):
        with self.app.app_context():
            return self.client.post(url, **kwargs)

    def get(self, url: str):
        with self.app.app_context():
            return self.client.get(url)

    def send(self, url: str, data: bytes | None):
        files = {"file": (io.BytesIO(data), "roster.xlsx")} if data is not None else {}
        return self.post(url, data=files, content_type="multipart/form-data")


def test_the_import_page_lists_bad_cells_and_imports_a_good_roster(app, world):
    pages = Pages(app, "surveyor")
    url = f"/projects/{world.project.id}/import"
    page = pages.get(url)
    body = page.get_data(as_text=True)
    parts = ('enctype="multipart/form-data"', 'name="csrf_token"', 'name="file"', f"{world.project.id}/ledger.xlsx",
             f"/projects/{world.project.id}/import-template.xlsx")
    assert page.status_code == 200 and all(part in body for part in parts)
    rows = [roster_row(i) for i in range(60)]
    rows[55][1] = "别墅"
    page = pages.send(url, workbook_bytes(rows))
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'data-row="57"' in body and "户别" in body and body.count("data-row=") == 1
    assert households_in(world.project.id) == 0
    for data, status in ((PNG, 415), (None, 422), (b"", 422)):
        page = pages.send(url, data)
        assert page.status_code == status and 'data-testid="import-error"' in page.get_data(as_text=True)
    rows[55][1] = "农户"
    page = pages.send(url, workbook_bytes(rows))
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/cases?project_id={world.project.id}")
    assert households_in(world.project.id) == 60
    assert "R-0059" in pages.get(page.headers["Location"]).get_data(as_text=True)


def test_the_page_downloads_the_template_and_the_ledger(app, world):
    pages = Pages(app, "surveyor")
    for url, title, headers in (("import-template.xlsx", "花名册", TEMPLATE_HEADERS),
                                ("ledger.xlsx", "签约台账", LEDGER_HEADERS)):
        download = pages.get(f"/projects/{world.project.id}/{url}")
        assert download.status_code == 200
        assert [c.value for c in load_workbook(io.BytesIO(download.data))[title][1]] == headers
    accountant = Pages(app, "accountant")
    assert accountant.get(f"/projects/{world.project.id}/ledger.xlsx").status_code == 200
    assert accountant.get(f"/projects/{world.project.id}/import").status_code == 403
    outsider = Pages(app, "outsider")
    for url in ("import", "import-template.xlsx", "ledger.xlsx"):
        assert outsider.get(f"/projects/{world.project.id}/{url}").status_code == 404
    assert pages.get("/projects/99999999999/import").status_code == 404
