"""Bearer-token authentication of API requests."""
from __future__ import annotations

from flask import g, request

from app.api import bp
from app.api.helpers import is_clean_text
from app.models import ApiToken, User, utcnow
from services import tokens
from services.context import Actor
from services.errors import NotFound, Unauthorized
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "bearer_missing": N_("send Authorization: Bearer <token>"),
})

PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi"}


@bp.before_request
def authenticate() -> None:
    """Every API endpoint but the token exchange and the document needs a valid bearer token."""
    g.api_user = g.api_token = None
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(problem("bearer_missing"))
    g.api_token = tokens.token_for(token.strip(), utcnow(), ip=request.remote_addr)
    g.api_user = g.api_token.user


@bp.before_request
def refuse_unstorable_path() -> None:
    """A path segment that no database can hold names nothing."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and not is_clean_text(value):
            raise NotFound(problem("not_found"))


def api_user() -> User:
    """The authenticated caller."""
    return g.api_user


def api_token() -> ApiToken:
    """The token the caller authenticated with."""
    return g.api_token


def actor() -> Actor:
    """The caller as the services see it."""
    return Actor(user=g.api_user, ip=request.remote_addr)
