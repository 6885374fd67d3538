"""Durations as the office enters and reads them — days and hours — over the ISO 8601 the services keep."""
from __future__ import annotations

from flask_babel import gettext as _

from services import durations


def duration_text(text: str | None) -> str:
    """An ISO 8601 duration in days, hours and minutes (P3DT4H → 3 天 4 小时); months and years as written."""
    if not text:
        return ""
    try:
        parts = durations.parse(text)
    except durations.DurationError:
        return text
    if parts.get("years") or parts.get("months") or parts.get("seconds"):
        return text
    days, hours, minutes = (int(parts.get("days", 0) + parts.get("weeks", 0) * 7), int(parts.get("hours", 0)),
                            int(parts.get("minutes", 0)))
    words = [_("%(n)s days", n=days) if days else "", _("%(n)s hours", n=hours) if hours else "",
             _("%(n)s minutes", n=minutes) if minutes else ""]
    return " ".join(w for w in words if w) or text


def days_hours(text: str | None) -> tuple[int, int]:
    """A duration as whole days and hours, for the two boxes of a form ((0, 0) when it has other parts)."""
    try:
        parts = durations.parse(text or "")
    except durations.DurationError:
        return 0, 0
    return int(parts.get("days", 0) + parts.get("weeks", 0) * 7), int(parts.get("hours", 0))


def to_iso(days: str, hours: str) -> str:
    """Days and hours typed into a form as an ISO 8601 duration ("3", "4" → P3DT4H); blank boxes count as 0.

    Anything that is not a whole number gives "" (which the deadline service refuses with its own words).
    """
    days, hours = (days or "").strip() or "0", (hours or "").strip() or "0"
    if not (days.isdigit() and hours.isdigit()):
        return ""
    d, h = int(days), int(hours)
    if d == 0 and h == 0:
        return "PT0H"
    return "P" + (f"{d}D" if d else "") + (f"T{h}H" if h else "")
