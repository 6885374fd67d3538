"""API bearer tokens: issued for a password, stored as digests, listed and revoked by their owner."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import ApiToken, User
from services import audit
from services.context import Actor
from services.errors import NotFound, Unauthorized
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tx import commit, transaction

register_problems({
    "token_invalid": N_("invalid token"),
    "token_expired": N_("invalid or expired token"),
    "account_disabled": N_("account disabled"),
    "token_not_found": N_("token not found"),
})

TOUCH_EVERY = timedelta(minutes=5)  # last_used_at is refreshed at most this often (one write, not one per call)
LISTED_AFTER_EXPIRY = timedelta(days=7)  # expired and revoked tokens stay listed this long


def digest(raw: str) -> str:
    """The SHA-256 hex digest a token is stored as."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(actor: Actor, ttl_hours: int, now: datetime, *, name: str | None = None) -> tuple[str, ApiToken]:
    """A new bearer token for the actor (in the caller's transaction); only its digest is stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, token_hash=digest(raw), name=(name or None), created_ip=actor.ip,
                     created_at=now, expires_at=now + timedelta(hours=ttl_hours))
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.issue", "api_token", token.id, after={"expires_at": token.expires_at,
                                                                      "name": token.name}, at=now)
    return raw, token


def token_for(raw: str, now: datetime, ip: str | None = None) -> ApiToken:
    """The live token a bearer string stands for; Unauthorized when unknown, expired, revoked or its user disabled.

    A token that exists but is refused is audited (someone still holds a revoked or expired token); unknown
    strings are not, so guessing cannot flood the trail.
    """
    if not raw or len(raw) > 200:
        raise Unauthorized(problem("token_invalid"))
    user = joinedload(ApiToken.user)  # token, user, roles and groups in one statement
    token = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(raw))
                               .options(user.joinedload(User.roles), user.joinedload(User.groups))).unique().first()
    if token is None:
        raise Unauthorized(problem("token_expired"))
    refused = "revoked" if token.revoked_at is not None else "expired" if token.expires_at <= now else \
        "account_disabled" if not token.user.active else None
    if refused:
        with transaction():
            audit.record(Actor(None, ip), "auth.token.rejected", "api_token", token.id,
                         after={"reason": refused, "user": token.user.username}, at=now)
        raise Unauthorized(problem("account_disabled" if refused == "account_disabled" else "token_expired"))
    if token.last_used_at is None or token.last_used_at <= now - TOUCH_EVERY:
        _touch(token, now)
    return token


def _touch(token: ApiToken, now: datetime) -> None:
    """Note the token's use; a busy database only delays the note to a later call."""
    try:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                           .execution_options(synchronize_session=False))
        commit(keep_loaded=True)  # the token and its user stay loaded for the request
        set_committed_value(token, "last_used_at", now)
    except OperationalError:
        db.session.rollback()


def status(token: ApiToken, now: datetime) -> str:
    """active, revoked or expired."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def list_for(user: User, now: datetime) -> list[ApiToken]:
    """The user's tokens, newest first: the live ones and those that ended within the last days."""
    cutoff = now - LISTED_AFTER_EXPIRY
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at > cutoff,
                               (ApiToken.revoked_at.is_(None)) | (ApiToken.revoked_at > cutoff))
        .order_by(ApiToken.id.desc())))


def revoke(actor: Actor, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the actor's own tokens (again is harmless); NotFound for anyone else's."""
    with transaction():
        token = db.session.get(ApiToken, token_id) if isinstance(token_id, int) else None
        if token is None or token.user_id != actor.id:
            raise NotFound(problem("token_not_found"))
        if token.revoked_at is None:
            token.revoked_at = now
            audit.record(actor, "token.revoke", "api_token", token.id, after={"name": token.name}, at=now)
    return token


def revoke_all(user: User, now: datetime) -> int:
    """Revoke every live token of a user (in the caller's transaction); how many."""
    live = list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_at.is_(None),
                                                          ApiToken.expires_at > now)))
    for token in live:
        token.revoked_at = now
    return len(live)
