"""The red lines of a policy (its bounds) checked against a household's figures, each as a sentence with
its figures."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from services.compensation.rulecheck import to_decimal
from services.problems import N_, Problem, problem
from services.problems import register as register_problems

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
