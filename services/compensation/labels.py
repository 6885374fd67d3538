"""Display names of the calculation's items and codes (English msgids, translated by Flask-Babel)."""
from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

LEGAL_STATUS = {"legal": _l("Legal"), "unregistered_legal": _l("Unregistered but legal"),
                "legacy": _l("Historical legacy"), "illegal": _l("Illegal construction")}
STRUCTURE = {"brick_concrete": _l("Brick-concrete"), "frame": _l("Frame"), "brick_wood": _l("Brick-wood"),
             "simple": _l("Simple")}
USE = {"residential": _l("Residential"), "business": _l("Business"), "production": _l("Production")}
SPECIAL_GROUP = {"dibao": _l("Minimum living allowance"), "disabled": _l("Disabled"),
                 "serious_illness": _l("Serious illness"), "only_child": _l("Only child")}
OPTION = {"cash": _l("Cash compensation"), "swap": _l("Property swap")}
KIND = {"collective_house": _l("Collective-land house"), "state_house": _l("State-land house"),
        "enterprise": _l("Enterprise"), "shop": _l("Shop")}
TEMPORARY_HOUSING_BASIS = {"persons": _l("Per resettlement person"), "area": _l("Per ㎡ of building area"),
                           "none": _l("None")}
BOUNDS = {"max_total_per_household": _l("Most a household may receive (元)"),
          "max_unit_price": _l("Highest appraised unit price (元/㎡)"),
          "max_area_per_household": _l("Largest building area of a household (㎡)")}
ANCILLARY = {
    "ac_window": _l("Air conditioner (window unit)"),
    "ac_wall": _l("Air conditioner (wall-mounted)"),
    "ac_cabinet": _l("Air conditioner (floor cabinet)"),
    "water_meter_main": _l("Water meter (main)"),
    "water_meter_sub": _l("Water meter (sub-meter)"),
    "power_meter_main": _l("Electricity meter (main)"),
    "power_meter_sub": _l("Electricity meter (sub-meter)"),
    "water_heater": _l("Water heater"),
}


def building_value(number: int, legal_status: str, name: str = "") -> Any:
    """The label of a building's value item, by the building's name when it has one."""
    if name:
        return named_building_value(name, legal_status)
    return _l("Building %(n)s value (%(status)s)", n=number, status=LEGAL_STATUS.get(legal_status, legal_status))


def decoration(number: int, structure: str, name: str = "") -> Any:
    """The label of a building's decoration item, by the building's name when it has one."""
    if name:
        return named_decoration(name, structure)
    return _l("Building %(n)s decoration (%(structure)s)", n=number,
              structure=STRUCTURE.get(structure, structure))


def named_building_value(name: str, legal_status: str) -> Any:
    """The label of a building's value item, the building named as the survey calls it (主房)."""
    return _l("%(building)s: value (%(status)s)", building=name, status=LEGAL_STATUS.get(legal_status, legal_status))


def named_decoration(name: str, structure: str) -> Any:
    """The label of a building's decoration item, the building named as the survey calls it."""
    return _l("%(building)s: decoration (%(structure)s)", building=name,
              structure=STRUCTURE.get(structure, structure))


def ancillary(code: str) -> Any:
    """The label of an ancillary item; unknown codes show as themselves."""
    return ANCILLARY.get(code, code)


MOVING_ALLOWANCE = _l("Moving allowance")
TEMPORARY_HOUSING = _l("Temporary housing allowance")
BUSINESS_INTERRUPTION = _l("Business interruption loss")
HARDSHIP = _l("Hardship subsidy")
SIGNING_BONUS = _l("Time-limited signing bonus")
SWAP_WITHIN_QUOTA = _l("Swap housing within the quota")
SWAP_BEYOND_QUOTA = _l("Swap housing beyond the quota")


class Named:
    """A catalogue item's name in the reader's language (Chinese unless English is read and given)."""

    def __init__(self, item: dict[str, Any], mark: Any = None) -> None:
        self.item = item
        self.mark = mark

    def __str__(self) -> str:
        try:
            english = str(get_locale() or "").startswith("en")
        except RuntimeError:
            english = False
        text = str((self.item.get("name_en") if english else None) or self.item.get("name_zh") or
                   self.item.get("code") or "")
        return f"{text} {self.mark}" if self.mark else text


class Joined:
    """Parts of a basis text (lazy translations among them) written out in the reader's language."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)


def residential_business(name: str, number: int) -> Any:
    """The label of a residential building's extra for being run as a business (住改商)."""
    return _l("%(building)s: residential used for business", building=name or number)


def location_value(name: str, number: int) -> Any:
    """The label of a building's location value (区位价)."""
    return _l("%(building)s: location value", building=name or number)


APPRAISED_ANCILLARY = _l("Ancillary items and structures (appraised)")
SMALL_HOME = _l("Small-home subsidy")
MINIMUM_COMPENSATION = _l("Minimum compensation top-up")
NOT_IN_CATALOGUE = _l("(not in the policy's catalogue)")


EQUIPMENT = _l("Equipment moving")
LAND_USE = _l("Land-use right")
TEMPORARY_HOUSING_OVERDUE = _l("Transition allowance after the promised delivery")
EXTRA_QUOTA = _l("Extra resettlement quota")
QUOTA_GROUP = {"only_child": _l("Only child"), "unmarried_adult": _l("Unmarried adult child"),
               "reserved": _l("Reserved population")}
PAYEE = {"owner": _l("Owner"), "tenant": _l("Tenant")}


def tenant_part(label: Any) -> Any:
    """The label of the tenant's (承租户) share of an item."""
    return _l("%(item)s: tenant's share", item=label)


def hardship(group: str) -> Any:
    """The label of the hardship subsidy of one special group, paid per person."""
    return _l("Hardship subsidy: %(group)s", group=SPECIAL_GROUP.get(group, group))
