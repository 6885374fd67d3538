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

DEFAULT_RULES: dict[str, Any] = {
    "format": RULES_FORMAT,
    # share of unit price × area paid per legal status
    "building_ratio": {"legal": "1.00", "unregistered_legal": "1.00", "legacy": "0.50", "illegal": "0.00"},
    # 元/㎡ by structure
    "decoration_rate": {"brick_concrete": "300.00", "frame": "400.00", "brick_wood": "200.00", "simple": "100.00"},
    # 元 each
    "ancillary_rate": {
        "ac_window": "100.00", "ac_wall": "200.00", "ac_cabinet": "300.00",
        "water_meter_main": "500.00", "water_meter_sub": "200.00",
        "power_meter_main": "500.00", "power_meter_sub": "200.00",
        "water_heater": "300.00",
    },
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
    # red lines for policy review (not applied by the calculation)
    "bounds": {"max_total_per_household": "30000000.00", "max_unit_price": "50000.00",
               "max_area_per_household": "3000.00"},
}


def default_rules() -> dict[str, Any]:
    """A fresh copy of the default rule table."""
    return copy.deepcopy(DEFAULT_RULES)
