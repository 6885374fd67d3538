"""What every compensation calculation shares: its items and their amounts, the figures of the rule table
it reads, and the working state of one household's run."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from services.compensation import labels
from services.compensation.defaults import DEFAULT_RULES
from services.compensation.inputs import HouseholdInput
from services.compensation.rules import fmt2, to_decimal
from services.errors import InvalidInput
from services.problems import N_, WORDING, problem
from services.problems import register as register_problems

register_problems({
    "policy_no_figure": N_("the policy has no figure for this code"),
    "policy_lacks": N_("'%(key)s' is not in the policy"),
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


class Run:
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
