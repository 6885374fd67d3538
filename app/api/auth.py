"""Bearer-token authentication of API requests."""
from __future__ import annotations

from flask import g, request

from app.api import bp
from app.api.helpers import is_clean_text
from app.models import User, utcnow
from services.context import Actor
from services.errors import NotFound, Unauthorized
from services.identity import user_for_token

PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi"}


@bp.before_request
def authenticate() -> None:
    """Every API endpoint but the token exchange and the document needs a valid bearer token."""
    g.api_user = None
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    g.api_user = user_for_token(token.strip(), utcnow())


@bp.before_request
def refuse_unstorable_path() -> None:
    """A path segment that no database can hold names nothing."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and not is_clean_text(value):
            raise NotFound("not found")


def api_user() -> User:
    """The authenticated caller."""
    return g.api_user


def actor() -> Actor:
    """The caller as the services see it."""
    return Actor(user=g.api_user, ip=request.remote_addr)
