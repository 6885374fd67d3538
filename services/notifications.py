"""Notifications: receivers of the pipeline's signals write them; users read them in-app."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale, gettext
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import Household, HumanTask, Notification, ProcessInstance, User
from services import signals
from services.access import addressable_with_role
from services.context import Actor, office
from services.errors import NotFound
from services.forms import get_form
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tx import is_sqlite, transaction

register_problems({
    "notification_not_found": N_("notification not found"),
})


def render(kind: str, params: dict[str, Any] | None) -> str:
    """The text of a notification in the current language."""
    p = params or {}
    if kind == "returned":
        return gettext("%(household)s: step “%(step)s” was returned by %(actor)s (from %(source)s): %(reason)s",
                       **{k: p.get(k, "") for k in ("household", "step", "actor", "source", "reason")})
    if kind == "sign":
        return gettext("%(household)s: the agreement is ready for your signature (%(step)s)",
                       household=p.get("household", ""), step=p.get("step", ""))
    if kind == "audit":
        return gettext("%(household)s: “%(step)s” waits for your review", household=p.get("household", ""),
                       step=p.get("step", ""))
    if kind == "reminder":
        return gettext("%(household)s: “%(step)s” falls due at %(due)s", household=p.get("household", ""),
                       step=p.get("step", ""), due=_local(p.get("due")))
    if kind == "overdue":
        return gettext("%(household)s: “%(step)s” is overdue since %(due)s", household=p.get("household", ""),
                       step=p.get("step", ""), due=_local(p.get("due")))
    if kind == "escalated":
        return gettext("Escalated: %(household)s, “%(step)s” is still overdue since %(due)s",
                       household=p.get("household", ""), step=p.get("step", ""), due=_local(p.get("due")))
    if kind == "assigned":
        return gettext("%(household)s: “%(step)s” was assigned to you by %(actor)s",
                       household=p.get("household", ""), step=p.get("step", ""), actor=p.get("actor", ""))
    if kind == "finding":
        return _finding_text(p)
    return p.get("text", kind)


def _finding_text(p: dict[str, Any]) -> str:
    """An internal-audit finding's notice (services/finding_notices.py): household, step, rectify-by date."""
    values = {k: p.get(k, "") for k in ("household", "step", "due")}
    event = p.get("event")
    if event == "reopened":
        return gettext("%(household)s: the rectification of “%(step)s” was not accepted (%(reason)s); rectify it "
                       "again by %(due)s", reason=p.get("reason", ""), **values)
    if event == "rectified":
        return gettext("%(household)s: the internal audit finding on “%(step)s” was rectified and waits for your "
                       "review (rectify by %(due)s)", **values)
    if event == "overdue":
        return gettext("%(household)s: the internal audit finding on “%(step)s” is not rectified; it was due by "
                       "%(due)s", **values)
    return gettext("%(household)s: internal audit finding on “%(step)s”; rectify it by %(due)s", **values)


def finding_of(row: Notification) -> int | None:
    """The finding a notice is about (to open it from the notice), or None."""
    value = (row.params or {}).get("finding") if row.kind == "finding" else None
    return value if isinstance(value, int) else None


def _local(stamp: str | None) -> str:
    """A stored UTC stamp in the display time zone (Asia/Shanghai unless configured otherwise)."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp.rstrip("Z")).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(office().timezone)).strftime("%Y-%m-%d %H:%M")


def notify(user_ids: set[int], kind: str, params: dict[str, Any], *, now: datetime,
           task_id: int | None = None, instance_id: int | None = None,
           addressable: dict[int, bool] | None = None) -> int:
    """Write one notification for each user; returns how many were written.

    addressable tells, for users already looked up, whether they have an e-mail address.
    """
    return insert_unique([{"user_id": uid, "kind": kind, "params": params, "task_id": task_id,
                           "instance_id": instance_id, "created_at": now, "dedupe_key": None}
                          for uid in sorted(user_ids)], addressable=addressable)


def insert_unique(rows: list[dict[str, Any]], *, addressable: dict[int, bool] | None = None) -> int:
    """Insert notifications in one statement; a row whose dedupe_key exists already is skipped.

    Each row gets its message in the default language and an e-mail copy pending
    when its recipient has an address (looked up for those addressable does not cover).
    """
    if not rows:
        return 0
    known = addressable or {}
    emails = {uid for uid, has in known.items() if has}
    unknown = {r["user_id"] for r in rows} - set(known)
    if unknown:
        emails |= set(db.session.scalars(select(User.id).where(
            User.id.in_(unknown), User.email.is_not(None), User.email != "")))
    texts: dict[tuple[str, int], str] = {}  # the recipients of one notice share its params: render it once
    with force_locale("zh"):
        for row in rows:
            key = (row["kind"], id(row["params"]))
            if key not in texts:
                texts[key] = render(row["kind"], row["params"])
            row["message"] = texts[key]
            row["email_status"] = "pending" if row["user_id"] in emails else None
    if not is_sqlite():
        return _insert_postgresql(rows)
    # RETURNING counts the rows written (a known dedupe_key writes none)
    table = Notification.__table__
    statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    return len(db.session.execute(statement, rows).all())


_COLUMNS = ("user_id", "kind", "message", "params", "task_id", "instance_id", "dedupe_key", "created_at",
            "email_status")
# all rows as one JSON parameter: a statement of fixed text that PostgreSQL plans once, however many rows
# (thousands of bound values would make a long statement text for the driver to build and parse each time)
_INSERT_POSTGRESQL = text(
    "INSERT INTO notifications (user_id, kind, message, params, task_id, instance_id, dedupe_key, created_at, "
    "email_status) SELECT user_id, kind, message, params, task_id, instance_id, dedupe_key, created_at, "
    "email_status "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(user_id integer, kind varchar, message text, "
    "params jsonb, task_id integer, instance_id integer, dedupe_key varchar, created_at timestamp, "
    "email_status varchar) ON CONFLICT (dedupe_key) DO NOTHING")


def _insert_postgresql(rows: list[dict[str, Any]]) -> int:
    """The rows in one INSERT … SELECT over a JSON array; how many were written."""
    payload = [{**{k: row.get(k) for k in _COLUMNS}, "created_at": row["created_at"].isoformat()} for row in rows]
    result = db.session.execute(_INSERT_POSTGRESQL, {"rows": json.dumps(payload, ensure_ascii=False)})
    return result.rowcount


def _on_returned(row: HumanTask, *, actor: Actor, reason: str | None, returned_from: str | None,
                 now: datetime, **_: Any) -> None:
    household = db.session.get(Household, row.household_id)
    members = addressable_with_role(row.role, row.project_id, row)
    recipients = set(members)
    if row.assignee_id:
        recipients.add(row.assignee_id)
    if actor.id is not None:
        recipients.discard(actor.id)
    notify(recipients, "returned",
           {"household": household.code, "step": row.name, "actor": actor.user.display_name if actor.user else "",
            "source": returned_from or "", "reason": reason or ""},
           now=now, task_id=row.id, instance_id=row.instance_id, addressable=members)


def _on_agreement_ready(instance: ProcessInstance, *, tasks: list[HumanTask], now: datetime, **_: Any) -> None:
    household = db.session.get(Household, instance.household_id)
    for row in tasks:
        members = addressable_with_role(row.role, row.project_id, row)
        notify(set(members), "sign", {"household": household.code, "step": row.name}, now=now,
               task_id=row.id, instance_id=instance.id, addressable=members)


def _on_created(row: HumanTask, *, now: datetime, returned: bool = False, **_: Any) -> None:
    """Audits to do reach the auditors (signatures have their own notice, returns theirs)."""
    form = get_form(row.form_key)
    if returned or form is None or not form.reviewing or row.form_key == "sign":
        return
    household = db.session.get(Household, row.household_id)
    members = addressable_with_role(row.role, row.project_id, row)
    notify(set(members), "audit", {"household": household.code, "step": row.name}, now=now, task_id=row.id,
           instance_id=row.instance_id, addressable=members)


def connect_receivers() -> None:
    """Connect the notification receivers to the pipeline's signals (called by the app factory)."""
    signals.task_returned.connect(_on_returned)
    signals.agreement_ready.connect(_on_agreement_ready)
    signals.task_created.connect(_on_created)


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
            raise NotFound(problem("notification_not_found"))
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
