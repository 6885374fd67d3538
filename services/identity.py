"""Users, passwords and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import ApiToken, Role, User
from services import audit
from services.context import Actor
from services.errors import InvalidInput, Unauthorized
from services.roles import ROLES
from services.tx import transaction

# compared against when the user does not exist, so timing does not tell
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    """A salted hash of a password (werkzeug's scrypt)."""
    return generate_password_hash(password)


def ensure_roles() -> None:
    """Create the rows of DOMAIN.md's roles that are missing."""
    existing = set(db.session.scalars(select(Role.code)))
    for code, (zh, en) in ROLES.items():
        if code not in existing:
            db.session.add(Role(code=code, name_zh=zh, name_en=en))
    db.session.flush()


def create_user(username: str, password: str, display_name: str, roles: list[str],
                email: str | None = None) -> User:
    """A new user with the given roles (the roles must exist)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput("unknown roles", {"roles": [f"unknown role: {r}" for r in unknown]})
    user = User(username=username, display_name=display_name, password_hash=hash_password(password),
                email=email)
    user.roles = list(db.session.scalars(select(Role).where(Role.code.in_(roles))))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(actor: Actor, ttl_hours: int, now: datetime) -> tuple[str, ApiToken]:
    """A new bearer token for the actor; only its digest is stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, token_hash=_digest(raw), created_at=now,
                     expires_at=now + timedelta(hours=ttl_hours))
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.issue", "api_token", token.id, after={"expires_at": token.expires_at})
    return raw, token


def user_for_token(raw: str, now: datetime) -> User:
    """The user a bearer token belongs to; Unauthorized when unknown, expired or revoked."""
    if not raw or len(raw) > 200:
        raise Unauthorized("invalid token")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthorized("invalid or expired token")
    if not token.user.active:
        raise Unauthorized("account disabled")
    return token.user


def exchange_password_for_token(username: Any, password: Any, *, ip: str | None, ttl_hours: int,
                                now: datetime) -> tuple[str, ApiToken]:
    """Trade valid credentials for a bearer token; every attempt is audited."""
    user = authenticate(username, password) if isinstance(username, str) and isinstance(password, str) else None
    with transaction():
        if user is None:
            audit.record(Actor(None, ip), "auth.token.failed", "user", None,
                         after={"username": str(username)[:64]}, at=now)
        else:
            raw, token = issue_token(Actor(user, ip), ttl_hours, now)
    if user is None:
        raise Unauthorized("wrong username or password")
    return raw, token


def record_login(actor: Actor, *, success: bool, username: str, now: datetime) -> None:
    """Audit a page login, successful or not."""
    with transaction():
        audit.record(actor, "auth.login" if success else "auth.login.failed", "user", actor.id,
                     after={"username": username[:64]}, at=now)


def record_logout(actor: Actor, now: datetime) -> None:
    """Audit a page logout."""
    with transaction():
        audit.record(actor, "auth.logout", "user", actor.id, at=now)
