"""Notices of internal-audit findings: the step's role hears of a finding opened or reopened, the reviewer who
opened it of its rectification, and both of it overdue (the worker, once per finding).

The role's people are those who reach the finding's household with that role, as for its open steps
(services/access.py): a group-bound role's holders of the household's work group, a project-wide role's of
its project, and the one person a signing step is bound to. Every notice has a unique key, so a retried
change or two workers at once write it once, and its e-mail copy goes out once (services/mailer.py).
"""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import String, and_, cast, exists, literal, select

from app.extensions import db
from app.models import AuditFinding, Household, Notification
from app.models.integrity import FINDING_OPEN_STATES
from services import notifications
from services.access import addressable_with_role
from services.context import Actor
from services.tx import take_write_lock, transaction

KIND = "finding"
EVENTS = ("opened", "reopened", "rectified", "overdue")


def holders(row: AuditFinding, household: Household) -> dict[int, bool]:
    """Active holders of the finding's role who reach its household (with whether each has an e-mail address)."""
    step = SimpleNamespace(work_group_id=household.work_group_id, bpmn_id=row.bpmn_id, household_id=household.id)
    return addressable_with_role(row.role, row.project_id, step)


def _params(row: AuditFinding, household_code: str, event: str, **more: Any) -> dict[str, Any]:
    """What the notice's text needs: household code, step name, rectify-by date (the finding's id only to link it)."""
    return {"event": event, "household": household_code, "step": row.step_name, "due": row.due_on.isoformat(),
            "finding": row.id, **more}


def _rows(row: AuditFinding, user_ids: set[int], params: dict[str, Any], key: str, now: datetime) -> list[dict]:
    return [{"user_id": uid, "kind": KIND, "params": params, "task_id": None, "instance_id": None,
             "dedupe_key": dedupe_key(row.id, key, uid), "created_at": now} for uid in sorted(user_ids)]


def dedupe_key(finding_id: int, key: str, user_id: int) -> str:
    """One notice per finding, event (with its time, or 'overdue' once per rectify-by date) and recipient."""
    return f"finding:{finding_id}:{key}:{user_id}"


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M%S%f")


def to_rectify(actor: Actor, row: AuditFinding, household: Household, now: datetime, *,
               reason: str | None = None) -> int:
    """The finding was opened or reopened: its role's people who reach the household are told (inside the
    change's transaction); returns how many notices were written."""
    event = "reopened" if row.state == "reopened" else "opened"
    members = holders(row, household)
    recipients = set(members) - {actor.id}
    params = _params(row, household.code, event, **({"reason": reason} if reason else {}))
    return notifications.insert_unique(_rows(row, recipients, params, f"{event}:{_stamp(now)}", now),
                                       addressable=members)


def rectified(actor: Actor, row: AuditFinding, household: Household, now: datetime) -> int:
    """The role rectified the finding: the reviewer who opened it is told (inside the change's transaction)."""
    if row.opened_by_id is None or row.opened_by_id == actor.id:
        return 0
    params = _params(row, household.code, "rectified")
    return notifications.insert_unique(_rows(row, {row.opened_by_id}, params, f"rectified:{_stamp(now)}", now))


def _overdue_marker():
    """SQL of the reviewer's overdue notice key of a finding: once written, the finding was announced."""
    return (literal("finding:") + cast(AuditFinding.id, String) + literal(":overdue:")
            + cast(AuditFinding.due_on, String) + literal(":") + cast(AuditFinding.opened_by_id, String))


def run_overdue(now: datetime, batch: int = 200) -> int:
    """Findings past their rectify-by date and still waiting for the role: the role's people and the reviewer
    who opened it get an overdue notice, once per rectify-by date (a reopened finding has a new one). Rows are
    claimed with FOR UPDATE SKIP LOCKED (on SQLite the write lock first), so several workers may run at once;
    returns how many notices were written."""
    written = 0
    pools: dict[tuple[str, int, int | None, str], dict[int, bool]] = {}
    while True:
        with transaction():
            take_write_lock()
            announced = exists().where(Notification.dedupe_key == _overdue_marker())
            found = db.session.execute(
                select(AuditFinding, Household)
                .join(Household, Household.id == AuditFinding.household_id)
                .where(AuditFinding.state.in_(FINDING_OPEN_STATES), AuditFinding.due_on < now.date(),
                       and_(AuditFinding.opened_by_id.is_not(None), ~announced))
                .order_by(AuditFinding.due_on, AuditFinding.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=AuditFinding)).all()
            notices: list[dict] = []
            for row, household in found:
                key = (row.role, row.project_id, household.work_group_id, row.bpmn_id)
                if key not in pools:
                    pools[key] = holders(row, household)
                recipients = set(pools[key]) | {row.opened_by_id}
                notices += _rows(row, recipients, _params(row, household.code, "overdue"),
                                 f"overdue:{row.due_on.isoformat()}", now)
            written += notifications.insert_unique(notices)
        if len(found) < batch:
            return written
