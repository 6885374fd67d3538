"""The data an agreement is printed from: its module record, the household, its head, buildings and signers."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Building, Household, Person, Project
from services.agreements.amounts import figures, to_capitals, to_decimal
from services.agreements.layout import CURRENT
from services.errors import NotFound
from services.modules.store import get_record
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "agreement_none": N_("the household has no agreement yet"),
    "agreement_no_total": N_("the household's agreement has no total yet"),
})

MODULE = "agreement"
DEFAULT_OFFICE = "街道办事处"
SIGNERS = (("group_leader", "工作组负责人"), ("village_cadre", "村干部"), ("handler", "经办人"),
           ("reviewer", "审核人员"))
OPTION = {"cash": "货币补偿", "swap": "产权调换"}
KIND = {"collective_house": "集体土地住宅", "state_house": "国有土地住宅", "enterprise": "企业", "shop": "店面"}
STRUCTURE = {"brick_concrete": "砖混", "frame": "框架", "brick_wood": "砖木", "simple": "简易"}
USE = {"residential": "住宅", "business": "经营", "production": "生产"}
LEGAL_STATUS = {"legal": "合法", "unregistered_legal": "未登记合法", "legacy": "历史遗留", "illegal": "违建"}
BLANK = "_" * 16
BLANK_DATE = "______年____月____日"
# characters XML 1.0 cannot carry, and the ones docxtpl would turn into page or paragraph breaks
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def agreement_data(household_id: int) -> dict[str, Any] | None:
    """The household's agreement as the handler's step wrote it; None while it has no number yet."""
    record = get_record(household_id, MODULE)
    data = record.data if record is not None else None
    return data if isinstance(data, dict) and data.get("number") else None


DRAFT_NUMBER = "草稿（办结后编号）"


def draft_data(household: Household) -> dict[str, Any] | None:
    """The agreement as drafted so far, before its number: the handler's entries and the calculation's figures.

    None before the drafting step (no agreement step open or recorded) or while there is no calculation.
    """
    from services.modules.case import load, open_step
    from services.modules.service import agreement_terms

    record = get_record(household.id, MODULE)
    if record is None and open_step(household.id, MODULE) is None:
        return None
    case = load(household)
    if not case.doc("calculation").get("items"):
        return None
    data = {**(record.data if record is not None and isinstance(record.data, dict) else {}),
            **agreement_terms(case)}
    # a draft is drawn with the current wording, as it will be numbered
    return {**data, "number": DRAFT_NUMBER, "draft": True, "template_version": CURRENT}


def clean(value: Any) -> Any:
    """Strings (also nested in lists and dicts) without characters a document cannot carry; \\r\\n becomes \\n."""
    if isinstance(value, str):
        return _UNPRINTABLE.sub("", value.replace("\r\n", "\n").replace("\t", " "))
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    return value


def chinese_date(value: Any) -> str:
    """2027-01-31 → 2027年1月31日; other text as it is, nothing as an empty string."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            return value
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)


def _local_date(stamp: Any, timezone: str) -> str:
    """A signature's UTC time as the local date it was signed on."""
    if not isinstance(stamp, str) or not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return chinese_date(moment.date())


def mask_id(number: str | None) -> str:
    """An ID number as an agreement prints it: every character but the last four hidden."""
    if not number:
        return ""
    number = number.strip()
    return "*" * max(len(number) - 4, 0) + number[-4:]


def _area(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _money(value: Any) -> str:
    """An item's amount in figures; text that is not a number is shown as it is."""
    try:
        return figures(value)
    except ValueError:
        return "" if value is None else str(value)


def _head_id(household: Household, head_name: str) -> str:
    """The masked ID number of the head of household (the person recorded as head, else by name)."""
    persons = list(db.session.scalars(select(Person).where(Person.household_id == household.id)
                                      .order_by(Person.position, Person.id)))
    head = next((p for p in persons if p.relation == "head"), None) or \
        next((p for p in persons if p.name == head_name), None)
    return mask_id(head.id_number) if head is not None else ""


def _buildings(household_id: int) -> tuple[list[dict[str, Any]], str]:
    """The household's buildings as the agreement lists them, and their measured area in total."""
    rows = db.session.scalars(select(Building).where(Building.household_id == household_id)
                              .order_by(Building.position, Building.id))
    out, total = [], Decimal(0)
    for number, building in enumerate(rows, 1):
        total += building.measured_area or 0
        out.append({"n": number, "label": building.label, "structure": STRUCTURE.get(building.structure,
                                                                                     building.structure),
                    "floors": building.floors, "use": USE.get(building.use, building.use),
                    "legal_status": LEGAL_STATUS.get(building.legal_status, building.legal_status),
                    "certified_area": _area(building.certified_area), "measured_area": _area(building.measured_area)})
    return out, _area(total)


def project_title(name: str) -> str:
    """A project's name as the agreement's text names it: 北区三村项目, and 某某征收项目 without a second 项目."""
    name = (name or "").strip()
    return name if not name or name.endswith("项目") else name + "项目"


def _item_label(item: dict[str, Any], buildings: list[dict[str, Any]]) -> str:
    """A line item's label; a building's value and decoration named by the building (主房), not its number."""
    code = str(item.get("code") or "")
    kind, _dot, position = code.partition(".")
    index = int(position) - 1 if position.isdigit() else -1
    if kind in ("building_value", "decoration") and 0 <= index < len(buildings):
        building = buildings[index]
        if kind == "building_value":
            return f"{building['label']}价值（{building['legal_status']}）"
        return f"{building['label']}装修补偿（{building['structure']}）"
    return str(item.get("label") or code)


def _signatures(data: dict[str, Any], timezone: str, cadre_signs: bool = True) -> list[dict[str, Any]]:
    """The signatures in their fixed order, four (three without a village cadre on state land, unless one
    signed before); one not (yet) given has no name and no date."""
    given = data.get("signatures") if isinstance(data.get("signatures"), dict) else {}
    out = []
    for role, title in SIGNERS:
        sign = given.get(role) if isinstance(given.get(role), dict) else {}
        if role == "village_cadre" and not cadre_signs and not sign:
            continue
        signed = sign.get("decision") == "approve" and bool(sign.get("by"))
        out.append({"code": role, "role": title, "signed": signed,
                    "name": (sign.get("by_name") or sign.get("by") or "") if signed else "",
                    "opinion": (sign.get("opinion") or "") if signed else "",
                    "date": _local_date(sign.get("at"), timezone) if signed else ""})
    return out


def _settlement(total: Decimal, swap: bool) -> dict[str, Any]:
    """Who pays whom: positive totals are paid by the office, negative ones (a swap's difference) by the household."""
    case = _settlement_case(total)
    payable = abs(total)
    return {"payment_case": case, "payable_figures": figures(payable), "payable_capitals": to_capitals(payable),
            "payable_kind": "差价款" if swap else "补偿款"}


def _settlement_case(amount: Decimal) -> str:
    return "office_pays" if amount > 0 else "household_pays" if amount < 0 else "none"


def _tenant_parts(household_id: int, data: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The owner's and the tenant's parts of a business's agreement, the tenant (as the survey names them) and
    the numbers and labels of the tenant's items; has_tenant is false without a tenant's part."""
    payees = data.get("payees") if isinstance(data.get("payees"), dict) else {}
    try:
        owner, tenant = to_decimal(payees.get("owner") or 0), to_decimal(payees.get("tenant") or 0)
    except ValueError:
        owner = tenant = Decimal(0)
    stored = [i for i in data.get("items") or [] if isinstance(i, dict)]
    theirs = [shown for shown, item in zip(items, stored, strict=False) if item.get("payee") == "tenant"]
    survey = get_record(household_id, "survey")
    business = (survey.data or {}).get("business") if survey is not None else None
    name = str(business.get("tenant") or "").strip() if isinstance(business, dict) else ""
    return {"has_tenant": bool(tenant), "tenant_name": name,
            "owner_figures": figures(abs(owner)), "owner_capitals": to_capitals(abs(owner)),
            "owner_case": _settlement_case(owner),
            "tenant_figures": figures(tenant), "tenant_capitals": to_capitals(tenant),
            "tenant_numbers": "、".join(str(i["n"]) for i in theirs),
            "tenant_labels": "、".join(i["label"] for i in theirs),
            "tenant_bank_account": data.get("tenant_bank_account") or ""}


def build(household_id: int, *, office: str = DEFAULT_OFFICE, timezone: str = "Asia/Shanghai",
          draft: bool = False) -> dict[str, Any]:
    """The context of the household's current agreement (its draft, when asked and not numbered yet);
    NotFound while there is none."""
    household = db.session.get(Household, household_id)
    data = agreement_data(household_id) if household is not None else None
    if data is None and draft and household is not None:
        data = draft_data(household)
    if household is None or data is None:
        raise NotFound(problem("agreement_none"))
    try:
        total = to_decimal(data.get("total"))
    except ValueError:
        raise NotFound(problem("agreement_no_total")) from None
    project = db.session.get(Project, household.project_id)
    head_name = data.get("head_name") or household.head_name
    buildings, measured_total = _buildings(household.id)
    option = data.get("option") or "cash"
    swap = option == "swap"
    items = [{"n": n, "label": _item_label(item, buildings), "basis": item.get("basis") or "",
              "amount": _money(item.get("amount"))}
             for n, item in enumerate((i for i in data.get("items") or [] if isinstance(i, dict)), 1)]
    signatures = _signatures(data, timezone, household.cadre_signs)
    context = {
        "template_version": str(data.get("template_version") or CURRENT),
        "number": str(data["number"]), "revision": data.get("revision") or 1,
        "policy_version": str(data.get("policy_version") or ""),
        "office": office or DEFAULT_OFFICE, "project_name": project.name if project else "",
        "project_title": project_title(project.name if project else ""),
        "household_code": household.code, "kind_label": KIND.get(household.kind, household.kind),
        "head_name": head_name, "head_id": _head_id(household, head_name),
        "address": data.get("address") or household.address,
        "buildings": buildings, "measured_total": measured_total,
        "option": option, "option_label": OPTION.get(option, option), "is_swap": swap,
        "items": items, "total_label": "应结算差价" if swap else "合计",
        "total_figures": figures(total), "total_capitals": to_capitals(total),
        "move_deadline": chinese_date(data.get("move_deadline")) or BLANK_DATE,
        "household_signed_on": chinese_date(data.get("household_signed_on")),
        "bank_account": data.get("bank_account") or "", "notes": data.get("notes") or "",
        "signatures": signatures, "signer_titles": "、".join(s["role"] for s in signatures),
        "blank": BLANK, "blank_date": BLANK_DATE,
        "draft": bool(data.get("draft")),
        **_settlement(total, swap),
        **_tenant_parts(household.id, data, items),
    }
    return clean(context)
