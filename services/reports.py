"""Live progress reports, computed in SQL: per project and work group, per step, over time; .xlsx export."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Select, case, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import CompletionDay, Household, HumanTask, ProcessInstance, Project, TaskEvent, WorkGroup
from services import deadlines, supervision
from services.access import led_groups, narrow_to_households, require_role, restrict_to_projects, scope, visible_groups
from services.context import Actor
from services.errors import InvalidInput
from services.excel.sheets import header_row, put
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tasks import IS_OPEN
from services.tx import is_sqlite, transaction

REPORT_ROLES = ("supervisor", "admin", "group_leader", "reviewer")

register_problems({
    "report_group_unknown": N_("the report cannot be narrowed to this work group"),
    "report_group_choose": N_("choose one of the work groups offered"),
})


@dataclass(frozen=True)
class ReportScope:
    """Whose numbers a report shows. kind: "all" (supervisor, admin), "project" (a project-wide role: every
    group of the user's projects), "groups" (a group-bound role: the user's own work groups) or "group"
    (narrowed to the one of `groups`); choices: the groups the report may be narrowed to."""

    kind: str
    groups: list[WorkGroup]
    choices: list[WorkGroup]
    group_id: int | None = None


def report_scope(actor: Actor, group_id: int | None = None) -> ReportScope:
    """The scope of the actor's reports, narrowed to one work group when asked (one the actor sees)."""
    require_role(actor.user, *REPORT_ROLES)
    reach = scope(actor.user)
    if reach is None or reach.projects:
        kind, choices = ("all" if reach is None else "project"), visible_groups(actor.user)
    else:
        kind = "groups"
        choices = list(db.session.scalars(select(WorkGroup).where(WorkGroup.id.in_(_own_groups(actor) or [-1]))
                                          .order_by(WorkGroup.project_id, WorkGroup.id)))
    if group_id is None:
        return ReportScope(kind, choices if kind == "groups" else [], choices)
    chosen = [g for g in choices if g.id == group_id]
    if not chosen:
        raise InvalidInput(problem("report_group_unknown"), {"group_id": [problem("report_group_choose")]})
    return ReportScope("group", chosen, choices, group_id)


def _rate(part: int | Decimal, whole: int | Decimal) -> float:
    return round(float(part) / float(whole), 4) if whole else 0.0


def _own_groups(actor: Actor) -> list[int] | None:
    """The ids of a group-bound reader's work groups (member or leader); None for a reader who sees more."""
    reach = scope(actor.user)
    if reach is None or reach.projects:
        return None
    return sorted(reach.groups | set(db.session.scalars(led_groups(actor.user.id))))


def _groups(actor: Actor, group_id: int | None) -> int | list[int] | None:
    """The work group a report is narrowed to, else a group-bound reader's groups by their ids: the reach's
    condition (an OR with the led groups' subquery) is checked too, but an index on the work group finds the rows."""
    return group_id or _own_groups(actor)


@dataclass
class GroupProgress:
    """One work group's (or the project's) numbers."""

    households: int = 0
    signed: int = 0
    closed: int = 0
    agreed: Decimal = Decimal("0")
    paid: Decimal = Decimal("0")

    def as_dict(self) -> dict[str, Any]:
        return {"households": self.households, "signed": self.signed, "closed": self.closed,
                "sign_rate": _rate(self.signed, self.households), "close_rate": _rate(self.closed, self.households),
                "agreed_amount": f"{self.agreed:.2f}", "paid_amount": f"{self.paid:.2f}",
                "paid_rate": _rate(self.paid, self.agreed)}


@dataclass
class ProjectProgress:
    """A project's progress: totals, its work groups, its steps, overdue by role and person."""

    project: Project
    total: GroupProgress
    groups: list[tuple[WorkGroup | None, GroupProgress]] = field(default_factory=list)
    steps: dict[str, dict[str, int]] = field(default_factory=dict)
    overdue_by_role: dict[str, int] = field(default_factory=dict)
    overdue_by_person: list[dict[str, Any]] = field(default_factory=list)


def progress(actor: Actor, project_id: int | None, now: datetime, group_id: int | None = None
             ) -> list[ProjectProgress]:
    """The progress of each of the actor's projects (or one), counting the households the actor sees (or one
    work group's of them), with a handful of grouped queries."""
    require_role(actor.user, *REPORT_ROLES)
    chosen = select(Project)
    if project_id:
        chosen = chosen.where(Project.id == project_id)
    if group_id:  # one work group: its project alone
        chosen = chosen.where(Project.id.in_(select(WorkGroup.project_id).where(WorkGroup.id == group_id)))
    projects = db.session.scalars(restrict_to_projects(chosen, Project.id, actor.user).order_by(Project.code)).all()
    ids = [p.id for p in projects]
    if not ids:
        return []
    narrow = _groups(actor, group_id)
    numbers = db.session.execute(narrow_to_households(
        select(Household.project_id, Household.work_group_id, func.count(Household.id),
               func.count(ProcessInstance.signed_at),
               func.count(case((ProcessInstance.status == "completed", 1))),
               func.coalesce(func.sum(ProcessInstance.agreed_amount), 0),
               func.coalesce(func.sum(ProcessInstance.paid_amount), 0))
        .outerjoin(ProcessInstance, ProcessInstance.household_id == Household.id)
        .where(Household.project_id.in_(ids))
        .group_by(Household.project_id, Household.work_group_id),
        actor.user, Household.project_id, Household.work_group_id, None, narrow)).all()
    groups = {g.id: g for g in db.session.scalars(select(WorkGroup).where(WorkGroup.project_id.in_(ids)))}
    steps = db.session.execute(narrow_to_households(
        select(HumanTask.project_id, HumanTask.bpmn_id, func.min(HumanTask.name), func.count(),
               func.count().filter(HumanTask.due_at < now))
        .where(IS_OPEN, HumanTask.project_id.in_(ids))
        .group_by(HumanTask.project_id, HumanTask.bpmn_id),
        actor.user, HumanTask.project_id, HumanTask.work_group_id, None, narrow)).all()
    late_roles, late_people = supervision.overdue_per_project(actor, project_id, now, narrow)
    order = {bpmn_id: index for index, bpmn_id in enumerate(deadlines.deployed_step_names())}
    result = []
    for project in projects:
        total = GroupProgress()
        report = ProjectProgress(project, total)
        for pid, gid, households, signed, closed, agreed, paid in numbers:
            if pid != project.id:
                continue
            part = GroupProgress(households, signed, closed, Decimal(agreed), Decimal(paid))
            report.groups.append((groups.get(gid), part))
            total.households += households
            total.signed += signed
            total.closed += closed
            total.agreed += part.agreed
            total.paid += part.paid
        mine = {bpmn_id: {"name": name, "open": n, "overdue": late}
                for pid, bpmn_id, name, n, late in steps if pid == project.id}
        report.steps = {k: mine[k] for k in sorted(mine, key=lambda k: order.get(k, len(order)))}
        report.overdue_by_role = late_roles.get(project.id, {})
        report.overdue_by_person = late_people.get(project.id, [])
        result.append(report)
    return result


def trend(actor: Actor, project_id: int | None, now: datetime, days: int = 30, group_id: int | None = None
          ) -> dict[str, list]:
    """Per day over the last days: agreements fully signed and steps completed, of the households the actor
    sees (or one work group's of them)."""
    require_role(actor.user, *REPORT_ROLES)
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    signed_day = func.date(ProcessInstance.signed_at)
    signed = select(signed_day, func.count()).where(ProcessInstance.signed_at >= since).group_by(signed_day)
    groups = _groups(actor, group_id)
    signed_by_day = {str(d): n for d, n in db.session.execute(_of_households(signed, actor, project_id, groups))}
    done_by_day = _completed_by_day(actor, project_id, groups, since.date(), now)
    labels = [(since + timedelta(days=i)).date().isoformat() for i in range(days)]
    return {"days": labels, "signed": [signed_by_day.get(d, 0) for d in labels],
            "completed_steps": [done_by_day.get(d, 0) for d in labels]}


def _of_households(stmt: Select, actor: Actor, project_id: int | None, group_id: int | list[int] | None
                   ) -> Select:
    """A query on instances narrowed to the households of the report (joined only when the reach or a work
    group asks for it: the whole office's report reads the instances alone)."""
    if group_id is None and scope(actor.user) is None:
        return stmt.where(ProcessInstance.project_id == project_id) if project_id else stmt
    return narrow_to_households(stmt.join(Household, Household.id == ProcessInstance.household_id), actor.user,
                                Household.project_id, Household.work_group_id, project_id, group_id)


def _completed_by_day(actor: Actor, project_id: int | None, group_id: int | list[int] | None, first: date,
                      now: datetime) -> dict[str, int]:
    """Steps completed per day from the first day to now: closed days from their counts (made once), today live."""
    today = now.date()
    _count_closed_days(first, today)
    counted = select(CompletionDay.day, func.sum(CompletionDay.completed)).where(
        CompletionDay.day >= first, CompletionDay.day < today, CompletionDay.project_id != 0)
    counted = narrow_to_households(counted, actor.user, CompletionDay.project_id, CompletionDay.work_group_id,
                                   project_id, group_id)
    by_day = {str(d): int(n) for d, n in db.session.execute(counted.group_by(CompletionDay.day)).all()}
    live = _of_households(_completions(datetime.combine(today, time.min)), actor, project_id, group_id)
    live_today = sum(n for _, _, n in db.session.execute(live).all())
    if live_today:
        by_day[today.isoformat()] = live_today
    return by_day


def _completions(start: datetime, end: datetime | None = None, *groups: Any):
    """Completed steps per day and project (and the columns given, of a join the caller adds) from a moment
    (UTC), until another if given."""
    done_day = func.date(TaskEvent.at)
    # 'completed' written into the statement: the partial index of completions (migration 0007) covers it
    return (select(done_day, ProcessInstance.project_id, *groups, func.count())
            .join(ProcessInstance, ProcessInstance.id == TaskEvent.instance_id)
            .where(TaskEvent.action == literal_column("'completed'"), TaskEvent.at >= start,
                   *([TaskEvent.at < end] if end else []))
            .group_by(done_day, ProcessInstance.project_id, *groups))


def _count_closed_days(first: date, today: date) -> None:
    """Count the completions of each closed day in the range that has not been counted yet (stored once), per
    project and the work group the household is in.

    A closed day no longer changes: completions are written at the moment they happen. Day 0 of a project
    column (project_id 0) marks a day as counted, so a day without completions is not counted again.
    """
    days = {first + timedelta(days=i) for i in range((today - first).days)}
    if not days:
        return
    done = set(db.session.scalars(select(CompletionDay.day).where(
        CompletionDay.project_id == 0, CompletionDay.day >= first, CompletionDay.day < today)))
    missing = sorted(days - done)
    if not missing:
        return
    start = datetime.combine(missing[0], time.min)
    rows: list[dict[str, Any]] = [{"day": day, "project_id": 0, "work_group_id": None, "completed": 0}
                                  for day in missing]
    totals = {row["day"]: row for row in rows}
    counts = _completions(start, datetime.combine(today, time.min), Household.work_group_id).join(
        Household, Household.id == ProcessInstance.household_id)
    for day, project, group, count in db.session.execute(counts):
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        if day in totals:
            rows.append({"day": day, "project_id": project, "work_group_id": group, "completed": count})
            totals[day]["completed"] += count
    insert = sqlite_insert if is_sqlite() else postgresql_insert
    with transaction():  # another request counting the same day at once writes nothing twice
        db.session.execute(insert(CompletionDay).on_conflict_do_nothing(), rows)


def progress_dict(report: ProjectProgress, role_names: dict[str, str] | None = None) -> dict[str, Any]:
    """A project's progress as the API returns it."""
    return {
        "project_id": report.project.id, "code": report.project.code, "name": report.project.name,
        **report.total.as_dict(),
        "groups": [{"group_id": g.id if g else None, "name": g.name if g else None, **part.as_dict()}
                   for g, part in report.groups],
        "steps": report.steps,
        "overdue_by_role": report.overdue_by_role,
        "overdue_by_person": report.overdue_by_person,
    }


COUNT, MONEY, PERCENT = "#,##0", "#,##0.00", "0.00%"


def _sheet(book: Workbook, title: str, columns: list[tuple[str, int, str | None]], lines: list[list[Any]],
           *, first: bool = False) -> None:
    """A sheet of the report: (header, width, number format) per column, then the lines."""
    sheet = book.active if first else book.create_sheet(title)
    sheet.title = title
    header_row(sheet, [c[0] for c in columns], [c[1] for c in columns])
    for number, line in enumerate(lines, start=2):
        for column, (value, (_, _, fmt)) in enumerate(zip(line, columns, strict=True), start=1):
            cell = put(sheet, number, column, value)
            if fmt:
                cell.number_format = fmt


def workbook(reports: list[ProjectProgress], labels: dict[str, str], scope: str | None = None) -> bytes:
    """The progress report as an .xlsx file with Chinese headers: rates as percentages, money with thousands
    separators and two decimals, counts as whole numbers, columns wide enough to read; with its scope (whose
    households it counts) on a last sheet when given."""
    book = Workbook()
    _sheet(book, "项目进度", [("项目编号", 14, None), ("项目名称", 24, None), ("户数", 8, COUNT), ("已签约", 8, COUNT),
                          ("签约率", 9, PERCENT), ("已结案", 8, COUNT), ("协议金额(元)", 18, MONEY),
                          ("已拨付(元)", 18, MONEY), ("拨付进度", 10, PERCENT)],
           [[r.project.code, r.project.name, r.total.households, r.total.signed, r.total.as_dict()["sign_rate"],
             r.total.closed, float(r.total.agreed), float(r.total.paid), r.total.as_dict()["paid_rate"]]
            for r in reports], first=True)
    _sheet(book, "工作组", [("项目", 24, None), ("工作组", 16, None), ("户数", 8, COUNT), ("已签约", 8, COUNT),
                         ("签约率", 9, PERCENT), ("协议金额(元)", 18, MONEY), ("已拨付(元)", 18, MONEY)],
           [[r.project.name, g.name if g else "未分组", part.households, part.signed, part.as_dict()["sign_rate"],
             float(part.agreed), float(part.paid)] for r in reports for g, part in r.groups])
    _sheet(book, "各环节", [("项目", 24, None), ("环节", 18, None), ("在办", 8, COUNT), ("超期", 8, COUNT)],
           [[r.project.name, counts["name"], counts["open"], counts["overdue"]]
            for r in reports for counts in r.steps.values()])
    late = [[r.project.name, labels.get(role, role), n]
            for r in reports for role, n in sorted(r.overdue_by_role.items())]
    late += [[r.project.name, person["display_name"] or "未签收", person["count"]]
             for r in reports for person in r.overdue_by_person]
    _sheet(book, "超期统计", [("项目", 24, None), ("角色/人员", 16, None), ("超期数", 8, COUNT)], late)
    if scope is not None:
        _sheet(book, "统计范围", [("统计范围", 40, None)], [[scope]])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
