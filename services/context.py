"""Who is acting, and from where: passed explicitly to every service that changes state."""
from __future__ import annotations

from dataclasses import dataclass

from app.models import User


@dataclass(frozen=True)
class Actor:
    """The user behind an operation and the client address it came from."""

    user: User | None
    ip: str | None = None

    @property
    def id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def username(self) -> str | None:
        return self.user.username if self.user is not None else None

    @classmethod
    def system(cls) -> Actor:
        """The actor of work the system does by itself (seed, worker)."""
        return cls(user=None, ip=None)


@dataclass(frozen=True)
class Office:
    """The office's settings the services need: given once by the app factory, read by no service from Flask."""

    timezone: str = "Asia/Shanghai"  # the office's clock: policy dates, times written into notices


_office = Office()


def office() -> Office:
    """The office's settings (the defaults until the app factory configures them)."""
    return _office


def configure_office(settings: Office) -> None:
    """Set the office's settings (the app factory does, from its configuration)."""
    global _office
    _office = settings
