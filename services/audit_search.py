"""Behaviour supervision (轨迹可检索): searching the audit trail by person, household, module, action and
time — and every search is itself recorded."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import AuditLog, Batch, Household, HumanTask, ProcessDefinition, Project, User, Village, WorkGroup
from services import audit
from services.access import require_role, restrict_to_households
from services.context import Actor
from services.deadlines import deployed_step_names
from services.excel.sheets import WRAP, header_row, put
from services.tx import transaction

SEARCH_ROLES = ("supervisor", "admin", "reviewer")
EXPORT_LIMIT = 50000


@dataclass(frozen=True)
class AuditQuery:
    """The filters of an audit search (all optional)."""

    username: str | None = None
    household: str | None = None  # a household code
    module: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    per_page: int = 100


def _statement(query: AuditQuery):
    stmt = select(AuditLog)
    if query.username:
        stmt = stmt.where(AuditLog.actor_name == query.username.strip())
    if query.household:
        key = query.household.strip()
        ids = select(Household.id).where(or_(Household.code == key, Household.head_name == key))
        stmt = stmt.where(AuditLog.household_id.in_(ids))
    if query.module:
        stmt = stmt.where(AuditLog.action.like(f"module.{query.module.strip()}.%"))
    if query.action:  # one action, or every action under a prefix ("file.")
        action = query.action.strip()
        stmt = stmt.where(AuditLog.action.like(f"{action}%") if action.endswith(".") else AuditLog.action == action)
    if query.since:
        stmt = stmt.where(AuditLog.at >= query.since)
    if query.until:
        stmt = stmt.where(AuditLog.at < query.until)
    return stmt


def _record_search(actor: Actor, kind: str, query: AuditQuery, now: datetime) -> None:
    filters = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(query).items()
               if v not in (None, "") and k not in ("page", "per_page")}
    with transaction():
        audit.record(actor, kind, "audit_log", None, after=filters, at=now)


def search(actor: Actor, query: AuditQuery, now: datetime) -> tuple[list[AuditLog], int]:
    """One page of matching audit rows, newest first; the search itself is audited."""
    require_role(actor.user, *SEARCH_ROLES)
    _record_search(actor, "audit.search", query, now)
    stmt = _statement(query)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(AuditLog.id.desc()).limit(query.per_page)
                              .offset((query.page - 1) * query.per_page))
    return list(rows), int(total)


@dataclass(frozen=True)
class TrailNames:
    """What the rows of a page refer to, by id: people's names, households, steps, projects, diagrams."""

    users: dict[int, str]
    households: dict[int, tuple[str, str]]  # id → (code, head's name)
    steps: dict[int, str]  # human task id → step name
    step_names: dict[str, str]  # bpmn id → step name
    projects: dict[int, str]
    definitions: dict[int, str]
    by_username: dict[str, str] = field(default_factory=dict)  # username named in details → person's name
    parts: dict[str, dict[int, str]] = field(default_factory=dict)  # work_group_id / village_id / batch_id → name


def names(rows: list[AuditLog]) -> TrailNames:
    """The names the rows refer to, a few queries for the whole page (not one per row)."""
    def ids(kind: str, key: str | None = None) -> set[int]:
        found = set()
        for row in rows:
            if row.target_type == kind and row.target_id and str(row.target_id).isdigit():
                found.add(int(row.target_id))
            for side in (row.before, row.after):
                if key and isinstance(side, dict) and isinstance(side.get(key), int):
                    found.add(side[key])
        return found

    user_ids = {r.actor_id for r in rows if r.actor_id} | ids("user", "assignee_id") | ids("", "cadre_id") \
        | ids("", "leader_id")
    usernames = {side["username"] for r in rows for side in (r.before, r.after)
                 if isinstance(side, dict) and isinstance(side.get("username"), str)}
    usernames |= {name for r in rows for side in (r.before, r.after) if isinstance(side, dict)
                  for name in (side.get("members") if isinstance(side.get("members"), list) else [])
                  if isinstance(name, str)}
    users = db.session.execute(select(User.id, User.username, User.display_name)
                               .where(or_(User.id.in_(user_ids or [-1]), User.username.in_(usernames or [""])))).all()
    household_ids = {r.household_id for r in rows if r.household_id} | ids("household")
    households = db.session.execute(select(Household.id, Household.code, Household.head_name)
                                    .where(Household.id.in_(household_ids or [-1]))).all()
    steps = db.session.execute(select(HumanTask.id, HumanTask.name)
                               .where(HumanTask.id.in_(ids("human_task") or [-1]))).all()
    projects = db.session.execute(select(Project.id, Project.name)
                                  .where(Project.id.in_(ids("project", "project_id") or [-1]))).all()
    definitions = db.session.execute(select(ProcessDefinition.id, ProcessDefinition.name)
                                     .where(ProcessDefinition.id.in_(ids("process_definition") or [-1]))).all()
    parts = {key: dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids("", key) or [-1]))).all())
             for key, model in (("work_group_id", WorkGroup), ("village_id", Village), ("batch_id", Batch))}
    return TrailNames(users={i: shown for i, _, shown in users}, steps=dict(steps), parts=parts,
                      by_username={name: shown for _, name, shown in users},
                      households={i: (code, head) for i, code, head in households},
                      step_names=deployed_step_names(), projects=dict(projects), definitions=dict(definitions))


@dataclass(frozen=True)
class Table:
    """A sheet as the reader sees it: headers, column widths, and rows of display values."""

    headers: list[str]
    widths: list[int]
    rows: list[list[Any]]


def export(actor: Actor, query: AuditQuery, now: datetime, render: Callable[[list[AuditLog]], Table]) -> bytes:
    """The matching rows as an .xlsx file (up to a limit), rendered for the reader by render; the export is
    audited."""
    require_role(actor.user, *SEARCH_ROLES)
    _record_search(actor, "audit.export", query, now)
    rows = list(db.session.scalars(_statement(query).order_by(AuditLog.id).limit(EXPORT_LIMIT)))
    table = render(rows)
    book = Workbook()
    sheet = book.active
    sheet.title = "操作日志"
    header_row(sheet, table.headers, table.widths)
    for number, line in enumerate(table.rows, start=2):
        for column, value in enumerate(line, start=1):
            put(sheet, number, column, _short(value)).alignment = WRAP  # text stays text (no formulas)
    sheet.auto_filter.ref = f"A1:{sheet.cell(row=1, column=len(table.headers)).column_letter}{len(table.rows) + 1}"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _short(value: object) -> object:
    if not isinstance(value, str):
        return value
    return value if len(value) <= 32000 else value[:32000] + "…"


def households(actor: Actor, limit: int = 2000) -> list[tuple[str, str]]:
    """(code, head's name) of the households of the actor's projects, for the household filter's choices."""
    require_role(actor.user, *SEARCH_ROLES)
    stmt = restrict_to_households(select(Household.code, Household.head_name), actor.user)
    return [tuple(row) for row in db.session.execute(stmt.order_by(Household.code).limit(limit))]


def people(actor: Actor) -> list[User]:
    """Everyone whose trail can be searched (the search pages' choices)."""
    require_role(actor.user, *SEARCH_ROLES)
    return list(db.session.scalars(select(User).order_by(User.username)))
