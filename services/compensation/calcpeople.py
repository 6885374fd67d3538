"""The items of the household's people and business: moving, temporary housing, business interruption,
equipment, land use, extra quota, hardship, signing bonus and the swap."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.compensation import labels
from services.compensation.calcbase import Run, _rate, _words, percent
from services.compensation.defaults import QUOTA_GROUPS, SPECIAL_GROUPS
from services.compensation.rules import fmt2, to_decimal
from services.errors import InvalidInput
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "monthly_loss_needed": N_("the policy pays the business interruption by months: record the monthly loss"),
    "basis.equipment": N_("%(rate)s × appraised equipment value %(value)s元"),
    "basis.moving_by_area": N_("%(area)s㎡ × %(rate)s元/㎡, at least %(min)s元"),
    "basis.within_promised": N_("%(formula)s (within the promised %(promised)s months)"),
    "basis.overdue": N_("%(formula)s × %(factor)s (after the promised %(promised)s months)"),
})


class PeopleItems(Run):
    """The items of the people and the business."""

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
