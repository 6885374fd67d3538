"""The compensation calculation: a pure function of a policy's rule table and one household's input."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from services.compensation import labels
from services.compensation.defaults import DEFAULT_RULES
from services.compensation.inputs import HouseholdInput
from services.compensation.rules import catalogue_items, fmt2, to_decimal
from services.errors import InvalidInput
from services.problems import N_, WORDING, problem
from services.problems import register as register_problems

register_problems({
    "policy_no_figure": N_("the policy has no figure for this code"),
    "policy_lacks": N_("'%(key)s' is not in the policy"),
    "ancillary_unknown": N_("unknown ancillary code '%(code)s'"),
    "ancillary_items_unknown": N_("unknown ancillary items"),
    "year_built_needed": N_("the replacement method needs the year '%(building)s' was built"),
    "valuation_year_needed": N_("the replacement method needs the valuation year or the signing date"),
})
register_problems({
    "basis.replacement": N_("%(area)s㎡ × replacement price %(price)s元/㎡ × newness %(newness)s (built %(year)s, "
                            "%(life)s-year life, at least %(floor)s)"),
    "basis.location": N_("%(area)s㎡ × location value %(price)s元/㎡"),
    "basis.appraised_decoration": N_("appraised decoration value %(value)s元"),
    "basis.appraised_ancillary": N_("appraised value of the ancillary items and structures %(value)s元"),
    "basis.not_in_catalogue": N_("%(count)s %(unit)s: not in the catalogue of the policy used, no rate"),
    "basis.small_home": N_("(minimum area %(min)s㎡ − legal area %(area)s㎡) × %(price)s元/㎡"),
    "basis.minimum": N_("minimum %(min)s元 − building compensation %(value)s元"),
    "basis.per_area": N_("%(area)s㎡ × %(rate)s元/㎡"),
    "basis.share_of_value": N_("%(rate)s × building value %(value)s元"),
})

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Item:
    """One line of a calculation: its code, label, readable formula and amount (元, two places)."""

    code: str
    label: Any
    basis: Any  # a formula, or a coded sentence worded in the reader's language
    amount: Decimal

    def as_json(self) -> dict[str, str]:
        """JSON-ready, the label and basis in the current locale and the amount with two decimals."""
        return {"code": self.code, "label": str(self.label), "basis": str(self.basis), "amount": fmt2(self.amount)}


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


def _words(code: str, **params: Any) -> Any:
    """A coded basis sentence, written out in the reader's language when shown."""
    return _l(WORDING[code], **params)


def newness_rate(age: int, life: int, floor: Decimal) -> Decimal:
    """成新率: 1 − age / useful life, to two places (half up), never below the floor nor above 1."""
    rate = (Decimal(1) - Decimal(max(age, 0)) / Decimal(life)).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(Decimal(1), max(floor, rate))


def _with_ratio(basis: Any, ratio: Decimal) -> Any:
    if ratio == 1:
        return basis
    return basis + f" × {percent(ratio)}" if isinstance(basis, str) else labels.Joined(basis, f" × {percent(ratio)}")


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
        self.building_total = Decimal(0)  # building value, location value and small-home subsidy (for 保底)
        self.resettlement = sum(1 for p in data.persons if p.resettlement)

    def add(self, code: str, label: Any, basis: str, amount: Decimal) -> Decimal:
        amount = money(amount)
        self.items.append(Item(code, label, basis, amount))
        return amount

    def section(self, name: str) -> Any:
        """A section of the rule table; the default's when the version predates it."""
        value = self.rules.get(name)
        return value if value is not None else DEFAULT_RULES[name]

    def buildings(self) -> None:
        ratios = self.rules.get("building_ratio")
        uses = set((self.rules.get("business_interruption") or {}).get("uses") or ())
        replacement = self.section("building_value_method") == "replacement"
        for number, b in enumerate(self.data.buildings, 1):
            ratio = _rate(ratios, b.legal_status, f"household.buildings.{number - 1}.legal_status")
            if replacement:
                amount, basis = self._replacement(number, b)
            else:
                amount, basis = b.area * b.unit_price, f"{fmt2(b.area)}㎡ × {fmt2(b.unit_price)}元/㎡"
            value = self.add(f"building_value.{number}", labels.building_value(number, b.legal_status, b.label),
                             _with_ratio(basis, ratio), amount * ratio)
            self.building_total += value
            if replacement:
                self._location(number, b, ratio)
            if ratio > 0:
                self.eligible_area += b.area
            if b.use in uses:
                self.has_business = True
                self.business_value += value
            if b.run_as_business and b.use == "residential" and ratio > 0:
                self._residential_business(number, b, value)

    def _replacement(self, number: int, b: Any) -> tuple[Decimal, Any]:
        """Replacement price × newness rate (成新率: 1 − age / useful life, two places, not below the floor)."""
        table = self.section("replacement")
        field = f"household.buildings.{number - 1}"
        price = _rate(table.get("price"), b.structure, f"{field}.structure")
        life = int(_rate(table.get("useful_life"), b.structure, f"{field}.structure"))
        floor = _rate(table, "floor_rate", f"{field}.structure")
        year = self.data.valuation_year or (self.data.signed_on.year if self.data.signed_on else None)
        if b.year_built is None:
            raise InvalidInput(problem("year_built_needed", building=b.label or number),
                               {f"{field}.year_built": [problem("year_built_needed", building=b.label or number)]})
        if year is None:
            raise InvalidInput(problem("valuation_year_needed"),
                               {"household.valuation_year": [problem("valuation_year_needed")]})
        newness = newness_rate(year - b.year_built, life, floor)
        basis = _words("basis.replacement", area=fmt2(b.area), price=fmt2(price), newness=percent(newness),
                        year=b.year_built, life=life, floor=percent(floor))
        return b.area * price * newness, basis

    def _location(self, number: int, b: Any, ratio: Decimal) -> None:
        price = _rate(self.section("replacement"), "location_price", "household.buildings")
        if price <= 0 or ratio <= 0:
            return
        basis = _words("basis.location", area=fmt2(b.area), price=fmt2(price))
        self.building_total += self.add(f"location_value.{number}", labels.location_value(b.label, number),
                                        _with_ratio(basis, ratio), b.area * price * ratio)

    def _residential_business(self, number: int, b: Any, value: Decimal) -> None:
        table = self.section("residential_business")
        per_area = _rate(table, "per_area", "household.buildings")
        rate = _rate(table, "rate", "household.buildings")
        parts = []
        if per_area > 0:
            parts.append(_words("basis.per_area", area=fmt2(b.area), rate=fmt2(per_area)))
        if rate > 0:
            parts.append(_words("basis.share_of_value", rate=percent(rate), value=fmt2(value)))
        if parts:
            basis = labels.Joined(*[p for part in parts for p in (" + ", part)][1:])
            self.add(f"residential_business.{number}", labels.residential_business(b.label, number), basis,
                     b.area * per_area + value * rate)

    def decoration(self) -> None:
        rates = self.rules.get("decoration_rate")
        ratios = self.rules.get("building_ratio")
        appraised = bool(self.section("use_appraised").get("decoration"))
        for number, b in enumerate(self.data.buildings, 1):
            if _rate(ratios, b.legal_status, f"household.buildings.{number - 1}.legal_status") <= 0:
                continue
            label = labels.decoration(number, b.structure, b.label)
            if appraised and b.decoration_value is not None:
                self.add(f"decoration.{number}", label,
                         _words("basis.appraised_decoration", value=fmt2(b.decoration_value)), b.decoration_value)
                continue
            rate = _rate(rates, b.structure, f"household.buildings.{number - 1}.structure")
            self.add(f"decoration.{number}", label, f"{fmt2(b.area)}㎡ × {fmt2(rate)}元/㎡", b.area * rate)

    def ancillary(self) -> None:
        if self.section("use_appraised").get("ancillary") and self.data.ancillary_value is not None:
            self.add("ancillary.appraised", labels.APPRAISED_ANCILLARY,
                     _words("basis.appraised_ancillary", value=fmt2(self.data.ancillary_value)),
                     self.data.ancillary_value)
            return
        catalogue = {i["code"]: i for i in catalogue_items(self.rules)}
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        problems: dict[str, list[str]] = {}
        for index, line in enumerate(self.data.ancillary):
            if line.code not in catalogue and not line.name:
                problems[f"household.ancillary.{index}.code"] = [problem("ancillary_unknown", code=line.code)]
            counts[line.code] = counts.get(line.code, 0) + line.count
            names[line.code] = line.name
        if problems:
            raise InvalidInput(problem("ancillary_items_unknown"), problems)
        for code, count in counts.items():
            item = catalogue.get(code)
            if item is None:  # a stored survey's item the policy used no longer lists: shown, flagged, unpaid
                self.add(f"ancillary.{code}", labels.Named({"name_zh": names[code]}, labels.NOT_IN_CATALOGUE),
                         _words("basis.not_in_catalogue", count=count, unit=""), Decimal(0))
                continue
            rate = _rate(item, "rate", "household.ancillary")
            unit = item.get("unit") or ""
            basis = f"{count}{unit} × {fmt2(rate)}元/{unit}" if item.get("group") == "structure" and unit \
                else f"{count} × {fmt2(rate)}元"
            self.add(f"ancillary.{code}", labels.Named(item), basis, count * rate)

    def small_home(self) -> None:
        table = self.section("small_home")
        least = _rate(table, "min_area", "household.buildings")
        if least <= 0 or self.data.kind not in ("collective_house", "state_house") or self.eligible_area >= least:
            return
        price = _rate(table, "price", "household.buildings")
        self.building_total += self.add(
            "small_home", labels.SMALL_HOME,
            _words("basis.small_home", min=fmt2(least), area=fmt2(self.eligible_area), price=fmt2(price)),
            (least - self.eligible_area) * price)

    def minimum(self) -> None:
        least = _rate(self.section("minimum_compensation"), "amount", "household.buildings")
        if least <= 0 or self.building_total >= least:
            return
        self.add("minimum_compensation", labels.MINIMUM_COMPENSATION,
                 _words("basis.minimum", min=fmt2(least), value=fmt2(self.building_total)),
                 least - self.building_total)

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
    run.small_home()
    run.minimum()
    run.moving()
    run.temporary_housing()
    run.business_interruption()
    run.hardship()
    run.signing_bonus()
    run.swap()
    return Calculation(items=tuple(run.items), total=sum((i.amount for i in run.items), ZERO))
