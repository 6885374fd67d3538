"""Behaviour supervision (轨迹可检索): searching the audit trail by person, household, module, action and
time — and every search is itself recorded."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import AuditLog, Household, User
from services import audit
from services.access import require_role
from services.context import Actor
from services.excel.sheets import put
from services.tx import transaction

SEARCH_ROLES = ("supervisor", "admin", "reviewer")
EXPORT_LIMIT = 50000


@dataclass(frozen=True)
class AuditQuery:
    """The filters of an audit search (all optional)."""

    username: str | None = None
    household: str | None = None  # a household code, or an id
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
        ids = select(Household.id).where(Household.code == key)
        stmt = stmt.where(or_(AuditLog.household_id.in_(ids),
                              AuditLog.household_id == (int(key) if key.isascii() and key.isdigit() else -1)))
    if query.module:
        stmt = stmt.where(AuditLog.action.like(f"module.{query.module.strip()}.%"))
    if query.action:
        stmt = stmt.where(AuditLog.action.like(f"{query.action.strip()}%"))
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


def export(actor: Actor, query: AuditQuery, now: datetime) -> bytes:
    """The matching rows as an .xlsx file (up to a limit); the export is audited."""
    require_role(actor.user, *SEARCH_ROLES)
    _record_search(actor, "audit.export", query, now)
    book = Workbook()
    sheet = book.active
    sheet.title = "操作日志"
    sheet.append(["序号", "时间(UTC)", "操作人", "操作", "对象类型", "对象", "户ID", "来源地址", "变更前", "变更后",
                  "哈希"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    rows = db.session.scalars(_statement(query).order_by(AuditLog.id).limit(EXPORT_LIMIT))
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate((row.id, row.at, row.actor_name, row.action, row.target_type, row.target_id,
                                        row.household_id, row.ip, _short(row.before), _short(row.after), row.hash),
                                       start=1):
            put(sheet, number, column, value)  # text stays text (no formulas), without illegal characters
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 32000 else text[:32000] + "…"


def people(actor: Actor) -> list[User]:
    """Everyone whose trail can be searched (the search pages' choices)."""
    require_role(actor.user, *SEARCH_ROLES)
    return list(db.session.scalars(select(User).order_by(User.username)))
