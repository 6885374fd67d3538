"""The case ledger (签约台账 / 补偿台账) of a project as a workbook: one row per household, with totals."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agreement, Household, HumanTask, ProcessInstance, Project, User
from services import audit
from services.access import get_project, restrict_to_households
from services.context import Actor
from services.excel.sheets import (
    BORDER,
    KIND_LABELS,
    STATUS_LABELS,
    TITLE_FONT,
    TOTAL_FILL,
    TOTAL_FONT,
    Sheet,
    header_row,
    put,
    save,
)
from services.tx import transaction

SHEET = "签约台账"
HEADERS = ("户号", "户主", "户别", "地址", "片区", "当前环节", "状态", "协议编号", "协议金额", "已拨付", "拨付进度",
           "签约日期", "结案")
WIDTHS = (14, 10, 18, 32, 10, 24, 9, 20, 16, 16, 10, 12, 6)
MONEY = "#,##0.00"
PERCENT = "0.00%"
DATE = "yyyy-mm-dd"
NOT_STARTED = "未启动"


@dataclass(frozen=True)
class LedgerRow:
    """One household's line of the ledger."""

    code: str
    head_name: str
    kind: str
    address: str
    section: str | None
    steps: str
    status: str
    agreement_no: str | None
    agreed: Decimal | None
    paid: Decimal
    signed_on: date | None
    closed: bool

    @property
    def progress(self) -> float | None:
        """Paid over agreed, when something was agreed."""
        return float(self.paid / self.agreed) if self.agreed else None


def rows(project_id: int, zone: ZoneInfo, user: User | None = None) -> list[LedgerRow]:
    """The ledger lines of a project (the households within the user's reach, when given), by household code,
    in three queries whatever its size."""
    latest = (select(ProcessInstance.household_id, func.max(ProcessInstance.id).label("instance_id"))
              .where(ProcessInstance.project_id == project_id)
              .group_by(ProcessInstance.household_id).subquery())
    households = (select(Household, ProcessInstance, Agreement.number)
                  .outerjoin(latest, latest.c.household_id == Household.id)
                  .outerjoin(ProcessInstance, ProcessInstance.id == latest.c.instance_id)
                  .outerjoin(Agreement, Agreement.household_id == Household.id)
                  .where(Household.project_id == project_id)
                  .order_by(Household.code, Household.id))
    open_steps = (select(HumanTask.instance_id, HumanTask.name)
                  .where(HumanTask.project_id == project_id, HumanTask.status == "ready").order_by(HumanTask.id))
    if user is not None:
        households = restrict_to_households(households, user)
        open_steps = restrict_to_households(open_steps, user, HumanTask.project_id, HumanTask.work_group_id)
    found = db.session.execute(households).all()
    steps: dict[int, list[str]] = {}
    for instance_id, name in db.session.execute(open_steps):
        if name not in steps.setdefault(instance_id, []):
            steps[instance_id].append(name)
    result = []
    for household, instance, number in found:
        signed = instance.signed_at if instance is not None else None
        result.append(LedgerRow(
            code=household.code, head_name=household.head_name, kind=KIND_LABELS.get(household.kind, household.kind),
            address=household.address, section=household.section,
            steps="、".join(steps.get(instance.id, [])) if instance is not None else "",
            status=STATUS_LABELS.get(instance.status, instance.status) if instance is not None else NOT_STARTED,
            agreement_no=number,
            agreed=instance.agreed_amount if instance is not None else None,
            paid=(instance.paid_amount or Decimal("0")) if instance is not None else Decimal("0"),
            signed_on=signed.replace(tzinfo=UTC).astimezone(zone).date() if signed else None,
            closed=instance is not None and instance.status == "completed",
        ))
    return result


def export(actor: Actor, project_id: int, *, now: datetime, timezone: str) -> Sheet:
    """The ledger of a project the actor sees (members, supervisors, admins); every export is audited."""
    zone = ZoneInfo(timezone)
    with transaction():
        project = get_project(actor.user, project_id)
        lines = rows(project.id, zone, actor.user)
        audit.record(actor, "export.ledger", "project", project.id, after={"rows": len(lines)}, at=now)
    local = now.replace(tzinfo=UTC).astimezone(zone)
    return save(_workbook(project, lines, actor, local), f"{project.code}-签约台账-{local:%Y%m%d}.xlsx")


def _workbook(project: Project, lines: list[LedgerRow], actor: Actor, local: datetime) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    header_row(sheet, list(HEADERS), list(WIDTHS))
    for row, line in enumerate(lines, start=2):
        values = (line.code, line.head_name, line.kind, line.address, line.section, line.steps, line.status,
                  line.agreement_no, line.agreed, line.paid, line.progress, line.signed_on,
                  "是" if line.closed else "否")
        for column, value in enumerate(values, start=1):
            put(sheet, row, column, value)
        _number_formats(sheet, row)
    total = len(lines) + 2
    agreed = sum((line.agreed or Decimal("0") for line in lines), Decimal("0"))
    paid = sum((line.paid for line in lines), Decimal("0"))
    signed = sum(1 for line in lines if line.signed_on)
    closed = sum(1 for line in lines if line.closed)
    totals = ("合计", f"{len(lines)} 户", None, None, None, None, None, None, agreed, paid,
              float(paid / agreed) if agreed else None, f"已签 {signed} 户", f"{closed} 户")
    for column, value in enumerate(totals, start=1):
        cell = put(sheet, total, column, value)
        cell.font = TOTAL_FONT
        cell.fill = TOTAL_FILL
        cell.border = BORDER
    _number_formats(sheet, total)
    sheet.auto_filter.ref = f"A1:{sheet.cell(row=1, column=len(HEADERS)).column_letter}{max(total - 1, 1)}"
    about = workbook.create_sheet("导出信息")
    put(about, 1, 1, f"{project.name}（{project.code}）签约台账").font = TITLE_FONT
    for row, (label, value) in enumerate((("导出时间", f"{local:%Y-%m-%d %H:%M}"),
                                          ("导出人", actor.username or ""), ("户数", len(lines))), start=2):
        put(about, row, 1, label)
        put(about, row, 2, value)
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 24
    return workbook


def _number_formats(sheet: Worksheet, row: int) -> None:
    sheet.cell(row=row, column=9).number_format = MONEY
    sheet.cell(row=row, column=10).number_format = MONEY
    sheet.cell(row=row, column=11).number_format = PERCENT
    sheet.cell(row=row, column=12).number_format = DATE
