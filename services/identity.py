"""Users and passwords: creating users, signing in under the throttle, changing a password."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import ApiToken, Role, User
from services import audit, passwords, throttle, tokens
from services.context import Actor
from services.errors import Forbidden, InvalidInput, TooManyRequests, Unauthorized
from services.problems import N_, problem
from services.problems import register as register_problems
from services.roles import ROLES
from services.tx import transaction

register_problems({
    "role_unknown": N_("unknown role: %(role)s"),
    "user_invalid": N_("the user cannot be created"),
    "signin_locked": N_("too many failed sign-ins; try again in %(minutes)s minutes"),
    "signin_wrong": N_("wrong username or password"),
    "current_password_wrong": N_("the current password is wrong"),
    "password_wrong": N_("wrong password"),
    "password_same": N_("must differ from the current password"),
    "password_policy": N_("the new password does not meet the policy"),
    "password_change_required": N_("the password must be changed first: sign in on the page and change it"),
})

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
    """A new user with the given roles (the roles must exist); the password must meet the policy."""
    fields: dict[str, list[str]] = {}
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        fields["roles"] = [problem("role_unknown", role=r) for r in unknown]
    weak = passwords.problems(password, username)
    if weak:
        fields["password"] = weak
    if fields:
        raise InvalidInput(problem("user_invalid"), fields)
    user = User(username=username, display_name=display_name, password_hash=hash_password(password),
                email=email)
    user.roles = list(db.session.scalars(select(Role).where(Role.code.in_(roles))))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None (no throttle: sign_in adds it)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def _locked_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return problem("signin_locked", minutes=minutes)


def sign_in(username: Any, password: Any, *, ip: str | None, limits: throttle.Limits, now: datetime,
            channel: str = "auth.login") -> User:
    """The user behind valid credentials, unless the username or the address is locked out.

    Every attempt is audited as `<channel>` (success, pages only), `<channel>.failed` or `<channel>.locked`;
    a failure counts towards the lockout. Raises TooManyRequests while locked, Unauthorized when wrong.
    """
    name = username if isinstance(username, str) else ""
    anonymous = Actor(None, ip)
    seconds = throttle.locked_for(name, ip, limits, now) if name else 0
    if seconds:
        with transaction():
            audit.record(anonymous, f"{channel}.locked", "user", None, after={"username": name[:64]}, at=now)
        raise TooManyRequests(_locked_message(seconds), retry_after=seconds)
    user = authenticate(name, password) if name and isinstance(password, str) else None
    with transaction():
        if user is None:
            if name:
                throttle.record_failure(name, ip, now)
            audit.record(anonymous, f"{channel}.failed", "user", None, after={"username": str(username)[:64]}, at=now)
        else:
            throttle.clear(name)
            if channel == "auth.login":
                user.last_login_at = now
                audit.record(Actor(user, ip), channel, "user", user.id, after={"username": name[:64]}, at=now)
    if user is None:
        raise Unauthorized(problem("signin_wrong"))
    return user


def exchange_password_for_token(username: Any, password: Any, *, ip: str | None, ttl_hours: int,
                                limits: throttle.Limits, now: datetime,
                                name: str | None = None) -> tuple[str, ApiToken]:
    """Trade valid credentials for a bearer token, under the same throttle as the sign-in page."""
    user = sign_in(username, password, ip=ip, limits=limits, now=now, channel="auth.token")
    if user.must_change_password:  # a temporary password set by an administrator opens only the password page
        with transaction():
            audit.record(Actor(user, ip), "auth.token.password_change", "user", user.id,
                         after={"username": user.username}, at=now)
        raise Forbidden(problem("password_change_required"), code="password_change_required")
    with transaction():
        user.last_login_at = now
        return tokens.issue(Actor(user, ip), ttl_hours, now, name=name)


def record_logout(actor: Actor, now: datetime, reason: str | None = None) -> None:
    """Audit a page logout: by the user, or by the session's idle or absolute timeout (reason)."""
    with transaction():
        audit.record(actor, "auth.logout", "user", actor.id, after={"reason": reason} if reason else None, at=now)


def change_password(actor: Actor, current: Any, new: Any, *, limits: throttle.Limits, now: datetime) -> int:
    """Set a new password after checking the current one; every API token of the user is revoked (how many).

    A wrong current password counts as a failed sign-in; the new one must meet the policy and differ.
    """
    user = actor.user
    seconds = throttle.locked_for(user.username, actor.ip, limits, now)
    if seconds:
        raise TooManyRequests(_locked_message(seconds), retry_after=seconds)
    if not isinstance(current, str) or not check_password_hash(user.password_hash, current):
        with transaction():
            throttle.record_failure(user.username, actor.ip, now)
            audit.record(actor, "auth.password.failed", "user", user.id, at=now)
        raise InvalidInput(problem("current_password_wrong"), {"current_password": [problem("password_wrong")]})
    problems = passwords.problems(new, user.username)
    if not problems and new == current:
        problems = [problem("password_same")]
    if problems:
        raise InvalidInput(problem("password_policy"), {"new_password": problems})
    with transaction():
        user.password_hash = hash_password(new)
        user.must_change_password = False
        revoked = tokens.revoke_all(user, now)
        audit.record(actor, "auth.password.change", "user", user.id, after={"tokens_revoked": revoked}, at=now)
    return revoked
