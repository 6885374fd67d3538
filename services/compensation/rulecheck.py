"""Reading the figures of a rule table: money, ratios, whole numbers, codes and keyed tables, each checked
against its limits and normalised to exact decimal strings, each problem named by its dotted path."""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from services.problems import N_, Problem, problem, range_problem
from services.problems import register as register_problems

register_problems({
    "places": N_("at most %(places)s decimal places"),
    "code_unknown": N_("unknown code"),
    "codes_list": N_("must be a list of codes"),
    "codes_unknown": N_("unknown codes: %(codes)s"),
})

MAX_MONEY = Decimal("1000000000000")
MAX_TIERS = 12
MAX_CODES = 100
CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


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
