"""The codes of the compensation rules and DOMAIN.md's default rule table (illustrative, editable figures)."""
from __future__ import annotations

import copy
from typing import Any

RULES_FORMAT = 1
DEFAULT_VERSION = "2026.1"
DEFAULT_NAME = "征收补偿标准（默认）"
DEFAULT_EFFECTIVE_FROM = "2026-01-01"

KINDS = ("collective_house", "state_house", "enterprise", "shop")
OPTIONS = ("cash", "swap")
STRUCTURES = ("brick_concrete", "frame", "brick_wood", "simple")
LEGAL_STATUSES = ("legal", "unregistered_legal", "legacy", "illegal")
USES = ("residential", "business", "production")
SPECIAL_GROUPS = ("dibao", "disabled", "serious_illness", "only_child")
TEMPORARY_HOUSING_BASES = ("persons", "area", "none")
BUILDING_VALUE_METHODS = ("appraised", "replacement")
CATALOGUE_GROUPS = ("ancillary", "structure")
INTERRUPTION_METHODS = ("rate", "months")
HARDSHIP_PER = ("household", "person")
HARDSHIP_GROUPS = ("dibao", "disabled", "serious_illness")
QUOTA_GROUPS = ("only_child", "unmarried_adult", "reserved")
TENANT_ITEMS = ("business_interruption", "equipment", "decoration")
PAYEES = ("owner", "tenant")
UNITS = ("个", "台", "米", "㎡", "m³", "株", "座", "口", "处", "户")


def _item(code: str, name_zh: str, name_en: str, unit: str, rate: str, group: str = "ancillary") -> dict[str, str]:
    return {"code": code, "name_zh": name_zh, "name_en": name_en, "unit": unit, "rate": rate, "group": group}


# the catalogue of ancillary items and structures (构筑物) the survey records and the calculation pays
DEFAULT_CATALOGUE = [
    _item("ac_window", "窗式空调", "Window air conditioner", "台", "100.00"),
    _item("ac_wall", "壁挂空调", "Wall air conditioner", "台", "200.00"),
    _item("ac_cabinet", "柜式空调", "Cabinet air conditioner", "台", "300.00"),
    _item("water_meter_main", "水表（总表）", "Water meter (main)", "个", "500.00"),
    _item("water_meter_sub", "水表（分表）", "Water meter (sub)", "个", "200.00"),
    _item("power_meter_main", "电表（总表）", "Power meter (main)", "个", "500.00"),
    _item("power_meter_sub", "电表（分表）", "Power meter (sub)", "个", "200.00"),
    _item("water_heater", "热水器", "Water heater", "台", "300.00"),
    _item("wall", "围墙", "Wall", "米", "120.00", "structure"),
    _item("hardened_yard", "硬化地坪", "Hardened yard", "㎡", "40.00", "structure"),
    _item("well", "水井", "Well", "口", "1500.00", "structure"),
    _item("septic_tank", "化粪池", "Septic tank", "座", "2000.00", "structure"),
    _item("rooftop_addition", "阳台及屋顶搭建", "Balcony or rooftop addition", "㎡", "150.00", "structure"),
    _item("tree", "树木", "Tree", "株", "80.00", "structure"),
    _item("crops", "青苗", "Crops", "㎡", "5.00", "structure"),
    _item("grave", "坟墓", "Grave", "座", "3000.00", "structure"),
]

DEFAULT_RULES: dict[str, Any] = {
    "format": RULES_FORMAT,
    # share of unit price × area paid per legal status
    "building_ratio": {"legal": "1.00", "unregistered_legal": "1.00", "legacy": "0.50", "illegal": "0.00"},
    # 元/㎡ by structure
    "decoration_rate": {"brick_concrete": "300.00", "frame": "400.00", "brick_wood": "200.00", "simple": "100.00"},
    # 元 each, by the catalogue's code (the catalogue's rates)
    "ancillary_rate": {item["code"]: item["rate"] for item in DEFAULT_CATALOGUE},
    # the survey's items with name, unit and rate (ancillary_rate above is kept equal to their rates)
    "catalogue": DEFAULT_CATALOGUE,
    # how a building's value is found: "appraised" (appraised unit price × legal area) or "replacement"
    # (replacement price by structure × newness rate + location value per ㎡)
    "building_value_method": "appraised",
    "replacement": {
        "price": {"brick_concrete": "1800.00", "frame": "2200.00", "brick_wood": "1200.00", "simple": "600.00"},
        "useful_life": {"brick_concrete": 50, "frame": 60, "brick_wood": 40, "simple": 20},
        "floor_rate": "0.30",
        "location_price": "0.00",
    },
    # use the appraisal's decoration value / ancillary value instead of the policy's rates
    "use_appraised": {"decoration": False, "ancillary": False},
    # 保底: the least building compensation of a household (0: none)
    "minimum_compensation": {"amount": "0.00"},
    # 小面积补助: a legal area below min_area is topped up to it at price (0: none)
    "small_home": {"min_area": "0.00", "price": "0.00"},
    # 住改商: a residential building run as a business gets per_area 元/㎡ plus rate × its value
    "residential_business": {"per_area": "0.00", "rate": "0.00"},
    # 元 per household, by option
    "moving_allowance": {"cash": "3000.00", "swap": "2000.00"},
    "temporary_housing": {
        "area_rate": "45.00",  # 元/㎡/月, state land
        "person_rate": "1200.00",  # 元/人/月, collective land
        "months": {"cash": 6, "swap": 24},
        "basis": {"collective_house": "persons", "state_house": "area", "enterprise": "none", "shop": "none"},
    },
    "business_interruption": {"rate": "0.05", "uses": ["business"]},
    "hardship": {"amount": "20000.00", "groups": ["dibao", "disabled", "serious_illness"]},
    # signed on or before `until` earns `amount`; after the last tier nothing
    "signing_bonus": [
        {"until": "2026-12-31", "amount": "40000.00"},
        {"until": "2027-01-31", "amount": "15000.00"},
        {"until": "2027-02-28", "amount": "5000.00"},
    ],
    "swap": {"quota_per_person": "60.00", "price_within_quota": "2500.00", "price_beyond_quota": "6500.00"},
    "tracking_audit_threshold": "5000000.00",
    # 停产停业损失 may also be an "interruption" section: {"method": "rate" | "months", "months", "rate", "uses"}
    # ("rate" × the value of the buildings of these uses, or "months" × the recorded monthly loss); a table
    # without it pays business_interruption's rate × value, which the section, when given, mirrors
    # 设备搬迁: share of the appraised equipment value (0: none)
    "equipment": {"share": "0.00"},
    # moving allowance of these kinds by legal area, at least `minimum` (per_area 0: the flat amount per household)
    "enterprise_moving": {"per_area": "0.00", "minimum": "0.00", "kinds": ["enterprise"]},
    # 土地使用权: land area × per_area for these kinds (0: none)
    "land_use": {"per_area": "0.00", "kinds": ["enterprise"]},
    # the tenant's (承租户) share of these items when the survey records a tenant (0: all to the owner)
    "tenant_share": {"business_interruption": "0.00", "equipment": "0.00", "decoration": "0.00"},
    # extra resettlement area per person of a group (㎡), and its price when the household takes cash
    "extra_quota": {"only_child": "0.00", "unmarried_adult": "0.00", "reserved": "0.00", "cash_price": "0.00"},
    # 过渡费 after the promised delivery: months beyond promised_months are paid × overdue_factor (0: no promise)
    "transition": {"promised_months": 0, "overdue_factor": "1.00"},
    # red lines for policy review (not applied by the calculation)
    "bounds": {"max_total_per_household": "30000000.00", "max_unit_price": "50000.00",
               "max_area_per_household": "3000.00"},
}


def default_rules() -> dict[str, Any]:
    """A fresh copy of the default rule table."""
    return copy.deepcopy(DEFAULT_RULES)
