"""The sections of a rule table checked one by one: ancillary rates and the catalogue, the signing bonus's
tiers, the bounds, and the optional sections of building valuation, people and business."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.compensation.defaults import (
    BUILDING_VALUE_METHODS,
    CATALOGUE_GROUPS,
    HARDSHIP_GROUPS,
    HARDSHIP_PER,
    INTERRUPTION_METHODS,
    KINDS,
    QUOTA_GROUPS,
    STRUCTURES,
    TENANT_ITEMS,
    UNITS,
    USES,
)
from services.compensation.rulecheck import CODE, MAX_CODES, MAX_TIERS, _Checker, fmt2
from services.problems import N_, problem
from services.problems import register as register_problems
from services.text import first_unwritable

register_problems({
    "code_chars_lower": N_("a code is lower-case letters, digits and _"),
    "tiers_list": N_("must be a list of tiers"),
    "tiers_order": N_("tiers must be in increasing date order"),
    "name_chars_lower": N_("a name is lower-case letters, digits and _"),
    "catalogue_list": N_("must be a list of items"),
    "catalogue_code_twice": N_("the code '%(code)s' appears twice"),
    "unit_unknown": N_("a unit of the list: %(units)s"),
    "flag": N_("must be true or false"),
})


def _ancillary(check: _Checker, raw: Any) -> dict[str, str | None]:
    table = check.mapping(raw, "ancillary_rate")
    if len(table) > MAX_CODES:
        check.fail("ancillary_rate", problem("items_max", max=MAX_CODES))
    out = {}
    for code, amount in table.items():
        if not isinstance(code, str) or not CODE.match(code):
            check.fail(f"ancillary_rate.{code}", problem("code_chars_lower"))
            continue
        out[code] = check.money(amount, f"ancillary_rate.{code}")
    return out


def _catalogue(check: _Checker, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        check.fail("catalogue", problem("catalogue_list"))
        return []
    if len(raw) > MAX_CODES:
        check.fail("catalogue", problem("items_max", max=MAX_CODES))
    items, seen = [], set()
    for index, entry in enumerate(raw[:MAX_CODES]):
        path = f"catalogue.{index}"
        entry = check.mapping(entry, path)
        code = entry.get("code")
        if not isinstance(code, str) or not CODE.match(code):
            check.fail(f"{path}.code", problem("code_chars_lower"))
        elif code in seen:
            check.fail(f"{path}.code", problem("catalogue_code_twice", code=code))
        seen.add(code)
        names = {}
        for key, least in (("name_zh", 1), ("name_en", 0)):
            name = entry.get(key) if entry.get(key) is not None else ""
            if not isinstance(name, str) or not least <= len(name.strip()) <= 64:
                check.fail(f"{path}.{key}", problem("required_max", max=64) if least else
                           problem("at_most_chars", max=64))
            elif first_unwritable(name):
                check.fail(f"{path}.{key}", problem("unwritable_text", char=first_unwritable(name)))
            names[key] = name.strip() if isinstance(name, str) else ""
        unit = entry.get("unit")
        if unit not in UNITS:
            check.fail(f"{path}.unit", problem("unit_unknown", units="、".join(UNITS)))
        group = entry.get("group", "ancillary")
        if group not in CATALOGUE_GROUPS:
            check.fail(f"{path}.group", problem("one_of"))
        items.append({"code": code, **names, "unit": unit, "rate": check.money(entry.get("rate"), f"{path}.rate"),
                      "group": group})
    return items


def _flags(check: _Checker, raw: Any, path: str, keys: tuple[str, ...]) -> dict[str, bool]:
    table = check.mapping(raw, path)
    for key in keys:
        if not isinstance(table.get(key, False), bool):
            check.fail(f"{path}.{key}", problem("flag"))
    return {key: table.get(key) is True for key in keys}


def _valuation(check: _Checker, table: dict[str, Any], rules: dict[str, Any]) -> None:
    """The optional sections of building valuation and top-ups; a table without them uses the defaults."""
    if "building_value_method" in table:
        method = table["building_value_method"]
        if method not in BUILDING_VALUE_METHODS:
            check.fail("building_value_method", problem("one_of"))
        rules["building_value_method"] = method
    if "replacement" in table:
        raw = check.mapping(table["replacement"], "replacement")
        rules["replacement"] = {
            "price": check.keyed(raw.get("price"), "replacement.price", STRUCTURES, check.money),
            "useful_life": check.keyed(raw.get("useful_life"), "replacement.useful_life", STRUCTURES,
                                       lambda v, p: check.integer(v, p, 1, 200)),
            "floor_rate": check.ratio(raw.get("floor_rate"), "replacement.floor_rate"),
            "location_price": check.money(raw.get("location_price"), "replacement.location_price"),
        }
    if "use_appraised" in table:
        rules["use_appraised"] = _flags(check, table["use_appraised"], "use_appraised", ("decoration", "ancillary"))
    if "minimum_compensation" in table:
        raw = check.mapping(table["minimum_compensation"], "minimum_compensation")
        rules["minimum_compensation"] = {"amount": check.money(raw.get("amount"), "minimum_compensation.amount")}
    if "small_home" in table:
        raw = check.mapping(table["small_home"], "small_home")
        rules["small_home"] = {"min_area": check.money(raw.get("min_area"), "small_home.min_area"),
                               "price": check.money(raw.get("price"), "small_home.price")}
    if "residential_business" in table:
        raw = check.mapping(table["residential_business"], "residential_business")
        rules["residential_business"] = {
            "per_area": check.money(raw.get("per_area"), "residential_business.per_area"),
            "rate": check.ratio(raw.get("rate"), "residential_business.rate")}


def _people_and_business(check: _Checker, table: dict[str, Any], rules: dict[str, Any]) -> None:
    """The optional sections of businesses, tenants, extra quota, hardship per person and overdue transition."""
    if "interruption" in table:
        raw = check.mapping(table["interruption"], "interruption")
        method = raw.get("method")
        if method not in INTERRUPTION_METHODS:
            check.fail("interruption.method", problem("one_of"))
        rules["interruption"] = {"method": method,
                                 "months": check.integer(raw.get("months"), "interruption.months", 0, 120),
                                 "rate": check.ratio(raw.get("rate"), "interruption.rate"),
                                 "uses": check.subset(raw.get("uses"), "interruption.uses", USES)}
        # the older section mirrors it, for readers that know only that one
        rules["business_interruption"] = {"rate": rules["interruption"]["rate"],
                                          "uses": list(rules["interruption"]["uses"])}
    if "equipment" in table:
        raw = check.mapping(table["equipment"], "equipment")
        rules["equipment"] = {"share": check.ratio(raw.get("share"), "equipment.share")}
    for name in ("enterprise_moving", "land_use"):
        if name in table:
            raw = check.mapping(table[name], name)
            section = {"per_area": check.money(raw.get("per_area"), f"{name}.per_area")}
            if name == "enterprise_moving":
                section["minimum"] = check.money(raw.get("minimum"), f"{name}.minimum")
            section["kinds"] = check.subset(raw.get("kinds"), f"{name}.kinds", KINDS)
            rules[name] = section
    if "tenant_share" in table:
        rules["tenant_share"] = check.keyed(table["tenant_share"], "tenant_share", TENANT_ITEMS, check.ratio)
    if "extra_quota" in table:
        rules["extra_quota"] = check.keyed(table["extra_quota"], "extra_quota", (*QUOTA_GROUPS, "cash_price"),
                                           check.money)
    if "transition" in table:
        raw = check.mapping(table["transition"], "transition")
        factor = check.number(raw.get("overdue_factor"), "transition.overdue_factor", places=2, high=Decimal(10))
        rules["transition"] = {
            "promised_months": check.integer(raw.get("promised_months"), "transition.promised_months", 0, 120),
            "overdue_factor": None if factor is None else fmt2(factor)}
    hardship = table.get("hardship") if isinstance(table.get("hardship"), dict) else {}
    if "per" in hardship:
        if hardship["per"] not in HARDSHIP_PER:
            check.fail("hardship.per", problem("one_of"))
        rules["hardship"]["per"] = hardship["per"]
    if "amounts" in hardship:
        amounts = check.mapping(hardship["amounts"], "hardship.amounts")
        for extra in sorted(set(amounts) - set(HARDSHIP_GROUPS)):
            check.fail(f"hardship.amounts.{extra}", problem("code_unknown"))
        rules["hardship"]["amounts"] = {g: check.money(amounts[g], f"hardship.amounts.{g}")
                                        for g in HARDSHIP_GROUPS if g in amounts}


def _tiers(check: _Checker, raw: Any) -> list[dict[str, str | None]]:
    if not isinstance(raw, list):
        check.fail("signing_bonus", problem("tiers_list"))
        return []
    if len(raw) > MAX_TIERS:
        check.fail("signing_bonus", problem("items_max", max=MAX_TIERS))
    tiers = []
    previous: date | None = None
    for index, tier in enumerate(raw[:MAX_TIERS]):
        path = f"signing_bonus.{index}"
        tier = check.mapping(tier, path)
        until = None
        try:
            until = date.fromisoformat(str(tier.get("until", "")))
        except ValueError:
            check.fail(f"{path}.until", problem("date"))
        if until is not None and previous is not None and until <= previous:
            check.fail(f"{path}.until", problem("tiers_order"))
        previous = until or previous
        tiers.append({"until": until.isoformat() if until else None,
                      "amount": check.money(tier.get("amount"), f"{path}.amount")})
    return tiers


def _bounds(check: _Checker, raw: Any) -> dict[str, str | None]:
    table = check.mapping(raw, "bounds")
    out = {}
    for name, value in table.items():
        if not isinstance(name, str) or not CODE.match(name):
            check.fail(f"bounds.{name}", problem("name_chars_lower"))
            continue
        out[name] = check.money(value, f"bounds.{name}")
    return out
