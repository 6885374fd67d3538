"""Helpers shared by the page blueprints."""
from __future__ import annotations

from urllib.parse import quote

from flask import request
from flask_login import current_user

from app.models import MAX_ID
from services.context import Actor
from services.text import clean


def page_actor() -> Actor:
    """The signed-in user as the services see them."""
    return Actor(user=current_user._get_current_object(), ip=request.remote_addr)


def int_arg(name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An integer query argument within bounds; the default when missing or malformed."""
    value = request.args.get(name, "")
    if not (value.isascii() and value.isdigit()):  # '١٢٣' and '²' are digits to str.isdigit, not ids
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


# where each role's work is, most specific first; everyone else works from the inbox
LANDINGS = (("admin", "main.administration"), ("supervisor", "supervisor.overview"),
            ("process_owner", "processes.index"))


def landing(user) -> str:
    """The endpoint a signed-in user lands on after sign-in and on "/": where their role's work is."""
    for role, endpoint in LANDINGS:
        if user.has_role(role):
            return endpoint
    return "inbox.index"


def download_headers(filename: str) -> dict[str, str]:
    """Content-Disposition of a download named in Chinese: an ASCII fallback and the UTF-8 name (filename*)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"}


def text_arg(name: str, max_len: int) -> str | None:
    """A text query argument (a search, a filter): trimmed, cut to max_len, without NUL or other characters no
    record can hold (they can only have been pasted by mistake); None when empty."""
    return clean(request.args.get(name) or "").strip()[:max_len] or None
