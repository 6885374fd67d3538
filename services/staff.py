"""Staff administration: the members of staff, their roles and work groups, disabling and re-enabling them
(never deleting: the trail names them), temporary passwords the user must change, and the first administrator.

Every change is the administrator's (`admin`), or the system's from the command line, and is audited as
`staff.<what>` on the user; an administrator cannot disable themself nor leave the office without an active
administrator.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import MAX_ID, Role, User, WorkGroup
from services import audit, fingerprint, passwords, tokens
from services.access import require_role
from services.context import Actor
from services.errors import Conflict, InvalidInput, NotFound
from services.forms.registry import flatten_messages
from services.identity import ensure_roles, hash_password
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems
from services.roles import ROLES
from services.text import first_unwritable
from services.tx import take_write_lock, transaction

register_problems({
    "staff_not_found": N_("member of staff not found"),
    "staff_invalid": N_("the member of staff cannot be saved"),
    "username_taken": N_("this username is already taken"),
    "username_format": N_("letters, digits, '.', '-' and '_' only, starting with a letter or digit"),
    "group_unknown": N_("unknown work group"),
    "staff_self_disable": N_("you cannot disable your own account"),
    "staff_self_reset": N_("change your own password on the password page"),
    "staff_last_admin": N_("the office must keep at least one active administrator"),
    "staff_not_empty": N_("the database already has users; the first administrator can only be created on an "
                          "empty database"),
})

ADMIN = "admin"
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_LOCK_KEY = 7_242_027  # the advisory lock that orders changes to who is an active administrator


def _text_ok(value: str) -> None:
    if first_unwritable(value) is not None:
        raise ValidationError(problem("unwritable_text", char=first_unwritable(value)))


class StaffFields(CodedSchema):
    """What an administrator edits of a member of staff."""

    display_name = fields.String(required=True, validate=[validate.Length(min=1, max=100), _text_ok],
                                 metadata={"description": "the person's name as the office writes it"})
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=255))
    roles = fields.List(fields.String(validate=validate.OneOf(list(ROLES))), load_default=list,
                        validate=validate.Length(max=len(ROLES)), metadata={"description": "role codes"})
    group_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_ID)), load_default=list,
                            validate=validate.Length(max=200), metadata={"description": "work groups"})


class StaffCreate(StaffFields):
    """A new member of staff with a temporary password (changed at the first sign-in)."""

    username = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate.Regexp(
        USERNAME, error=problem("username_format"))])
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=passwords.MAX_LENGTH),
                             metadata={"description": "temporary password; the user must change it at sign-in"})


class StaffUpdate(StaffFields):
    """A change of a member of staff: only the fields sent are changed."""

    display_name = fields.String(validate=[validate.Length(min=1, max=100), _text_ok])
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    roles = fields.List(fields.String(validate=validate.OneOf(list(ROLES))),
                        validate=validate.Length(max=len(ROLES)))
    group_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
                            validate=validate.Length(max=200))
    fingerprint = fingerprint.field()


class PasswordReset(CodedSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=passwords.MAX_LENGTH),
                             metadata={"description": "temporary password; the user must change it at sign-in"})


@dataclass(frozen=True)
class StaffQuery:
    """The list's filters: a role code, a work group, active or disabled."""

    role: str | None = None
    group_id: int | None = None
    active: bool | None = None


def group_label(group: WorkGroup) -> str:
    """A work group as the office names it: 项目 · 工作组."""
    return f"{group.project.name} · {group.name}"


def require_admin(actor: Actor) -> None:
    if actor.user is not None:  # the system (the command line) may
        require_role(actor.user, ADMIN)


def _lock() -> None:
    """Serialise changes of the active administrators (PostgreSQL: an advisory lock; SQLite: its write lock)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        take_write_lock(connection)


def _load(schema: type[CodedSchema], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise InvalidInput(problem("staff_invalid"), flatten_messages(exc.messages)) from None


def _groups(ids: list[int]) -> list[WorkGroup]:
    wanted = list(dict.fromkeys(ids))
    found = {g.id: g for g in db.session.scalars(select(WorkGroup).where(WorkGroup.id.in_(wanted or [-1]))
                                                 .options(selectinload(WorkGroup.project)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(problem("staff_invalid"), {"group_ids": [problem("group_unknown")]})
    return [found[i] for i in wanted]


def _roles(codes: list[str]) -> list[Role]:
    ensure_roles()
    wanted = list(dict.fromkeys(codes))
    return list(db.session.scalars(select(Role).where(Role.code.in_(wanted or [""])).order_by(Role.code)))


def username_taken(username: str) -> bool:
    """True when a user has this username, whatever its case."""
    return db.session.scalar(select(func.count(User.id)).where(func.lower(User.username) == username.lower())) > 0


def _facts(user: User) -> dict[str, Any]:
    """What the trail keeps of a member of staff."""
    return {"username": user.username, "display_name": user.display_name, "email": user.email,
            "roles": sorted(user.role_codes), "groups": [group_label(g) for g in user.groups]}


def staff_fingerprint(user: User) -> str:
    """The fingerprint of what an administrator edits of a member of staff, as it is now (the edit form and the
    API's answer carry it)."""
    return fingerprint.of(_facts(user))


def list_staff(actor: Actor, query: StaffQuery | None = None) -> list[User]:
    """Every member of staff (disabled ones too) by username, filtered by role, work group and status."""
    require_admin(actor)
    query = query or StaffQuery()
    stmt = select(User).options(selectinload(User.roles), selectinload(User.groups).selectinload(WorkGroup.project))
    if query.role:
        stmt = stmt.where(User.roles.any(Role.code == query.role))
    if query.group_id:
        stmt = stmt.where(User.groups.any(WorkGroup.id == query.group_id))
    if query.active is not None:
        stmt = stmt.where(User.active.is_(query.active))
    return list(db.session.scalars(stmt.order_by(User.username)))


def get(actor: Actor, user_id: int) -> User:
    """One member of staff, or NotFound."""
    require_admin(actor)
    user = db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound(problem("staff_not_found"))
    return user


def by_username(actor: Actor, username: str) -> User:
    """One member of staff by username, or NotFound."""
    require_admin(actor)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(problem("staff_not_found"))
    return user


def all_groups() -> list[WorkGroup]:
    """Every work group with its project, by project and name (the choices of the forms and filters)."""
    return list(db.session.scalars(select(WorkGroup).options(selectinload(WorkGroup.project))
                                   .order_by(WorkGroup.project_id, WorkGroup.id)))


def _password_problems(password: Any, username: str) -> None:
    weak = passwords.problems(password, username)
    if weak:
        raise InvalidInput(problem("password_policy"), {"password": weak})


def add(actor: Actor, values: dict[str, Any], *, now: datetime, source: str | None = None,
        temporary: bool = True) -> User:
    """A new member of staff (values as StaffCreate loaded them), in the caller's transaction; audited. The
    password is temporary (changed at first sign-in) unless the caller says otherwise (the demo's known ones)."""
    if username_taken(values["username"]):
        raise InvalidInput(problem("staff_invalid"), {"username": [problem("username_taken")]})
    _password_problems(values["password"], values["username"])
    user = User(username=values["username"], display_name=values["display_name"].strip(), email=values.get("email"),
                password_hash=hash_password(values["password"]), must_change_password=temporary, created_at=now)
    user.roles = _roles(values.get("roles") or [])
    user.groups = _groups(values.get("group_ids") or [])
    db.session.add(user)
    db.session.flush()
    after = {**_facts(user), "must_change_password": temporary}
    if source:
        after["source"] = source
    audit.record(actor, "staff.create", "user", user.id, after=after, at=now)
    return user


def create(actor: Actor, data: Any, *, now: datetime) -> User:
    """Create a member of staff from a StaffCreate body; the password is temporary (changed at first sign-in)."""
    require_admin(actor)
    values = _load(StaffCreate, data)
    with transaction():
        return add(actor, values, now=now)


def update(actor: Actor, user_id: int, data: Any, *, now: datetime) -> User:
    """Change a member of staff's name, e-mail, roles and groups (only those sent); the change is audited as
    before → after. Removing the administrator role of the last active administrator is refused, and so is a
    change made on a fingerprint the member of staff no longer has (409 stale_edit)."""
    require_admin(actor)
    data, sent = fingerprint.take(data)
    values = _load(StaffUpdate, data)
    with transaction():
        _lock()
        user = get(actor, user_id)
        db.session.refresh(user)
        before = _facts(user)
        fingerprint.check(sent, before, "user", user.id, ("staff.create", "staff.update"))
        if "display_name" in values:
            user.display_name = values["display_name"].strip()
        if "email" in values:
            user.email = values["email"] or None
        if "group_ids" in values:
            user.groups = _groups(values["group_ids"])
        if "roles" in values:
            roles = _roles(values["roles"])
            if user.active and user.has_role(ADMIN) and ADMIN not in {r.code for r in roles}:
                _keep_an_admin(user)
            user.roles = roles
        db.session.flush()
        after = _facts(user)
        changed = [key for key in after if before[key] != after[key]]
        if changed:
            audit.record(actor, "staff.update", "user", user.id, before={k: before[k] for k in changed},
                         after={"username": user.username, **{k: after[k] for k in changed}}, at=now)
    return user


def _keep_an_admin(user: User) -> None:
    others = db.session.scalar(select(func.count(User.id)).where(
        User.id != user.id, User.active.is_(True), User.roles.any(Role.code == ADMIN)))
    if not others:
        raise Conflict(problem("staff_last_admin"), code="last_admin")


def set_active(actor: Actor, user_id: int, active: bool, *, now: datetime) -> User:
    """Disable or re-enable a member of staff. A disabled user cannot sign in and their API tokens are refused;
    nothing of theirs is deleted. Disabling oneself or the last active administrator is refused."""
    require_admin(actor)
    with transaction():
        _lock()
        user = get(actor, user_id)
        if user.active == active:
            return user
        if not active:
            if actor.id == user.id:
                raise Conflict(problem("staff_self_disable"), code="cannot_disable_self")
            if user.has_role(ADMIN):
                _keep_an_admin(user)
        user.active = active
        audit.record(actor, "staff.enable" if active else "staff.disable", "user", user.id,
                     after={"username": user.username}, at=now)
    return user


def reset_password(actor: Actor, user_id: int, data: Any, *, now: datetime) -> User:
    """Set a temporary password the user must change at their next sign-in; their API tokens are revoked and
    their sessions end (the session follows the password)."""
    require_admin(actor)
    values = _load(PasswordReset, data)
    with transaction():
        user = get(actor, user_id)
        if actor.id == user.id:
            raise Conflict(problem("staff_self_reset"), code="reset_own_password")
        _password_problems(values["password"], user.username)
        user.password_hash = hash_password(values["password"])
        user.must_change_password = True
        revoked = tokens.revoke_all(user, now)
        audit.record(actor, "staff.password_reset", "user", user.id,
                     after={"username": user.username, "tokens_revoked": revoked}, at=now)
    return user


def database_is_empty() -> bool:
    """True when no user exists at all."""
    return db.session.scalar(select(func.count(User.id))) == 0


def create_first_admin(username: str, display_name: str, password: str, *, now: datetime) -> User:
    """The first administrator, on a database without any user (the command line's create-admin)."""
    values = _load(StaffCreate, {"username": username, "display_name": display_name, "password": password,
                                 "roles": [ADMIN]})
    with transaction():
        _lock()
        if not database_is_empty():
            raise Conflict(problem("staff_not_empty"), code="not_empty")
        user = add(Actor.system(), values, now=now, source="first_admin")
        user.must_change_password = False  # they chose it themself, twice
    return user


ALPHABET = string.ascii_letters + string.digits
_SYMBOLS = "-_.!@#%"


def temporary_password(username: str, length: int = 14) -> str:
    """A random password that meets the policy (the import hands one to each new user)."""
    while True:
        chars = [secrets.choice(ALPHABET) for _ in range(length - 2)] + [secrets.choice(_SYMBOLS),
                                                                          secrets.choice(string.digits)]
        secrets.SystemRandom().shuffle(chars)
        candidate = "".join(chars)
        if not passwords.problems(candidate, username):
            return candidate
