"""Helpers shared by the page blueprints."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from app.models import MAX_ID
from services.context import Actor


def page_actor() -> Actor:
    """The signed-in user as the services see them."""
    return Actor(user=current_user._get_current_object(), ip=request.remote_addr)


def int_arg(name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An integer query argument within bounds; the default when missing or malformed."""
    value = request.args.get(name, "")
    if not value.isdigit():
        return default
    number = int(value)
    return number if minimum <= number <= maximum else default


def bool_arg(name: str) -> bool | None:
    """A yes/no query argument: '1'/'true' or '0'/'false'; None when absent."""
    value = request.args.get(name, "").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None
