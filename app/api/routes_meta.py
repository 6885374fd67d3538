"""API routes: tokens, the caller, projects, notifications and the OpenAPI document."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, jsonify, request

from app.api import bp
from app.api.auth import actor, api_token, api_user
from app.api.docs import build_spec, doc
from app.api.helpers import json_body, load, query_args, respond
from app.api.schemas import (
    MeSchema,
    NotificationArgs,
    NotificationList,
    NotificationSchema,
    ProjectList,
    TokenList,
    TokenRequest,
    TokenResponse,
    TokenRevoked,
    With,
)
from app.models import ApiToken, utcnow
from services import access, identity, notifications, throttle, tokens


@bp.post("/auth/token")
@doc("Exchange a username and password for a bearer token (429 with Retry-After while the username or the "
     "address is locked out after repeated failures)", body=TokenRequest, response=TokenResponse,
     public=True, errors=(401, 429), tag="auth")
def issue_token():
    values = load(TokenRequest, json_body())
    raw, token = identity.exchange_password_for_token(
        values["username"], values["password"], ip=request.remote_addr,
        ttl_hours=current_app.config["TOKEN_TTL_HOURS"], limits=throttle.Limits.from_config(current_app.config),
        now=utcnow(), name=values.get("name"))
    return respond(TokenResponse, {"token": raw, "expires_at": token.expires_at})


@bp.get("/auth/tokens")
@doc("The caller's API tokens: live ones, and those revoked or expired in the last seven days", response=TokenList,
     tag="auth")
def list_tokens():
    now = utcnow()
    rows = tokens.list_for(api_user(), now)
    return respond(TokenList, {"items": [_as_owner_sees(r, now) for r in rows]})


@bp.delete("/auth/tokens/<id:token_id>")
@doc("Revoke one of the caller's tokens; requests with it get 401 from then on", response=TokenRevoked,
     errors=(404,), tag="auth")
def revoke_token(token_id: int):
    now = utcnow()
    row = tokens.revoke(actor(), token_id, now)
    return respond(TokenRevoked, {"token": _as_owner_sees(row, now)})


def _as_owner_sees(row: ApiToken, now: datetime) -> With:
    """A token with its status and whether this request was sent with it (never the token itself)."""
    current = api_token()
    return With(row, status=tokens.status(row, now), current=current is not None and current.id == row.id)


@bp.get("/me")
@doc("The caller: roles and projects", response=MeSchema, tag="auth")
def me():
    user = api_user()
    return respond(MeSchema, {"username": user.username, "display_name": user.display_name,
                              "roles": sorted(user.role_codes), "project_ids": access.visible_project_ids(user)})


@bp.get("/projects")
@doc("The caller's projects", response=ProjectList, tag="projects")
def projects():
    rows = access.visible_projects(api_user())
    return respond(ProjectList, {"items": rows})


@bp.get("/notifications")
@doc("The caller's notifications, newest first", query=NotificationArgs, response=NotificationList,
     tag="notifications")
def list_notifications():
    args = query_args(NotificationArgs)
    rows = notifications.for_user(api_user().id, unread=args.get("unread"), limit=args["limit"])
    return respond(NotificationList, {"items": rows})


@bp.post("/notifications/<id:notification_id>/read")
@doc("Mark a notification read", response=NotificationSchema, errors=(404,), tag="notifications")
def read_notification(notification_id: int):
    row = notifications.mark_read(actor(), notification_id, utcnow())
    return respond(NotificationSchema, row)


@bp.get("/openapi.json")
@doc("This document", public=True, tag="meta")
def openapi():
    return jsonify(build_spec(current_app))
