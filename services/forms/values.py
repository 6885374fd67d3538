"""Money, areas and dates as the clerk meant them: refused when they are not plainly written or not plausible.

A decimal field takes plain notation only — ASCII digits, an optional minus sign, one '.', at most two
decimals — and checks it BEFORE anything is rounded: "12.345" is refused, never stored as 12.34; "1e-07",
"1_000", "1,000", "１２" and "Infinity" are refused, never read as 0.00, 1000.00 or 12. Thousands
separators are refused too (the form's own pattern says digits only, and "1,5" would be ambiguous).
A date field is bounded to the years around today that make sense for it (a payment, a signing),
so a mistyped 9999-12-31 or 0202-06-01 is refused with the range it must fall in.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields as f

from services.problems import N_, problem, register

register({
    "decimal_format": N_("Enter a plain number: digits, at most one decimal point, no thousands separators "
                         "(e.g. 1234.50)."),
    "decimal_places": N_("Enter at most two decimal places."),
    "date_range": N_("Enter a date from %(min)s to %(max)s."),
    "year_range": N_("Enter a year from %(min)s to %(max)s."),
})

PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.([0-9]+))?")


def _as_written(value: Any) -> str | None:
    """The number as it was written: text trimmed, a JSON whole number as digits, a JSON fraction by its repr."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 1e-07 stays "1e-07" and is refused; 12.345 stays "12.345"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    return None


class PlainDecimal(f.Decimal):
    """A Decimal written plainly, with at most `max_places` decimals, checked before any rounding."""

    def __init__(self, *args: Any, max_places: int = 2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_places = max_places

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        written = _as_written(value)
        match = PLAIN_NUMBER.fullmatch(written) if written is not None else None
        if match is None:
            raise ValidationError(problem("decimal_format"))
        if match.group(1) is not None and len(match.group(1)) > self.max_places:
            raise ValidationError(problem("decimal_places"))
        return super()._deserialize(written, attr, data, **kwargs)


def _shifted(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class BoundedDate(f.Date):
    """A date within `back` years before and `ahead` years after today (or from `earliest`)."""

    def __init__(self, *args: Any, back: int, ahead: int, earliest: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.back, self.ahead, self.earliest = back, ahead, earliest

    def bounds(self, today: date | None = None) -> tuple[date, date]:
        """The first and last date accepted today."""
        today = today or date.today()
        low = self.earliest or _shifted(today, -self.back)
        return low, _shifted(today, self.ahead)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        low, high = self.bounds()
        if not low <= day <= high:
            raise ValidationError(problem("date_range", min=low, max=high))
        return day


def not_after_this_year(value: int) -> None:
    """A validator of years (a building's year built): from 1900 to the current year."""
    if isinstance(value, int) and not 1900 <= value <= date.today().year:
        raise ValidationError(problem("year_range", min=1900, max=date.today().year))
