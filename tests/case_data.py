"""Valid data for every step of a case, built from what the household's file holds so far."""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.extensions import db
from app.models import Household, User, utcnow
from services import files, idnumbers
from services.context import Actor
from services.modules import dossier, payees
from services.modules.case import load

# a 1×1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082")


def id_number(birth: str, serial: int) -> str:
    """A valid resident ID number for a birth date (YYYYMMDD) and serial."""
    first = f"110105{birth}{serial:03d}"
    return first + idnumbers.check_digit(first)


def survey(kind: str = "collective_house", *, persons: int = 3, business: bool | None = None) -> dict[str, Any]:
    """A household of the given kind: a head and family members, two buildings, some items."""
    members = [{"name": "张建华", "id_number": id_number("19650312", 131), "relation": "head", "hukou_here": True,
                "special_group": None},
               {"name": "李秀英", "id_number": id_number("19680520", 242), "relation": "spouse", "hukou_here": True,
                "special_group": "disabled"},
               {"name": "张小军", "id_number": id_number("19920101", 353), "relation": "child", "hukou_here": True,
                "special_group": None},
               {"name": "张桂兰", "id_number": id_number("19400808", 464), "relation": "parent", "hukou_here": False,
                "special_group": None}][:persons]
    data = {
        "head_name": "张建华", "phone": "13912345678", "address": "北区三村1组1号",
        "land_nature": "collective" if kind == "collective_house" else "state", "homestead_area": "180.00",
        "persons": members,
        "buildings": [
            {"label": "主房", "certified_area": "160.00", "measured_area": "168.50", "structure": "brick_concrete",
             "floors": 2, "year_built": 1998, "use": "business" if kind in ("shop", "enterprise") else "residential",
             "legal_status": "legal"},
            {"label": "附房", "certified_area": None, "measured_area": "32.00", "structure": "simple", "floors": 1,
             "year_built": 2005, "use": "residential", "legal_status": "legacy"},
        ],
        "ancillary": [{"code": "ac_wall", "count": 2}, {"code": "water_meter_main", "count": 1}],
        "notes": "",
    }
    if business if business is not None else kind in ("enterprise", "shop"):
        data["business"] = {"licence_no": "91320100MA1X0001", "business_area": "120.00", "tenant": "王小店",
                            "equipment": [{"name": "冷柜", "count": 2, "value": "6000.00"}],
                            "interruption_basis": "近三年平均利润"}
    return data


def upload(user: User, household_id: int, module: str, category: str, upload_dir: str) -> int:
    """Upload a small PNG to a module as the given user; returns the attachment id."""
    row = files.upload(Actor(user), household_id, module, category, f"{category}.png", io.BytesIO(PNG),
                       upload_dir=upload_dir, max_bytes=5 * 1024 * 1024, now=utcnow())
    return row.id


def step(bpmn_id: str, household_id: int, *, option: str = "cash", unit_price: str = "4200.00") -> dict[str, Any]:
    """Valid data to complete a step of this household, given its file so far."""
    household = db.session.get(Household, household_id)
    case = load(household)
    today = date.today()
    if bpmn_id == "survey":
        return survey(household.kind)
    if bpmn_id == "appraisal":
        return {"firm": "江城房地产估价有限公司", "appraiser_name": "李评估", "report_no": "PG2026-0001",
                "report_date": today.isoformat(), "ancillary_value": "1200.00", "no_conflict": True,
                "buildings": [{"building_id": b.id, "unit_price": unit_price, "decoration_value": "30000.00"}
                              for b in case.buildings]}
    if bpmn_id == "rights":
        return {"basis": "不动产登记及村委会证明", "determined_on": today.isoformat(),
                "buildings": [{"building_id": b.id, "legal_area": str(b.certified_area or b.measured_area),
                               "excluded_area": str(b.measured_area - (b.certified_area or b.measured_area)),
                               "exclusion_reason": "超出证载面积"
                               if b.certified_area and b.measured_area > b.certified_area else None}
                              for b in case.buildings],
                "persons": [{"person_id": p.id, "resettlement": p.hukou_here} for p in case.persons]}
    if bpmn_id == "calculation":
        return {"option": option, "signed_on": (today + timedelta(days=10)).isoformat(), "notes": "按政策表核算"}
    if bpmn_id in ("calc_audit", "policy_review"):
        return {"opinion": "核对无误，同意"}
    if bpmn_id == "collective_decision":
        return {"meeting_date": today.isoformat(), "minutes": "经集体研究，同意按政策补偿"}
    if bpmn_id == "agreement_draft":
        return {"move_deadline": (today + timedelta(days=60)).isoformat(), "household_signed_on": today.isoformat()}
    if bpmn_id.startswith("sign_"):
        return {"opinion": "同意", "no_conflict": True}
    if bpmn_id == "tracking_audit":
        return {"audited_amount": str(case.agreement_total()), "opinion": "资金用途与协议一致"}
    if bpmn_id == "payment":  # each payee (the owner, and a business's tenant with a part) paid their part
        parts = payees.agreed_parts(case) or {"owner": Decimal("0")}
        return {"payments": [{"payee": payee, "amount": str(amount), "paid_on": today.isoformat(),
                              "voucher_no": f"FK{household_id:05d}" + ("" if payee == "owner" else f"-{payee}")}
                             for payee, amount in parts.items()]}
    if bpmn_id == "archive":
        return {"box_no": "A01", "serial_no": str(household_id),
                "checklist": [{"code": code, "present": True} for code, *_ in dossier.DOSSIER]}
    raise ValueError(bpmn_id)
