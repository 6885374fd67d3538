"""The agreement: capitals of money, the unified template filled in (.docx and page), hostile text, API, pages."""
from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from typing import Any

import docx
import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Building, Household, Person, utcnow
from services import agreements
from services.agreements import amounts
from services.agreements.context import BLANK, BLANK_DATE, mask_id
from services.agreements.render import filename, render
from services.agreements.template import TEMPLATES
from services.context import Actor
from services.errors import Conflict, NotFound
from services.modules import store
from services.tx import transaction
from tests import factories
from tests.test_pages import INLINE_SCRIPT, Browser, text_of

HEAD_ID = "110105196503121314"
NUMBER = "P1-2026-0007"
ITEMS = [
    {"code": "building.1", "label": "房屋价值（主房）", "basis": "4,200.00元/㎡ × 160.00㎡", "amount": "672000.00"},
    {"code": "decoration.1", "label": "主房装修补偿（砖混）", "basis": "300.00元/㎡ × 168.50㎡", "amount": "50550.00"},
    {"code": "moving", "label": "搬迁费", "basis": "每户3,000.00元", "amount": "3000.00"},
    {"code": "bonus", "label": "限时签约奖励", "basis": "第一档", "amount": "509017.89"},
]
SIGNED = {
    "group_leader": {"decision": "approve", "opinion": "同意签约", "by": "group_leader", "by_name": "赵组长",
                     "at": "2026-11-25T08:00:00Z"},
    "village_cadre": {"decision": "approve", "opinion": "情况属实", "by": "village_cadre", "by_name": "钱村委",
                      "at": "2026-11-25T17:30:00Z"},
    "handler": {"decision": "approve", "opinion": "同意", "by": "handler", "by_name": "孙经办",
                "at": "2026-11-24T02:00:00Z"},
    "reviewer": {"decision": "approve", "opinion": "审核无误", "by": "reviewer", "by_name": "李审核",
                 "at": "2026-11-26T01:00:00Z"},
}


def agreement(**changes: Any) -> dict[str, Any]:
    """The agreement module as the handler's step writes it, with changes."""
    data = {"number": NUMBER, "revision": 1, "template_version": "2026.1", "option": "cash", "total": "1234567.89",
            "items": ITEMS, "policy_version": "2026.1", "head_name": "张建华", "address": "北区三村1组1号",
            "move_deadline": "2027-01-31", "household_signed_on": "2026-11-24", "bank_account": "6222 0210 0100 1234",
            "notes": "屋后果树另行协商", "signatures": SIGNED}
    data.update(changes)
    return data


def household_with(world: factories.World, data: dict[str, Any] | None, code: str = "H-001",
                   buildings: bool = True) -> Household:
    """A household of the world's project with a head, buildings and (when given) its agreement module."""
    household, _instance = factories.new_household(world, code)
    with transaction():
        db.session.add(Person(household_id=household.id, position=0, name="张建华", id_number=HEAD_ID,
                              relation="head"))
        db.session.add(Person(household_id=household.id, position=1, name="李秀英", id_number="110105196805202428",
                              relation="spouse"))
        if buildings:
            db.session.add(Building(household_id=household.id, position=0, label="主房", structure="brick_concrete",
                                    certified_area=Decimal("160.00"), measured_area=Decimal("168.50"), floors=2,
                                    use="residential", legal_status="legal"))
            db.session.add(Building(household_id=household.id, position=1, label="附房", structure="simple",
                                    certified_area=None, measured_area=Decimal("32.00"), floors=1,
                                    use="residential", legal_status="legacy"))
        if data is not None:
            store.write(world.actor("handler"), household, "agreement", data, now=utcnow())
    return household


def text_of_docx(content: bytes) -> str:
    """Every text of a .docx: paragraphs, table cells (row by row, cells joined by |) and the page footer."""
    document = docx.Document(io.BytesIO(content))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend(" | ".join(cell.text for cell in row.cells) for row in table.rows)
    lines.extend(p.text for p in document.sections[0].footer.paragraphs)
    return "\n".join(lines)


def well_formed(content: bytes) -> None:
    """Every XML part of the package parses strictly (no recovery)."""
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        for name in package.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(package.read(name), etree.XMLParser(recover=False))


# --- money in capitals ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "capitals"), [
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.01", "壹分"),
    ("0.05", "伍分"),
    ("0.10", "壹角整"),
    ("0.56", "伍角陆分"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("15", "壹拾伍元整"),
    ("100", "壹佰元整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1001", "壹仟零壹元整"),
    ("10000", "壹万元整"),
    ("10100", "壹万零壹佰元整"),
    ("100000", "壹拾万元整"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1409.50", "壹仟肆佰零玖元伍角整"),
    ("1000000.5", "壹佰万元伍角整"),
    ("1001000", "壹佰万壹仟元整"),
    ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ("12345678.9", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整"),
    ("100000000", "壹亿元整"),
    ("100000001", "壹亿零壹元整"),
    ("100010000", "壹亿零壹万元整"),
    ("100100000", "壹亿零壹拾万元整"),
    ("20000000000", "贰佰亿元整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("-0.01", "负壹分"),
    ("-100", "负壹佰元整"),
    ("-1234567.89", "负壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ("-0.001", "零元整"),
    ("0.005", "壹分"),
])
def test_amounts_in_chinese_capitals(amount: str, capitals: str) -> None:
    assert amounts.to_capitals(amount) == capitals
    assert amounts.to_capitals(Decimal(amount)) == capitals


def test_capitals_take_integers_and_refuse_what_is_not_an_amount() -> None:
    assert amounts.to_capitals(100) == "壹佰元整"
    assert amounts.to_capitals(0) == "零元整"
    for bad in ("", "abc", "NaN", "Infinity", None, True, Decimal("1e30"), "1000000000000"):
        with pytest.raises(ValueError):
            amounts.to_capitals(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("amount", "text"), [("0", "0.00"), ("1234567.89", "1,234,567.89"), ("-5000", "-5,000.00"),
                                               ("999.999", "1,000.00")])
def test_amounts_in_figures(amount: str, text: str) -> None:
    assert amounts.figures(amount) == text


def test_id_numbers_show_only_their_last_four_characters() -> None:
    assert mask_id(HEAD_ID) == "*" * 14 + "1314"
    assert mask_id("") == "" and mask_id(None) == ""


# --- the template and the rendered document ---------------------------------------------------------------------

def test_the_template_is_a4_with_the_tags_docxtpl_fills() -> None:
    template = docx.Document(io.BytesIO(TEMPLATES["2026.1"]()))
    section = template.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    body = "\n".join(p.text for p in template.paragraphs)
    assert "征收补偿协议" in body and "{{ number }}" in body and "{%p if is_swap %}" in body
    rows = [row.cells[0].text for table in template.tables for row in table.rows]
    assert "{%tr for i in items %}" in rows and "{%tr for s in signatures %}" in rows


def test_render_fills_the_agreement(world: factories.World) -> None:
    household = household_with(world, agreement())
    content = render(household.id, office="江城市北区街道办事处")
    text = text_of_docx(content)
    assert NUMBER in text and "征收补偿协议" in text
    assert "甲方（征收实施单位）：江城市北区街道办事处" in text
    assert "乙方（被征收人）：张建华" in text and "北区三村1组1号" in text and "北区三村" in text
    assert "*" * 14 + "1314" in text and HEAD_ID not in text
    assert "主房 | 砖混 | 2 | 住宅 | 合法 | 160.00 | 168.50" in text
    assert "附房 | 简易 | 1 | 住宅 | 历史遗留 |  | 32.00" in text
    assert "实测建筑面积合计200.50平方米" in text and "货币补偿" in text
    for item in ITEMS:
        assert item["label"] in text and item["basis"] in text
        assert amounts.figures(item["amount"]) in text
    assert "补偿总额为人民币1,234,567.89元（大写：人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分）" in text
    assert "乙方应于2027年1月31日前完成搬迁" in text
    assert "6222 0210 0100 1234" in text and "屋后果树另行协商" in text
    # signatures: who, opinion and the local (Asia/Shanghai) date; 17:30Z is the next day there
    assert "工作组负责人 | 赵组长 | 同意签约 | 2026年11月25日" in text
    assert "村干部 | 钱村委 | 情况属实 | 2026年11月26日" in text
    assert "经办人 | 孙经办 | 同意 | 2026年11月24日" in text
    assert "审核人员 | 李审核 | 审核无误 | 2026年11月26日" in text
    assert "签订日期：2026年11月24日" in text
    assert "{{" not in text and "{%" not in text
    well_formed(content)


def test_the_same_agreement_gives_the_same_document(world: factories.World) -> None:
    household = household_with(world, agreement())
    assert render(household.id) == render(household.id)
    assert filename(NUMBER) == f"{NUMBER}.docx"
    assert filename("A/B: C") == "A_B_C.docx"


def test_unsigned_signatures_leave_blank_lines(world: factories.World) -> None:
    household = household_with(world, agreement(signatures={"handler": SIGNED["handler"]}, household_signed_on=None),
                               buildings=False)
    text = text_of_docx(render(household.id))
    assert "经办人 | 孙经办 | 同意 | 2026年11月24日" in text
    for role in ("工作组负责人", "村干部", "审核人员"):
        assert f"{role} | {BLANK} |  | {BLANK_DATE}" in text
    assert f"签订日期：{BLANK_DATE}" in text and f"乙方（签字并按手印）：{BLANK}" in text
    assert "无登记房屋" in text and "共0处" in text


@pytest.mark.parametrize(("total", "payable", "who"), [
    ("-45678.90", "45,678.90", "由乙方支付给甲方"),
    ("12000.00", "12,000.00", "由甲方支付给乙方"),
    ("0.00", "0.00", "双方互不找补"),
])
def test_a_swap_settles_the_difference_either_way(world: factories.World, total: str, payable: str,
                                                  who: str) -> None:
    household = household_with(world, agreement(option="swap", total=total))
    text = text_of_docx(render(household.id))
    capitals = amounts.to_capitals(payable.replace(",", ""))
    assert "乙方自愿选择产权调换方式" in text
    assert f"产权调换差价为人民币{payable}元（大写：人民币{capitals}），{who}。" in text
    assert "补偿总额为人民币" not in text
    if who == "由乙方支付给甲方":
        assert "一次性支付至甲方指定账户" in text and "乙方账户" not in text
    elif who == "由甲方支付给乙方":
        assert "差价款人民币12,000.00元" in text and "一次性支付至乙方账户" in text
    else:
        assert "本协议双方无需相互支付款项" in text


def test_hostile_text_stays_literal_and_the_document_intact(world: factories.World) -> None:
    notes = '</w:t></w:r></w:p><w:p><w:r><w:t>注入 {{ 7*7 }} {% if true %}X{% endif %} & "引号" <b>'
    household = household_with(world, agreement(
        notes=notes + "\r\n第二行\x07\x0c", head_name="张{{ number }}</w:t>",
        bank_account="{%p endif %}", items=[{**ITEMS[0], "label": "{{ total_capitals }}", "basis": "<w:br/>&amp;"}]))
    content = render(household.id)
    well_formed(content)
    text = text_of_docx(content)
    assert notes in text and "第二行" in text
    assert "张{{ number }}</w:t>" in text and "{%p endif %}" in text
    assert "{{ total_capitals }} | <w:br/>&amp;" in text
    assert "注入 49" not in text and "张" + NUMBER not in text
    assert "\x07" not in text and "\x0c" not in text
    # the notes' line break is a line break of the paragraph, not a new paragraph
    assert any(p.text == "五、备注：" + notes + "\n第二行" for p in docx.Document(io.BytesIO(content)).paragraphs)


def test_no_agreement_until_it_is_numbered(world: factories.World) -> None:
    without = household_with(world, None)
    draft = household_with(world, {"move_deadline": "2027-01-31", "notes": "草稿"}, code="H-002")
    for household in (without, draft):
        with pytest.raises(NotFound):
            render(household.id)
        assert not agreements.has_agreement(household.id)
    with pytest.raises(NotFound):
        render(999999)


def test_an_unknown_template_version_is_not_silently_replaced(world: factories.World) -> None:
    household = household_with(world, agreement(template_version="1999.9"))
    with pytest.raises(Conflict):
        render(household.id)


def test_the_page_blocks_carry_the_same_text_as_the_document(world: factories.World) -> None:
    household = household_with(world, agreement())
    sheet = agreements.page(world.actor("finance"), household.id, office="北区街道办事处", timezone="Asia/Shanghai")
    document = text_of_docx(render(household.id, office="北区街道办事处"))
    for block in sheet.blocks:
        if block.kind == "paragraph":
            assert block.text in document
        else:
            for row in block.rows:
                assert " | ".join(row) in document
    with pytest.raises(NotFound):
        agreements.page(Actor(world.outsider), household.id, office="x", timezone="Asia/Shanghai")


# --- the API ---------------------------------------------------------------------------------------------------

def test_the_api_serves_the_docx_to_project_members_and_audits_it(api, world: factories.World) -> None:
    household = household_with(world, agreement())
    url = f"/api/v1/households/{household.id}/agreement.docx"
    assert api.get(url).status_code == 401
    response = api.get(url, as_="archivist")
    assert response.status_code == 200
    assert response.mimetype == agreements.DOCX
    assert response.headers["Content-Disposition"] == f"attachment; filename={NUMBER}.docx"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert NUMBER in text_of_docx(response.get_data())
    assert "*" * 14 + "1314" in text_of_docx(response.get_data())
    db.session.rollback()
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "agreement.download")).all()
    assert [(r.actor_name, r.household_id, r.target_id) for r in rows] == [("archivist", household.id, NUMBER)]
    assert rows[0].after == {"number": NUMBER, "revision": 1, "template_version": "2026.1"}


def test_the_api_answers_404_outside_the_projects_and_without_an_agreement(api, world: factories.World) -> None:
    household = household_with(world, agreement())
    bare = household_with(world, None, code="H-002")
    for url, user in ((f"/api/v1/households/{household.id}/agreement.docx", "outsider"),
                      (f"/api/v1/households/{bare.id}/agreement.docx", "handler"),
                      ("/api/v1/households/999999/agreement.docx", "handler"),
                      ("/api/v1/households/99999999999999/agreement.docx", "handler")):
        response = api.get(url, as_=user)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"
    assert api.get(f"/api/v1/households/{household.id}/agreement.docx", as_="supervisor").status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(AuditLog.actor_name).where(AuditLog.action == "agreement.download")) \
        == "supervisor"


def test_the_api_document_names_the_download(api) -> None:
    spec = api.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/households/{household_id}/agreement.docx"]["get"]
    assert set(operation["responses"]) >= {"200", "401", "404"}


# --- the pages --------------------------------------------------------------------------------------------------

@pytest.fixture()
def browser(app: Flask, world: factories.World) -> Browser:
    return Browser(app)


def test_the_printable_page_shows_the_agreement(browser: Browser, world: factories.World) -> None:
    household = household_with(world, agreement(notes="<script>alert(1)</script>"))
    browser.as_user("village_cadre")
    page = browser.get(f"/cases/{household.id}/agreement")
    assert page.status_code == 200
    html = text_of(page)
    assert NUMBER in html and "征收补偿协议" in html and "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in html
    assert "1,234,567.89" in html and "钱村委" in html and "*" * 14 + "1314" in html and HEAD_ID not in html
    for item in ITEMS:
        assert item["label"] in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert not INLINE_SCRIPT.search(html)
    assert "css/print.css" in html
    assert f'href="/cases/{household.id}/agreement.docx"' in html
    download = browser.get(f"/cases/{household.id}/agreement.docx")
    assert download.status_code == 200 and download.mimetype == agreements.DOCX
    assert f"filename={NUMBER}.docx" in download.headers["Content-Disposition"]
    assert NUMBER in text_of_docx(download.get_data())


def test_the_pages_are_for_project_members_with_an_agreement(browser: Browser, world: factories.World) -> None:
    household = household_with(world, agreement())
    bare = household_with(world, None, code="H-002")
    anonymous = browser.get(f"/cases/{household.id}/agreement")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    browser.as_user("outsider")
    for url in (f"/cases/{household.id}/agreement", f"/cases/{household.id}/agreement.docx"):
        assert browser.get(url).status_code == 404
    browser.as_user("surveyor")
    for url in (f"/cases/{bare.id}/agreement", f"/cases/{bare.id}/agreement.docx", "/cases/999999/agreement"):
        assert browser.get(url).status_code == 404
    assert browser.get(f"/cases/{household.id}/agreement?lang=en").status_code == 200


def test_the_page_is_laid_out_for_a4_print() -> None:
    from app.config import BASE_DIR

    css = (BASE_DIR / "app" / "static" / "css" / "print.css").read_text(encoding="utf-8")
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    assert re.search(r"@media print\s*\{", css) and ".topbar" in css
