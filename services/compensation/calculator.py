"""The compensation calculation: a pure function of a policy's rule table and one household's input."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from services.compensation import labels
from services.compensation.defaults import DEFAULT_RULES, QUOTA_GROUPS, SPECIAL_GROUPS
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
    "monthly_loss_needed": N_("the policy pays the business interruption by months: record the monthly loss"),
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
    "basis.equipment": N_("%(rate)s × appraised equipment value %(value)s元"),
    "basis.moving_by_area": N_("%(area)s㎡ × %(rate)s元/㎡, at least %(min)s元"),
    "basis.within_promised": N_("%(formula)s (within the promised %(promised)s months)"),
    "basis.overdue": N_("%(formula)s × %(factor)s (after the promised %(promised)s months)"),
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
    payee: str = "owner"  # owner, or the business's tenant (承租户) for the tenant's share of an item

    def as_json(self) -> dict[str, str]:
        """JSON-ready, the label and basis in the current locale and the amount with two decimals (and the payee
        when it is the tenant: an item without one is the owner's)."""
        out = {"code": self.code, "label": str(self.label), "basis": str(self.basis), "amount": fmt2(self.amount)}
        if self.payee != "owner":
            out["payee"] = self.payee
        return out


@dataclass(frozen=True)
class Calculation:
    """The items of a calculation and their total (for swap: the difference to settle)."""

    items: tuple[Item, ...]
    total: Decimal

    def as_json(self) -> dict[str, Any]:
        """JSON-ready items and total."""
        return {"items": [item.as_json() for item in self.items], "total": fmt2(self.total)}

    def payee_totals(self) -> dict[str, Decimal]:
        """The total of the owner's items and of the tenant's (they add up to the total)."""
        return payee_totals(self.items)


def payee_totals(items: Any) -> dict[str, Decimal]:
    """Owner's and tenant's totals of items (Item objects or their JSON; an item without a payee is the owner's)."""
    out = {"owner": ZERO, "tenant": ZERO}
    for item in items:
        payee = item.payee if isinstance(item, Item) else (item.get("payee") or "owner")
        amount = item.amount if isinstance(item, Item) else Decimal(str(item.get("amount") or "0"))
        out[payee if payee in out else "owner"] += amount
    return out


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

    def add(self, code: str, label: Any, basis: Any, amount: Decimal, payee: str = "owner") -> Decimal:
        amount = money(amount)
        self.items.append(Item(code, label, basis, amount, payee))
        return amount

    def shared(self, code: str, label: Any, basis: Any, amount: Decimal, item: str) -> Decimal:
        """An item the policy shares with the tenant (承租户): the owner's line and the tenant's line (code.tenant)."""
        amount = money(amount)
        share = _rate(self.section("tenant_share"), item, "household.tenant") if self.data.tenant.strip() \
            else Decimal(0)
        if share <= 0:
            return self.add(code, label, basis, amount)
        tenant = money(amount * share)
        if amount - tenant:
            self.add(code, label, _with_ratio(basis, 1 - share), amount - tenant)
        self.add(f"{code}.tenant", labels.tenant_part(label), _with_ratio(basis, share), tenant, "tenant")
        return amount

    def interruption_rules(self) -> Mapping[str, Any]:
        """停产停业损失's rule; for a table without one, business_interruption's rate × value."""
        table = self.rules.get("interruption")
        if table is None:
            old = self.rules.get("business_interruption") or {}
            return {"method": "rate", "rate": old.get("rate"), "uses": old.get("uses") or []}
        return table

    def section(self, name: str) -> Any:
        """A section of the rule table; the default's when the version predates it."""
        value = self.rules.get(name)
        return value if value is not None else DEFAULT_RULES[name]

    def buildings(self) -> None:
        ratios = self.rules.get("building_ratio")
        uses = set(self.interruption_rules().get("uses") or ())
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
                self.shared(f"decoration.{number}", label,
                            _words("basis.appraised_decoration", value=fmt2(b.decoration_value)), b.decoration_value,
                            "decoration")
                continue
            rate = _rate(rates, b.structure, f"household.buildings.{number - 1}.structure")
            self.shared(f"decoration.{number}", label, f"{fmt2(b.area)}㎡ × {fmt2(rate)}元/㎡", b.area * rate,
                        "decoration")

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
        table = self.section("enterprise_moving")
        per_area = _rate(table, "per_area", "household.kind")
        if per_area > 0 and self.data.kind in (table.get("kinds") or ()):
            least = _rate(table, "minimum", "household.kind")
            self.add("moving_allowance", labels.MOVING_ALLOWANCE,
                     _words("basis.moving_by_area", area=fmt2(self.eligible_area), rate=fmt2(per_area),
                            min=fmt2(least)), max(self.eligible_area * per_area, least))
            return
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
            unit, monthly = f"{self.resettlement}人 × {fmt2(rate)}元/人/月", self.resettlement * rate
        else:
            rate = _rate(housing, "area_rate", "household.kind")
            unit, monthly = f"{fmt2(self.eligible_area)}㎡ × {fmt2(rate)}元/㎡/月", self.eligible_area * rate
        transition = self.section("transition")
        promised = int(_rate(transition, "promised_months", "household.transition_months"))
        if promised <= 0 or months <= promised:
            self.add("temporary_housing", labels.TEMPORARY_HOUSING, f"{unit} × {months}月", monthly * months)
            return
        factor = _rate(transition, "overdue_factor", "household.transition_months")
        self.add("temporary_housing", labels.TEMPORARY_HOUSING,
                 _words("basis.within_promised", formula=f"{unit} × {promised}月", promised=promised),
                 monthly * promised)
        self.add("temporary_housing.overdue", labels.TEMPORARY_HOUSING_OVERDUE,
                 _words("basis.overdue", formula=f"{unit} × {months - promised}月", factor=fmt2(factor),
                        promised=promised), monthly * (months - promised) * factor)

    def business_interruption(self) -> None:
        if not self.has_business:
            return
        table = self.interruption_rules()
        if table.get("method") == "months":
            months = int(_rate(table, "months", "household.monthly_loss"))
            loss = self.data.monthly_loss
            if loss is None:
                raise InvalidInput(problem("monthly_loss_needed"),
                                   {"household.monthly_loss": [problem("monthly_loss_needed")]})
            basis, amount = f"{months}月 × {fmt2(loss)}元/月", months * loss
        else:
            rate = _rate(table, "rate", "household.buildings")
            basis, amount = f"{percent(rate)} × {fmt2(self.business_value)}元", self.business_value * rate
        self.shared("business_interruption", labels.BUSINESS_INTERRUPTION, basis, amount, "business_interruption")

    def equipment(self) -> None:
        share = _rate(self.section("equipment"), "share", "household.equipment_value")
        value = self.data.equipment_value
        if share <= 0 or not value:
            return
        self.shared("equipment", labels.EQUIPMENT, _words("basis.equipment", rate=percent(share), value=fmt2(value)),
                    value * share, "equipment")

    def land_use(self) -> None:
        table = self.section("land_use")
        per_area = _rate(table, "per_area", "household.land_area")
        area = self.data.land_area
        if per_area <= 0 or not area or self.data.kind not in (table.get("kinds") or ()):
            return
        self.add("land_use", labels.LAND_USE, f"{fmt2(area)}㎡ × {fmt2(per_area)}元/㎡", area * per_area)

    def extra_quota(self) -> tuple[Decimal, list[Any]]:
        """The extra resettlement area of the household's persons by group, and its formula's parts."""
        table = self.section("extra_quota")
        area, parts = Decimal(0), []
        for group in QUOTA_GROUPS:
            each = _rate(table, group, "household.persons")
            count = sum(1 for p in self.data.persons
                        if group in p.quota_groups or (group == "only_child" and p.special_group == group))
            if each > 0 and count:
                area += count * each
                parts.append(labels.Joined(labels.QUOTA_GROUP[group], f" {count}人 × {fmt2(each)}㎡"))
        return area, parts

    def extra_quota_cash(self) -> None:
        if self.data.option != "cash":
            return
        price = _rate(self.section("extra_quota"), "cash_price", "household.persons")
        area, parts = self.extra_quota()
        if price <= 0 or area <= 0:
            return
        joined = [p for part in parts for p in (" + ", part)][1:]
        self.add("extra_quota", labels.EXTRA_QUOTA,
                 labels.Joined("(", *joined, f") × {fmt2(price)}元/㎡") if len(parts) > 1
                 else labels.Joined(*joined, f" × {fmt2(price)}元/㎡"), area * price)

    def hardship(self) -> None:
        hardship = self.rules.get("hardship") or {}
        groups = set(hardship.get("groups") or ())
        if not any(p.special_group in groups for p in self.data.persons):
            return
        if hardship.get("per") == "person":
            amounts = hardship.get("amounts") or {}
            for group in SPECIAL_GROUPS:
                count = sum(1 for p in self.data.persons if p.special_group == group)
                if group not in groups or not count:
                    continue
                each = to_decimal(amounts.get(group)) if amounts.get(group) is not None else None
                each = each if each is not None else _rate(hardship, "amount", "household.persons")
                self.add(f"hardship.{group}", labels.hardship(group), f"{count}人 × {fmt2(each)}元/人", count * each)
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
        extra, parts = self.extra_quota()
        quota = self.resettlement * quota_each + extra
        area = self.data.swap_area if self.data.swap_area is not None else quota
        within = min(area, quota)
        beyond = area - within
        price = _rate(swap, "price_within_quota", "option")
        basis: Any = f"−{fmt2(within)}㎡ × {fmt2(price)}元/㎡ (≤ {self.resettlement}人 × {fmt2(quota_each)}㎡)"
        if parts:
            basis = labels.Joined(basis[:-1], *[p for part in parts for p in (" + ", part)], ")")
        self.add("swap_within_quota", labels.SWAP_WITHIN_QUOTA, basis, -(within * price))
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
    run.equipment()
    run.land_use()
    run.extra_quota_cash()
    run.hardship()
    run.signing_bonus()
    run.swap()
    return Calculation(items=tuple(run.items), total=sum((i.amount for i in run.items), ZERO))
