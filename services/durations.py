"""ISO 8601 durations ("P3D", "PT2S", "P1M"), as the BPMN and the deadline settings write them."""
from __future__ import annotations

import re
from calendar import monthrange
from datetime import datetime, timedelta

from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "duration_text": N_("a duration must be text such as P3D or PT4H"),
    "duration_format": N_("'%(text)s' is not an ISO 8601 duration such as P3D or PT4H"),
    "duration_too_long": N_("a duration may be at most ten years"),
    "duration_zero": N_("a duration must be longer than zero"),
})

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
MAX_DURATION = timedelta(days=3660)


class DurationError(ValueError):
    """Text that is not an ISO 8601 duration we accept."""


def parse(text: str) -> dict[str, float]:
    """The parts of a duration; DurationError when the text is not one."""
    if not isinstance(text, str):
        raise DurationError(problem("duration_text"))
    match = _DURATION.match(text.strip().upper())
    if match is None:
        raise DurationError(problem("duration_format", text=text))
    return {k: float(v) for k, v in match.groupdict().items() if v is not None}


def to_timedelta(text: str, start: datetime) -> timedelta:
    """The length of a duration counted from start (months and years by the calendar)."""
    parts = parse(text)
    months = int(parts.pop("years", 0) * 12 + parts.pop("months", 0))
    days = parts.pop("days", 0) + parts.pop("weeks", 0) * 7
    year, month = start.year, start.month
    for _ in range(months):
        days += monthrange(year, month)[1]
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    delta = timedelta(days=days, hours=parts.get("hours", 0), minutes=parts.get("minutes", 0),
                      seconds=parts.get("seconds", 0))
    if delta > MAX_DURATION:
        raise DurationError(problem("duration_too_long"))
    if delta <= timedelta(0):
        raise DurationError(problem("duration_zero"))
    return delta


def is_valid(text: str) -> bool:
    """True when the text is a duration we accept."""
    try:
        to_timedelta(text, datetime(2000, 1, 1))
    except DurationError:
        return False
    return True
