"""The compensation calculation: a pure function of a policy's rule table and one household's input."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.compensation import labels
from services.compensation.inputs import HouseholdInput
from services.compensation.rules import fmt2, to_decimal
from services.errors import InvalidInput
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "policy_no_figure": N_("the policy has no figure for this code"),
    "policy_lacks": N_("'%(key)s' is not in the policy"),
    "ancillary_unknown": N_("unknown ancillary code '%(code)s'"),
    "ancillary_items_unknown": N_("unknown ancillary items"),
})

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Item:
    """One line of a calculation: its code, label, readable formula and amount (元, two places)."""

    code: str
    label: Any
    basis: str
    amount: Decimal

    def as_json(self) -> dict[str, str]:
        """JSON-ready, the label in the current locale and the amount with two decimals."""
        return {"code": self.code, "label": str(self.label), "basis": self.basis, "amount": fmt2(self.amount)}


@dataclass(frozen=True)
class Calculation:
    """The items of a calculation and their total (for swap: the difference to settle)."""

    items: tuple[Item, ...]
    total: Decimal

    def as_json(self) -> dict[str, Any]:
        """JSON-ready items and total."""
        return {"items": [item.as_json() for item in self.items], "total": fmt2(self.total)}


def money(value: Decimal) -> Decimal:
    """Two places, half up; never a negative zero."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return ZERO if rounded == 0 else rounded


def percent(ratio: Decimal) -> str:
    """0.05 → '5%', 0.125 → '12.5%'."""
    return f"{(ratio * 100).normalize():f}%"


def _rate(table: Any, key: str, field: str) -> Decimal:
    value = to_decimal(table.get(key)) if isinstance(table, Mapping) else None
    if value is None:
        raise InvalidInput(problem("policy_no_figure"), {field: [problem("policy_lacks", key=key)]})
    return value


class _Run:
    """The working state of one calculation."""

    def __init__(self, rules: Mapping[str, Any], data: HouseholdInput) -> None:
        self.rules = rules
        self.data = data
        self.items: list[Item] = []
        self.eligible_area = Decimal(0)
        self.business_value = Decimal(0)
        self.has_business = False
        self.resettlement = sum(1 for p in data.persons if p.resettlement)

    def add(self, code: str, label: Any, basis: str, amount: Decimal) -> Decimal:
        amount = money(amount)
        self.items.append(Item(code, label, basis, amount))
        return amount

    def buildings(self) -> None:
        ratios = self.rules.get("building_ratio")
        uses = set((self.rules.get("business_interruption") or {}).get("uses") or ())
        for number, b in enumerate(self.data.buildings, 1):
            ratio = _rate(ratios, b.legal_status, f"household.buildings.{number - 1}.legal_status")
            basis = f"{fmt2(b.area)}㎡ × {fmt2(b.unit_price)}元/㎡"
            if ratio != 1:
                basis += f" × {percent(ratio)}"
            value = self.add(f"building_value.{number}", labels.building_value(number, b.legal_status, b.label), basis,
                             b.area * b.unit_price * ratio)
            if ratio > 0:
                self.eligible_area += b.area
            if b.use in uses:
                self.has_business = True
                self.business_value += value

    def decoration(self) -> None:
        rates = self.rules.get("decoration_rate")
        ratios = self.rules.get("building_ratio")
        for number, b in enumerate(self.data.buildings, 1):
            if _rate(ratios, b.legal_status, f"household.buildings.{number - 1}.legal_status") <= 0:
                continue
            rate = _rate(rates, b.structure, f"household.buildings.{number - 1}.structure")
            self.add(f"decoration.{number}", labels.decoration(number, b.structure, b.label),
                     f"{fmt2(b.area)}㎡ × {fmt2(rate)}元/㎡", b.area * rate)

    def ancillary(self) -> None:
        rates = self.rules.get("ancillary_rate") or {}
        counts: dict[str, int] = {}
        problems: dict[str, list[str]] = {}
        for index, line in enumerate(self.data.ancillary):
            if line.code not in rates:
                problems[f"household.ancillary.{index}.code"] = [problem("ancillary_unknown", code=line.code)]
            counts[line.code] = counts.get(line.code, 0) + line.count
        if problems:
            raise InvalidInput(problem("ancillary_items_unknown"), problems)
        for code, count in counts.items():
            rate = _rate(rates, code, "household.ancillary")
            self.add(f"ancillary.{code}", labels.ancillary(code), f"{count} × {fmt2(rate)}元", count * rate)

    def moving(self) -> None:
        amount = _rate(self.rules.get("moving_allowance"), self.data.option, "option")
        self.add("moving_allowance", labels.MOVING_ALLOWANCE, f"{fmt2(amount)}元/户", amount)

    def temporary_housing(self) -> None:
        housing = self.rules.get("temporary_housing") or {}
        basis = (housing.get("basis") or {}).get(self.data.kind, "none")
        if basis == "none":
            return
        months = self.data.transition_months
        if months is None:
            months = int(_rate(housing.get("months"), self.data.option, "household.transition_months"))
        if basis == "persons":
            rate = _rate(housing, "person_rate", "household.kind")
            formula = f"{self.resettlement}人 × {fmt2(rate)}元/人/月 × {months}月"
            amount = self.resettlement * rate * months
        else:
            rate = _rate(housing, "area_rate", "household.kind")
            formula = f"{fmt2(self.eligible_area)}㎡ × {fmt2(rate)}元/㎡/月 × {months}月"
            amount = self.eligible_area * rate * months
        self.add("temporary_housing", labels.TEMPORARY_HOUSING, formula, amount)

    def business_interruption(self) -> None:
        if not self.has_business:
            return
        rate = _rate(self.rules.get("business_interruption"), "rate", "household.buildings")
        self.add("business_interruption", labels.BUSINESS_INTERRUPTION,
                 f"{percent(rate)} × {fmt2(self.business_value)}元", self.business_value * rate)

    def hardship(self) -> None:
        hardship = self.rules.get("hardship") or {}
        groups = set(hardship.get("groups") or ())
        if not any(p.special_group in groups for p in self.data.persons):
            return
        amount = _rate(hardship, "amount", "household.persons")
        self.add("hardship", labels.HARDSHIP, f"{fmt2(amount)}元/户", amount)

    def signing_bonus(self) -> None:
        tiers = self.rules.get("signing_bonus") or []
        signed_on = self.data.signed_on
        if signed_on is None or not tiers:
            self.add("signing_bonus", labels.SIGNING_BONUS, "—", Decimal(0))
            return
        for index, tier in enumerate(tiers):
            if signed_on.isoformat() <= str(tier["until"]):
                amount = _rate(tier, "amount", f"policy.signing_bonus.{index}")
                self.add("signing_bonus", labels.SIGNING_BONUS, f"{signed_on} ≤ {tier['until']}", amount)
                return
        self.add("signing_bonus", labels.SIGNING_BONUS, f"{signed_on} > {tiers[-1]['until']}", Decimal(0))

    def swap(self) -> None:
        if self.data.option != "swap":
            return
        swap = self.rules.get("swap") or {}
        quota_each = _rate(swap, "quota_per_person", "option")
        quota = self.resettlement * quota_each
        area = self.data.swap_area if self.data.swap_area is not None else quota
        within = min(area, quota)
        beyond = area - within
        price = _rate(swap, "price_within_quota", "option")
        self.add("swap_within_quota", labels.SWAP_WITHIN_QUOTA,
                 f"−{fmt2(within)}㎡ × {fmt2(price)}元/㎡ (≤ {self.resettlement}人 × {fmt2(quota_each)}㎡)",
                 -(within * price))
        if beyond > 0:
            price = _rate(swap, "price_beyond_quota", "option")
            self.add("swap_beyond_quota", labels.SWAP_BEYOND_QUOTA, f"−{fmt2(beyond)}㎡ × {fmt2(price)}元/㎡",
                     -(beyond * price))


def calculate(rules: Mapping[str, Any], data: HouseholdInput) -> Calculation:
    """Every item the policy grants this household, and the total (for swap: + the office pays, − the household)."""
    run = _Run(rules, data)
    run.buildings()
    run.decoration()
    run.ancillary()
    run.moving()
    run.temporary_housing()
    run.business_interruption()
    run.hardship()
    run.signing_bonus()
    run.swap()
    return Calculation(items=tuple(run.items), total=sum((i.amount for i in run.items), ZERO))
