"""Sign-in throttling: too many failed sign-ins for a username, or from one address, lock it out for a while.

Failures are rows of their own (login_failures), so every web worker and host sees the same counts; the audit
trail records each attempt besides.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import LoginFailure

KEEP = timedelta(days=1)  # failures older than this are deleted as new ones come in


@dataclass(frozen=True)
class Limits:
    """How many failures within the window lock a username or an address, and for how long."""

    window: timedelta = timedelta(minutes=15)
    per_user: int = 5
    per_ip: int = 20
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits the application's configuration sets."""
        return cls(window=timedelta(minutes=config["LOGIN_WINDOW_MINUTES"]),
                   per_user=config["LOGIN_MAX_FAILURES_PER_USER"], per_ip=config["LOGIN_MAX_FAILURES_PER_IP"],
                   lockout=timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"]))


def key(username: str) -> str:
    """The name failures are counted under (case and surrounding blanks do not make a new name)."""
    return username.strip().lower()[:64]


def _remaining(column: Any, value: str, limit: int, limits: Limits, now: datetime) -> int:
    count, last = db.session.execute(
        select(func.count(LoginFailure.id), func.max(LoginFailure.at))
        .where(column == value, LoginFailure.at > now - limits.window)).one()
    if limit <= 0 or count < limit or last is None:
        return 0
    return max(0, int((last + limits.lockout - now).total_seconds()))


def locked_for(username: str, ip: str | None, limits: Limits, now: datetime) -> int:
    """Seconds until a sign-in as this username from this address is accepted again; 0 when it is now."""
    remaining = _remaining(LoginFailure.username, key(username), limits.per_user, limits, now)
    if ip:
        remaining = max(remaining, _remaining(LoginFailure.ip, ip[:64], limits.per_ip, limits, now))
    return remaining


def record_failure(username: str, ip: str | None, now: datetime) -> None:
    """Count a failed sign-in (in the caller's transaction)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP))
    db.session.add(LoginFailure(username=key(username), ip=ip[:64] if ip else None, at=now))


def clear(username: str) -> None:
    """Forget a username's failures after it signed in (the address keeps its count)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == key(username)))
