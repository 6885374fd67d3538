"""A work group's members, added and taken out one by one (administrators), and whom the forms offer."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as f
from marshmallow import validate
from sqlalchemy import select

from app.extensions import db
from app.models import User, WorkGroup, group_members
from services import audit
from services.context import Actor
from services.errors import NotFound
from services.problems import CodedSchema, Problem, problem
from services.setup.common import _admin, _changeable, _load, _of, _refuse
from services.tx import transaction


class MemberInput(CodedSchema):
    """A member to add to a work group."""

    username = f.String(required=True, validate=validate.Length(min=1, max=64))


def _member(username: str, fields: dict, field: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        fields.setdefault(field, []).append(problem("user_unknown"))
    return user


def _group_to_change(actor: Actor, group_id: int) -> WorkGroup:
    _admin(actor)
    group = _of(WorkGroup, group_id, "group_not_found")
    _changeable(group.project)
    return group


def add_member(actor: Actor, group_id: int, data: Any, *, now: datetime) -> WorkGroup:
    """Add a member (by username) to a work group: they then work on its project."""
    with transaction():
        group = _group_to_change(actor, group_id)
        fields: dict[str, list[Problem]] = {}
        user = _member(_load(MemberInput, data)["username"], fields, "username")
        if user is not None and user in group.members:
            fields["username"] = [problem("member_already")]
        _refuse(fields)
        group.members.append(user)
        db.session.flush()
        audit.record(actor, "work_group.member.add", "work_group", group.id, at=now,
                     after={"name": group.name, "members": [user.username]})
    return group


def remove_member(actor: Actor, group_id: int, user_id: int, *, now: datetime) -> WorkGroup:
    """Take a member out of a work group (the leader stays leader until another is set)."""
    with transaction():
        group = _group_to_change(actor, group_id)
        user = next((m for m in group.members if m.id == user_id), None)
        if user is None:
            raise NotFound(problem("member_not_found"))
        group.members.remove(user)
        db.session.flush()
        audit.record(actor, "work_group.member.remove", "work_group", group.id, at=now,
                     before={"name": group.name, "members": [user.username]}, after={"name": group.name})
    return group


def candidates(role: str | None = None) -> list[User]:
    """Active users (holding the role, when given), by display name: whom the forms offer."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name, User.username)
    users = list(db.session.scalars(stmt))
    return [u for u in users if role is None or u.has_role(role)]


def member_ids(group_ids: list[int]) -> dict[int, list[int]]:
    """The member ids of several groups in one query."""
    result: dict[int, list[int]] = {g: [] for g in group_ids}
    rows = db.session.execute(select(group_members.c.group_id, group_members.c.user_id)
                              .where(group_members.c.group_id.in_(group_ids or [-1]))).all()
    for group_id, user_id in rows:
        result[group_id].append(user_id)
    return result
