"""Notifications: receivers of the pipeline's signals write them; users read them in-app."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Household, HumanTask, Notification, ProcessInstance
from services import signals
from services.access import users_with_role
from services.context import Actor
from services.errors import NotFound
from services.tx import transaction


def render(kind: str, params: dict[str, Any] | None) -> str:
    """The text of a notification in the current language."""
    p = params or {}
    if kind == "returned":
        return gettext("%(household)s: step “%(step)s” was returned by %(actor)s (from %(source)s): %(reason)s",
                       **{k: p.get(k, "") for k in ("household", "step", "actor", "source", "reason")})
    if kind == "sign":
        return gettext("%(household)s: the agreement is ready for your signature (%(step)s)",
                       household=p.get("household", ""), step=p.get("step", ""))
    return p.get("text", kind)


def notify(user_ids: set[int], kind: str, params: dict[str, Any], *, now: datetime,
           task_id: int | None = None, instance_id: int | None = None) -> int:
    """Write one notification for each user; returns how many were written."""
    with force_locale("zh"):
        message = render(kind, params)
    for user_id in sorted(user_ids):
        db.session.add(Notification(user_id=user_id, kind=kind, message=message, params=params,
                                    task_id=task_id, instance_id=instance_id, created_at=now))
    return len(user_ids)


def _on_returned(row: HumanTask, *, actor: Actor, reason: str | None, returned_from: str | None,
                 now: datetime, **_: Any) -> None:
    household = db.session.get(Household, row.household_id)
    recipients = {u.id for u in users_with_role(row.role, row.project_id)}
    if row.assignee_id:
        recipients.add(row.assignee_id)
    if actor.id is not None:
        recipients.discard(actor.id)
    notify(recipients, "returned",
           {"household": household.code, "step": row.name, "actor": actor.user.display_name if actor.user else "",
            "source": returned_from or "", "reason": reason or ""},
           now=now, task_id=row.id, instance_id=row.instance_id)


def _on_agreement_ready(instance: ProcessInstance, *, tasks: list[HumanTask], now: datetime, **_: Any) -> None:
    household = db.session.get(Household, instance.household_id)
    for row in tasks:
        recipients = {u.id for u in users_with_role(row.role, row.project_id)}
        notify(recipients, "sign", {"household": household.code, "step": row.name}, now=now,
               task_id=row.id, instance_id=instance.id)


def connect_receivers() -> None:
    """Connect the notification receivers to the pipeline's signals (called by the app factory)."""
    signals.task_returned.connect(_on_returned)
    signals.agreement_ready.connect(_on_agreement_ready)


def for_user(user_id: int, *, unread: bool | None = None, limit: int = 100) -> list[Notification]:
    """The user's notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    return list(db.session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .limit(limit)))


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread."""
    return db.session.scalar(select(func.count()).where(Notification.user_id == user_id,
                                                         Notification.read_at.is_(None))) or 0


def mark_read(actor: Actor, notification_id: int, now: datetime) -> Notification:
    """Mark one of the actor's notifications read; NotFound for anyone else's."""
    with transaction():
        row = db.session.get(Notification, notification_id)
        if row is None or row.user_id != actor.id:
            raise NotFound("notification not found")
        if row.read_at is None:
            row.read_at = now
    return row


def mark_all_read(actor: Actor, now: datetime) -> int:
    """Mark every unread notification of the actor read."""
    with transaction():
        result = db.session.execute(update(Notification)
                                    .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
                                    .values(read_at=now))
    return result.rowcount or 0
