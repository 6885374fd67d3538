"""The compensation calculation: a pure function of a policy's rule table and one household's input."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.compensation.calcbase import ZERO, Calculation, Item, money, newness_rate, payee_totals
from services.compensation.calcpeople import PeopleItems
from services.compensation.calcproperty import PropertyItems
from services.compensation.inputs import HouseholdInput

__all__ = ["Calculation", "Item", "calculate", "money", "newness_rate", "payee_totals"]


class _Run(PropertyItems, PeopleItems):
    """One calculation: the items of the property, then those of the people and the business."""


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
