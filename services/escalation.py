"""Deadline escalation: a reminder before the due time, an overdue notice at it, the supervisor later.

Rows are claimed with FOR UPDATE SKIP LOCKED (on SQLite the write lock is
taken first), so any number of workers can run at once; each notice has a
unique key (task, due time, level, recipient) and is inserted with ON CONFLICT DO
NOTHING, so it is written exactly once whatever happens. A batch is read as
plain rows and written back with one UPDATE sent for all of them: a catch-up
pass over thousands of overdue steps stays in seconds.

The due time is part of the key: when a supervisor changes a deadline the step escalates afresh, and the
notices of its new deadline are new notices. The lock order is the one of every change to a case: the
instance first, then its steps — a step is claimed together with its instance (both SKIP LOCKED), so a
completion holding the instance is passed over, never waited for.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import bindparam, select, text, update

from app.extensions import db
from app.models import Household, HumanTask, ProcessInstance, Role, User, WorkGroup
from services import notifications, signals
from services.access import user_ids_with_role
from services.roles import scope_of
from services.tx import is_sqlite, take_write_lock, transaction

REMINDER, OVERDUE, SUPERVISOR = 1, 2, 3


@dataclass(frozen=True)
class EscalationTimes:
    """How long before the due time the reminder goes, and how long after it the supervisor hears."""

    reminder_lead: timedelta = timedelta(hours=24)
    supervisor_after: timedelta = timedelta(hours=24)


@dataclass
class _Recipients:
    """Per-pass caches of who receives what, so a large pass issues few queries."""

    pools: dict[tuple[str, int, int | None], set[int]] = field(default_factory=dict)
    leaders: dict[tuple[int, int | None], set[int]] = field(default_factory=dict)
    supervisors: set[int] | None = None

    def pool(self, role: str, project_id: int, group_id: int | None) -> set[int]:
        """The holders of the role who reach the household (its work group's for a group-bound role)."""
        key = (role, project_id, group_id if scope_of(role) == "group" else None)
        if key not in self.pools:
            step = SimpleNamespace(work_group_id=group_id, bpmn_id="", household_id=None)
            self.pools[key] = user_ids_with_role(role, project_id, step if key[2] is not None else None)
        return self.pools[key]

    def group_leaders(self, project_id: int, group_id: int | None) -> set[int]:
        key = (project_id, group_id)
        if key not in self.leaders:
            query = select(WorkGroup.leader_id).where(WorkGroup.leader_id.is_not(None))
            query = query.where(WorkGroup.id == group_id) if group_id else query.where(
                WorkGroup.project_id == project_id)
            self.leaders[key] = set(db.session.scalars(query))
        return self.leaders[key]

    def supervisor_ids(self) -> set[int]:
        if self.supervisors is None:
            self.supervisors = set(db.session.scalars(
                select(User.id).where(User.active.is_(True), User.roles.any(Role.code == "supervisor"))))
        return self.supervisors


@dataclass
class Step:
    """What escalation reads of an open step and its household, and the two columns it moves on."""

    id: int
    instance_id: int
    project_id: int
    role: str
    name: str
    assignee_id: int | None
    created_at: datetime
    due_at: datetime | None
    escalation_level: int
    household_code: str
    work_group_id: int | None
    next_escalation_at: datetime | None = None


_STEP_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.project_id, HumanTask.role, HumanTask.name,
                 HumanTask.assignee_id, HumanTask.created_at, HumanTask.due_at, HumanTask.escalation_level,
                 Household.code, Household.work_group_id)


def _reminder_at(row: Step, times: EscalationTimes) -> datetime:
    lead = min(times.reminder_lead, (row.due_at - row.created_at) / 2)
    return row.due_at - lead


def _advance(row: Step, now: datetime, times: EscalationTimes, who: _Recipients) -> list[dict]:
    """Move one step's escalation as far as now allows; return the notices to write."""
    notices: list[dict] = []
    if row.due_at is None:
        row.next_escalation_at = None
        return notices
    holders = {row.assignee_id} if row.assignee_id else who.pool(row.role, row.project_id, row.work_group_id)
    params = {"household": row.household_code, "step": row.name,
              "due": row.due_at.replace(microsecond=0).isoformat() + "Z"}
    if row.escalation_level == 0:
        reminder_at = _reminder_at(row, times)
        if now < reminder_at:
            row.next_escalation_at = reminder_at
            return notices
        if now < row.due_at:
            notices += _notices(row, REMINDER, "reminder", holders, params, now)
        row.escalation_level = REMINDER  # an overdue step skips the reminder it no longer needs
    if row.escalation_level == REMINDER:
        if now < row.due_at:
            row.next_escalation_at = row.due_at
            return notices
        leaders = who.group_leaders(row.project_id, row.work_group_id)
        notices += _notices(row, OVERDUE, "overdue", holders | leaders, params, now)
        row.escalation_level = OVERDUE
    if row.escalation_level == OVERDUE:
        supervisor_at = row.due_at + times.supervisor_after
        if now < supervisor_at:
            row.next_escalation_at = supervisor_at
            return notices
        notices += _notices(row, SUPERVISOR, "escalated", who.supervisor_ids(), params, now)
        row.escalation_level = SUPERVISOR
    row.next_escalation_at = None
    return notices


def _notices(row: Step, level: int, kind: str, user_ids: Iterable[int], params: dict,
             now: datetime) -> list[dict]:
    signals.task_escalated.send(row, level=level, now=now)
    return [{"user_id": uid, "kind": kind, "params": params, "task_id": row.id, "instance_id": row.instance_id,
             "dedupe_key": dedupe_key(row.id, row.due_at, level, uid), "created_at": now}
            for uid in sorted(user_ids)]


def dedupe_key(task_id: int, due_at: datetime, level: int, user_id: int) -> str:
    """One notice per step, deadline, level and recipient: a changed deadline announces afresh."""
    return f"esc:{task_id}:{due_at.strftime('%Y%m%d%H%M%S%f')}:{level}:{user_id}"


def run(now: datetime, times: EscalationTimes = EscalationTimes(), batch: int = 500) -> int:
    """Escalate every open step whose next escalation is due; returns how many notices were written."""
    written = 0
    who = _Recipients()
    while True:
        with transaction():
            take_write_lock()
            rows = [Step(*values) for values in db.session.execute(
                select(*_STEP_COLUMNS)
                .join(Household, Household.id == HumanTask.household_id)
                .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                .where(HumanTask.status == "ready", HumanTask.next_escalation_at <= now)
                .order_by(HumanTask.next_escalation_at, HumanTask.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=(ProcessInstance, HumanTask))
            )]
            notices: list[dict] = []
            for row in rows:
                notices += _advance(row, now, times, who)
            _write_back(rows)
            written += notifications.insert_unique(notices)
        if len(rows) < batch:
            return written


def _write_back(rows: list[Step]) -> None:
    """Store each step's new escalation level and next time: one UPDATE, sent for all rows at once."""
    if not rows:
        return
    values = [{"step_id": r.id, "level": r.escalation_level, "next_at": r.next_escalation_at} for r in rows]
    if not is_sqlite():
        payload = [{**v, "next_at": v["next_at"].isoformat() if v["next_at"] else None} for v in values]
        db.session.execute(_UPDATE_POSTGRESQL, {"rows": json.dumps(payload)})
        return
    table = HumanTask.__table__
    statement = (update(table).where(table.c.id == bindparam("step_id"))
                 .values(escalation_level=bindparam("level"), next_escalation_at=bindparam("next_at")))
    db.session.connection().execute(statement, values)


_UPDATE_POSTGRESQL = text(
    "UPDATE human_tasks SET escalation_level = r.level, next_escalation_at = r.next_at "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(step_id integer, level integer, next_at timestamp) "
    "WHERE human_tasks.id = r.step_id")
