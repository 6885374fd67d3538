"""Validation of a rule table: every figure checked, normalised to exact decimal strings."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from services.compensation.defaults import (
    KINDS,
    LEGAL_STATUSES,
    OPTIONS,
    RULES_FORMAT,
    SPECIAL_GROUPS,
    STRUCTURES,
    TEMPORARY_HOUSING_BASES,
    USES,
)
from services.errors import InvalidInput
from services.problems import N_, Problem, problem, range_problem
from services.problems import register as register_problems

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
})

MAX_MONEY = Decimal("1000000000000")
MAX_TIERS = 12
MAX_CODES = 100
CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TOP_LEVEL = ("format", "building_ratio", "decoration_rate", "ancillary_rate", "moving_allowance",
             "temporary_housing", "business_interruption", "hardship", "signing_bonus", "swap",
             "tracking_audit_threshold", "bounds")


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
        "ancillary_rate": _ancillary(check, table.get("ancillary_rate")),
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
