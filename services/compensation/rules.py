"""Validation of a rule table: every figure checked, normalised to exact decimal strings."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from services.compensation.defaults import (
    BUILDING_VALUE_METHODS,
    CATALOGUE_GROUPS,
    HARDSHIP_GROUPS,
    HARDSHIP_PER,
    INTERRUPTION_METHODS,
    KINDS,
    LEGAL_STATUSES,
    OPTIONS,
    QUOTA_GROUPS,
    RULES_FORMAT,
    SPECIAL_GROUPS,
    STRUCTURES,
    TEMPORARY_HOUSING_BASES,
    TENANT_ITEMS,
    UNITS,
    USES,
)
from services.errors import InvalidInput
from services.problems import N_, Problem, problem, range_problem
from services.problems import register as register_problems
from services.text import first_unwritable

register_problems({
    "places": N_("at most %(places)s decimal places"),
    "code_unknown": N_("unknown code"),
    "codes_list": N_("must be a list of codes"),
    "codes_unknown": N_("unknown codes: %(codes)s"),
    "code_chars_lower": N_("a code is lower-case letters, digits and _"),
    "tiers_list": N_("must be a list of tiers"),
    "tiers_order": N_("tiers must be in increasing date order"),
    "rule_unknown": N_("unknown rule"),
    "rules_format": N_("only format %(format)s is understood"),
    "name_chars_lower": N_("a name is lower-case letters, digits and _"),
    "rules_invalid": N_("the rule table has errors"),
    "catalogue_list": N_("must be a list of items"),
    "catalogue_code_twice": N_("the code '%(code)s' appears twice"),
    "unit_unknown": N_("a unit of the list: %(units)s"),
    "flag": N_("must be true or false"),
    "catalogue_decides": N_("the catalogue decides this rate (there: %(rate)s); change it in the catalogue"),
})

MAX_MONEY = Decimal("1000000000000")
MAX_TIERS = 12
MAX_CODES = 100
CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TOP_LEVEL = ("format", "building_ratio", "decoration_rate", "ancillary_rate", "moving_allowance",
             "temporary_housing", "business_interruption", "hardship", "signing_bonus", "swap",
             "tracking_audit_threshold", "bounds", "catalogue", "building_value_method", "replacement",
             "use_appraised", "minimum_compensation", "small_home", "residential_business", "interruption",
             "equipment", "enterprise_moving", "land_use", "tenant_share", "extra_quota", "transition")


def to_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a number or numeric string; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def fmt2(value: Decimal) -> str:
    """A Decimal written with exactly two places."""
    return f"{value.quantize(Decimal('0.01')):f}"


def fmt_ratio(value: Decimal) -> str:
    """A ratio written with at least two places (0.5 → 0.50, 0.125 stays)."""
    return fmt2(value) if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"


def catalogue_items(rules: Any) -> list[dict[str, Any]]:
    """The catalogue of a rule table; for a version without one, the default catalogue at the version's ancillary
    rates (and any other item it rates, named by its code)."""
    from services.compensation.defaults import DEFAULT_CATALOGUE

    if isinstance(rules.get("catalogue"), list):
        return [dict(i) for i in rules["catalogue"]]
    rates = rules.get("ancillary_rate") or {}
    out = [{**i, "rate": rates.get(i["code"], i["rate"])} for i in DEFAULT_CATALOGUE]
    known = {i["code"] for i in out}
    out += [{"code": c, "name_zh": c, "name_en": c, "unit": "个", "rate": r, "group": "ancillary"}
            for c, r in sorted(rates.items()) if c not in known]
    return out


class _Checker:
    """Collects the problems of a rule table by dotted path."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: Problem) -> None:
        self.errors.setdefault(path, []).append(message)

    def mapping(self, raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.fail(path, problem("not_object"))
            return {}
        return raw

    def number(self, raw: Any, path: str, *, places: int, low: Decimal = Decimal(0),
               high: Decimal = MAX_MONEY) -> Decimal | None:
        value = to_decimal(raw)
        if value is None:
            self.fail(path, problem("number"))
            return None
        if value.as_tuple().exponent < -places:  # type: ignore[operator]
            self.fail(path, problem("places", places=places))
            return None
        if not low <= value <= high:
            self.fail(path, range_problem(low, high))
            return None
        return value

    def money(self, raw: Any, path: str, *, low: Decimal = Decimal(0)) -> str | None:
        value = self.number(raw, path, places=2, low=low)
        return None if value is None else fmt2(value)

    def ratio(self, raw: Any, path: str) -> str | None:
        value = self.number(raw, path, places=4, high=Decimal(1))
        return None if value is None else fmt_ratio(value)

    def integer(self, raw: Any, path: str, low: int, high: int) -> int | None:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"-?\d{1,9}", raw.strip()):
            value = int(raw.strip())
        else:
            self.fail(path, problem("integer"))
            return None
        if not low <= value <= high:
            self.fail(path, range_problem(low, high))
            return None
        return value

    def keyed(self, raw: Any, path: str, keys: Iterable[str], convert) -> dict[str, Any]:
        """A table with exactly the given keys, each value converted."""
        table = self.mapping(raw, path)
        keys = tuple(keys)
        for extra in sorted(set(table) - set(keys)):
            self.fail(f"{path}.{extra}", problem("code_unknown"))
        return {key: convert(table.get(key), f"{path}.{key}") for key in keys}

    def subset(self, raw: Any, path: str, allowed: tuple[str, ...]) -> list[str]:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self.fail(path, problem("codes_list"))
            return []
        unknown = [v for v in raw if v not in allowed]
        if unknown:
            self.fail(path, problem("codes_unknown", codes=", ".join(unknown)))
        return [v for v in allowed if v in raw]


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


def validate_rules(raw: Any) -> dict[str, Any]:
    """The rule table, checked and normalised; InvalidInput names every bad figure by its path."""
    check = _Checker()
    table = check.mapping(raw, "rules")
    for extra in sorted(set(table) - set(TOP_LEVEL)):
        check.fail(extra, problem("rule_unknown"))
    if table.get("format", RULES_FORMAT) != RULES_FORMAT:
        check.fail("format", problem("rules_format", format=RULES_FORMAT))
    housing = check.mapping(table.get("temporary_housing"), "temporary_housing")
    interruption = check.mapping(table.get("business_interruption"), "business_interruption")
    hardship = check.mapping(table.get("hardship"), "hardship")
    swap = check.mapping(table.get("swap"), "swap")
    rules = {
        "format": RULES_FORMAT,
        "building_ratio": check.keyed(table.get("building_ratio"), "building_ratio", LEGAL_STATUSES, check.ratio),
        "decoration_rate": check.keyed(table.get("decoration_rate"), "decoration_rate", STRUCTURES, check.money),
        "ancillary_rate": _ancillary(check, table.get("ancillary_rate"))
        if "catalogue" not in table or "ancillary_rate" in table else {},
        "moving_allowance": check.keyed(table.get("moving_allowance"), "moving_allowance", OPTIONS, check.money),
        "temporary_housing": {
            "area_rate": check.money(housing.get("area_rate"), "temporary_housing.area_rate"),
            "person_rate": check.money(housing.get("person_rate"), "temporary_housing.person_rate"),
            "months": check.keyed(housing.get("months"), "temporary_housing.months", OPTIONS,
                                  lambda v, p: check.integer(v, p, 0, 120)),
            "basis": check.keyed(housing.get("basis"), "temporary_housing.basis", KINDS,
                                 lambda v, p: v if v in TEMPORARY_HOUSING_BASES
                                 else check.fail(p, problem("one_of"))),
        },
        "business_interruption": {
            "rate": check.ratio(interruption.get("rate"), "business_interruption.rate"),
            "uses": check.subset(interruption.get("uses"), "business_interruption.uses", USES),
        },
        "hardship": {
            "amount": check.money(hardship.get("amount"), "hardship.amount"),
            "groups": check.subset(hardship.get("groups"), "hardship.groups", SPECIAL_GROUPS),
        },
        "signing_bonus": _tiers(check, table.get("signing_bonus")),
        "swap": {
            "quota_per_person": check.money(swap.get("quota_per_person"), "swap.quota_per_person"),
            "price_within_quota": check.money(swap.get("price_within_quota"), "swap.price_within_quota"),
            "price_beyond_quota": check.money(swap.get("price_beyond_quota"), "swap.price_beyond_quota"),
        },
        "tracking_audit_threshold": check.money(table.get("tracking_audit_threshold"), "tracking_audit_threshold",
                                                low=Decimal("0.01")),
        "bounds": _bounds(check, table.get("bounds")),
    }
    if "catalogue" in table:  # the catalogue decides the items; ancillary_rate stays its mirror for older readers
        rules["catalogue"] = _catalogue(check, table["catalogue"])
        mirror = {i["code"]: i["rate"] for i in rules["catalogue"] if isinstance(i["code"], str)}
        if "ancillary_rate" in table and not check.errors:
            for code in sorted(set(mirror) | set(rules["ancillary_rate"])):
                if rules["ancillary_rate"].get(code) != mirror.get(code):
                    check.fail(f"ancillary_rate.{code}", problem("catalogue_decides", rate=mirror.get(code) or "—"))
        rules["ancillary_rate"] = mirror
    _valuation(check, table, rules)
    _people_and_business(check, table, rules)
    if check.errors:
        raise InvalidInput(problem("rules_invalid"), check.errors)
    return rules


def _bounds(check: _Checker, raw: Any) -> dict[str, str | None]:
    table = check.mapping(raw, "bounds")
    out = {}
    for name, value in table.items():
        if not isinstance(name, str) or not CODE.match(name):
            check.fail(f"bounds.{name}", problem("name_chars_lower"))
            continue
        out[name] = check.money(value, f"bounds.{name}")
    return out


BOUND_WORDING = {
    "check.max_unit_price.ok": N_("%(b)s: unit price %(price)s within the policy's maximum %(limit)s"),
    "check.max_unit_price.fail": N_("%(b)s: unit price %(price)s exceeds the policy's maximum %(limit)s"),
    "check.max_area.ok": N_("Legal area %(area)s within the policy's maximum %(limit)s per household"),
    "check.max_area.fail": N_("Legal area %(area)s exceeds the policy's maximum %(limit)s per household"),
    "check.bounds.ok": N_("Total %(total)s within the policy's limit %(limit)s"),
    "check.bounds.fail": N_("Total %(total)s exceeds the policy's limit %(limit)s"),
}
register_problems(BOUND_WORDING)


def yuan(value: Decimal, unit: str = "元") -> str:
    """An amount as the office writes it in a sentence: 1,234,567.00 元 (or another unit: 元/㎡, ㎡)."""
    return f"{value.quantize(Decimal('0.01')):,.2f} {unit}"


def bound_checks(rules: Any, buildings: Iterable[tuple[str, Decimal | None, Decimal | None]],
                 total: Decimal | None) -> list[tuple[str, bool, Problem]]:
    """Every red line of the policy's bounds as (code, passed, sentence with its figures): each building's unit
    price, the household's legal area (buildings as (name, unit price, legal area)), and the total when given."""
    bounds = (rules or {}).get("bounds") or {}
    out: list[tuple[str, bool, Problem]] = []

    def limit(name: str) -> Decimal | None:
        value = to_decimal(bounds.get(name))
        return value if value else None

    rows = list(buildings)
    most = limit("max_unit_price")
    if most is not None:
        for label, price, _area in rows:
            if price is not None:
                ok = price <= most
                out.append(("max_unit_price", ok, problem(f"check.max_unit_price.{'ok' if ok else 'fail'}", b=label,
                                                          price=yuan(price, "元/㎡"), limit=yuan(most, "元/㎡"))))
    most = limit("max_area_per_household")
    areas = [area for _label, _price, area in rows if area is not None]
    if most is not None and areas:
        area = sum(areas, Decimal(0))
        ok = area <= most
        out.append(("max_area", ok, problem(f"check.max_area.{'ok' if ok else 'fail'}", area=yuan(area, "㎡"),
                                            limit=yuan(most, "㎡"))))
    most = limit("max_total_per_household")
    if most is not None and total is not None:
        ok = abs(total) <= most
        out.append(("bounds", ok, problem(f"check.bounds.{'ok' if ok else 'fail'}", total=yuan(total),
                                          limit=yuan(most))))
    return out
