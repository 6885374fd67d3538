"""Validation of a rule table: every figure checked, normalised to exact decimal strings."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.compensation.bounds import bound_checks, yuan
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
from services.compensation.rulecheck import CODE, MAX_TIERS, _Checker, fmt2, fmt_ratio, to_decimal
from services.compensation.rulesections import _ancillary, _bounds, _catalogue, _people_and_business, _tiers, _valuation
from services.errors import InvalidInput
from services.problems import N_, problem
from services.problems import register as register_problems

__all__ = ["CODE", "MAX_TIERS", "bound_checks", "catalogue_items", "fmt2", "fmt_ratio", "to_decimal",
           "validate_rules", "yuan"]


register_problems({
    "rule_unknown": N_("unknown rule"),
    "rules_format": N_("only format %(format)s is understood"),
    "rules_invalid": N_("the rule table has errors"),
    "catalogue_decides": N_("the catalogue decides this rate (there: %(rate)s); change it in the catalogue"),
})

TOP_LEVEL = ("format", "building_ratio", "decoration_rate", "ancillary_rate", "moving_allowance",
             "temporary_housing", "business_interruption", "hardship", "signing_bonus", "swap",
             "tracking_audit_threshold", "bounds", "catalogue", "building_value_method", "replacement",
             "use_appraised", "minimum_compensation", "small_home", "residential_business", "interruption",
             "equipment", "enterprise_moving", "land_use", "tenant_share", "extra_quota", "transition")


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
