"""Plausible step data for the demo households, varied by a seeded random generator."""
from __future__ import annotations

import io
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.models import Household, User
from services import files, idnumbers
from services.context import Actor
from services.modules import dossier, payees
from services.modules.case import load

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ["建华", "秀英", "桂兰", "志强", "国庆", "美玲", "德明", "春梅", "永福", "丽娟", "海涛", "玉珍",
         "长生", "金凤", "小军", "淑芬", "保国", "红霞", "振兴", "翠花"]
FIRMS = ["江城房地产估价有限公司", "华信资产评估事务所", "正衡土地房地产评估公司"]
# a 1×1 PNG standing in for scanned documents
SCAN = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082")


def name(rng: random.Random, surname: str | None = None) -> str:
    """A Chinese name."""
    return (surname or rng.choice(SURNAMES)) + rng.choice(GIVEN)


def id_number(rng: random.Random, birth_year: int) -> str:
    """A valid resident ID number born in that year."""
    first = f"3201{rng.randint(10, 99):02d}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
            f"{rng.randint(0, 999):03d}"
    return first + idnumbers.check_digit(first)


def survey(rng: random.Random, household: Household, head: str) -> dict[str, Any]:
    """A household's people, buildings and items."""
    surname = head[0]
    members = [{"name": head, "id_number": id_number(rng, rng.randint(1950, 1975)), "relation": "head",
                "hukou_here": True, "special_group": rng.choice([None] * 8 + ["dibao", "disabled"])}]
    for relation, years in (("spouse", (1952, 1978)), ("child", (1980, 2010)), ("child", (1985, 2015)),
                            ("parent", (1935, 1950)))[:rng.randint(1, 4)]:
        members.append({"name": name(rng, surname if relation == "child" else None),
                        "id_number": id_number(rng, rng.randint(*years)), "relation": relation,
                        "hukou_here": rng.random() > 0.1,
                        "special_group": rng.choice([None] * 12 + ["serious_illness"])})
    business = household.kind in ("enterprise", "shop")
    buildings = []
    for index, label in enumerate(["主房", "附房", "厂房" if household.kind == "enterprise" else "杂物间"]
                                  [:rng.randint(1, 3)]):
        measured = Decimal(rng.randint(3000, 26000)) / 100
        certified = (measured - Decimal(rng.randint(0, 800)) / 100) if index == 0 else None
        buildings.append({"label": label, "certified_area": str(certified) if certified else None,
                          "measured_area": str(measured), "structure": rng.choice(["brick_concrete", "frame",
                                                                                     "brick_wood", "simple"]),
                          "floors": rng.randint(1, 3), "year_built": rng.randint(1985, 2015),
                          "use": "business" if business and index == 0 else "residential",
                          "legal_status": "legal" if index == 0 else rng.choice(["unregistered_legal", "legacy",
                                                                                 "illegal"])})
    data = {"head_name": head, "phone": household.phone, "address": household.address,
            "land_nature": "collective" if household.kind == "collective_house" else "state",
            "homestead_area": str(Decimal(rng.randint(12000, 30000)) / 100), "persons": members,
            "buildings": buildings,
            "ancillary": [{"code": c, "count": rng.randint(1, 3)} for c in rng.sample(
                ["ac_window", "ac_wall", "ac_cabinet", "water_meter_main", "power_meter_main", "water_heater"],
                rng.randint(1, 4))]}
    if business:
        data["business"] = {"licence_no": f"91320100MA{rng.randint(1000000, 9999999)}",
                            "business_area": buildings[0]["measured_area"], "tenant": name(rng),
                            "equipment": [{"name": "货架", "count": rng.randint(2, 10), "value": "3000.00"}],
                            "interruption_basis": "近三年平均月利润"}
    return data


def step(rng: random.Random, bpmn_id: str, household: Household, at: datetime, head: str) -> dict[str, Any]:
    """Data to complete a step of a demo household, given its file so far."""
    case = load(household)
    day = at.date().isoformat()
    if bpmn_id == "survey":
        return survey(rng, household, head)
    if bpmn_id == "appraisal":
        return {"firm": rng.choice(FIRMS), "appraiser_name": name(rng),
                "report_no": f"PG{at:%Y}-{rng.randint(1000, 9999)}", "report_date": day,
                "ancillary_value": str(rng.randint(5, 40) * 100), "no_conflict": True,
                "buildings": [{"building_id": b.id, "unit_price": str(rng.randint(2800, 6800)),
                               "decoration_value": str(rng.randint(8, 60) * 1000)} for b in case.buildings]}
    if bpmn_id == "rights":
        return {"basis": "依据不动产登记、测绘成果及村委会证明认定", "determined_on": day,
                "buildings": [{"building_id": b.id, "legal_area": str(b.certified_area or b.measured_area),
                               "excluded_area": str(b.measured_area - b.certified_area) if b.certified_area else None,
                               "exclusion_reason": "超出证载面积部分" if b.certified_area and
                               b.measured_area > b.certified_area else None} for b in case.buildings],
                "persons": [{"person_id": p.id, "resettlement": p.hukou_here} for p in case.persons]}
    if bpmn_id == "calculation":
        return {"option": rng.choice(["cash", "cash", "swap"]),
                "signed_on": (at + timedelta(days=7)).date().isoformat(), "notes": "按现行补偿政策表核算"}
    if bpmn_id in ("calc_audit", "policy_review"):
        return {"opinion": "核对无误，同意" if bpmn_id == "calc_audit" else "符合政策规定，同意",
                "override_reason": "历史遗留及违建部分已按政策比例处理，经复核同意"}
    if bpmn_id == "agreement_draft":
        return {"move_deadline": (at + timedelta(days=60)).date().isoformat(), "household_signed_on": day}
    if bpmn_id.startswith("sign_"):
        return {"opinion": "同意", "no_conflict": True}
    if bpmn_id == "tracking_audit":
        return {"audited_amount": str(case.agreement_total()), "opinion": "资金用途与协议一致，同意拨付"}
    if bpmn_id == "payment":  # each payee (the owner, and a business's tenant with a part) paid their part
        parts = payees.agreed_parts(case) or {}
        return {"payments": [{"payee": payee, "amount": str(amount), "paid_on": day,
                              "voucher_no": f"FK{rng.randint(100000, 999999)}"} for payee, amount in parts.items()
                             if amount]}
    if bpmn_id == "archive":
        return {"box_no": f"A{rng.randint(1, 40):02d}", "serial_no": str(rng.randint(1, 500)),
                "checklist": [{"code": code, "present": True} for code, *_ in dossier.DOSSIER]}
    raise ValueError(bpmn_id)


# the documents the office files at each step, so that the dossier is complete when the case is archived
SCANS = {
    "survey": [("survey", "decision_notice"), ("survey", "survey_form"), ("survey", "id_scan"),
               ("survey", "title_deed"), ("survey", "measurement")],
    "appraisal": [("appraisal", "appraisal_report")],
    "rights": [("rights", "rights_table")],
    "calculation": [("calculation", "calculation_sheet")],
    "agreement_draft": [("agreement", "signed_agreement")],
    "payment": [("payment", "voucher")],
    "archive": [("archive", "vacated")],
}


def scans_for(bpmn_id: str, kind: str) -> list[tuple[str, str]]:
    """The (module, category) of the documents filed while completing a step."""
    extra = [("survey", "licence")] if bpmn_id == "survey" and kind in ("enterprise", "shop") else []
    return SCANS.get(bpmn_id, []) + extra


def scan(user: User, household: Household, module: str, category: str, upload_dir: str, at: datetime) -> int:
    """Attach a stand-in scan to a module of a demo household; its attachment id."""
    return files.upload(Actor(user), household.id, module, category, f"{category}.png", io.BytesIO(SCAN),
                 upload_dir=upload_dir, max_bytes=5 * 1024 * 1024, now=at).id


# the step field each filed document goes into (a payment row's voucher: every row's attachment)
FILE_FIELDS = {"appraisal_report": "report_file", "rights_table": "table_file", "signed_agreement": "signed_scan"}


def with_files(data: dict[str, Any], filed: dict[str, int]) -> dict[str, Any]:
    """The step's data naming the documents just filed, as a clerk picks them on the step page."""
    out = {**data, **{FILE_FIELDS[c]: i for c, i in filed.items() if c in FILE_FIELDS}}
    if "voucher" in filed and out.get("payments"):
        out["payments"] = [{**row, "attachment_id": filed["voucher"]} for row in out["payments"]]
    return out
