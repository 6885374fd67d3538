"""The staff list (人员名单): a template to fill in, and its import — every cell checked, all or nothing.

Each imported member of staff gets a generated temporary password (returned once, never stored in clear) and
must change it at the first sign-in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from marshmallow import ValidationError
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from app.models import WorkGroup
from services import audit, staff
from services import problems as coded
from services.context import Actor
from services.errors import InvalidInput
from services.excel import reader
from services.excel.checks import CellsInvalid, Problem, map_header
from services.excel.roster import _safe_name
from services.excel.sheets import (
    HELP_SHEET,
    Column,
    Sheet,
    annotated_header,
    choices_list,
    header_row,
    instructions,
    put,
    save,
)
from services.problems import N_, problem
from services.problems import register as register_problems
from services.roles import ROLES, resolve_role
from services.tx import transaction

register_problems({
    "staff_import_cells": N_("%(count)s cell(s) of the staff list have problems; nobody was imported"),
    "staff_import_problems": N_("%(count)s problem(s) in the staff list"),
    "staff_import_empty": N_("the staff list holds nobody"),
    "staff_username_repeats": N_("the username repeats row %(row)s"),
    "staff_role_unknown": N_("unknown role: %(name)s"),
    "staff_group_unknown": N_("unknown work group: %(name)s"),
    "staff_group_ambiguous": N_("several projects have a work group %(name)s; write it as project · group"),
    "staff_roles_required": N_("give at least one role"),
})

SHEET = "人员名单"
PASSWORD_SHEET = "初始密码"  # noqa: S105 (a sheet title)
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 200  # each password is hashed (scrypt, ~0.1 s): a request must end well within 30 s
_SPLIT = re.compile(r"[、，,；;\n]+")
_GROUP_SPLIT = re.compile(r"\s*[·•・/／]\s*")


COLUMNS = (
    Column("username", "用户名", True, 16,
           "登录用的名字：字母、数字、.、- 和 _，以字母或数字开头，最多 64 位；不可与已有用户重复", "zhangsan"),
    Column("display_name", "姓名", True, 12, "最多 100 字", "张三"),
    Column("email", "邮箱", False, 26, "用于接收待办提醒，可不填", "zhangsan@example.gov.cn"),
    Column("roles", "角色", True, 26,
           "角色的中文名称，多个用顿号「、」分隔：" + "、".join(z for z, _ in ROLES.values()), "调查员、经办人"),
    Column("groups", "工作组", False, 30,
           "写作「项目 · 工作组」，多个用顿号「、」分隔；工作组名在各项目中唯一时可只写组名", ""),
)
HEADER_OF = {c.field: c.header for c in COLUMNS}


class StaffListInvalid(CellsInvalid):
    """The staff list has bad cells; nobody was imported. `problems` names each cell; `sheet` the sheet read."""

    CELLS, PROBLEMS, CODE = "staff_import_cells", "staff_import_problems", "invalid_staff_list"

    def __init__(self, problems: list[Problem], sheet: str):
        super().__init__(problems)
        self.sheet = sheet


@dataclass
class Imported:
    """Who was imported, each with the temporary password to hand over (shown once)."""

    sheet: str
    people: list[tuple[str, str, str]] = field(default_factory=list)  # username, display name, password


def template(actor: Actor) -> Sheet:
    """The staff list template: the header, an example row, a role dropdown, the work groups and instructions."""
    staff.require_admin(actor)
    groups = [staff.group_label(g) for g in staff.all_groups()]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    annotated_header(sheet, COLUMNS)
    for index, column in enumerate(COLUMNS, start=1):
        example = column.example or (groups[0] if groups and column.field == "groups" else "")
        put(sheet, 2, index, example)
    last = MAX_ROWS + 1
    roles = DataValidation(type="list", formula1='"' + ",".join(z for z, _ in ROLES.values()) + '"',
                           allow_blank=True, showErrorMessage=False, showInputMessage=True,
                           promptTitle="角色", prompt="可从列表选择；多个角色用顿号「、」分隔")
    roles.add(f"D2:D{last}")
    sheet.add_data_validation(roles)
    if groups:
        rule = DataValidation(type="list", formula1=choices_list(workbook, groups), allow_blank=True,
                              showErrorMessage=False, showInputMessage=True, promptTitle="工作组",
                              prompt="可从列表选择；多个工作组用顿号「、」分隔")
        rule.add(f"E2:E{last}")
        sheet.add_data_validation(rule)
    _instructions(workbook.create_sheet(HELP_SHEET, 1), groups)
    workbook.active = 0
    return save(workbook, "人员名单导入模板.xlsx")


def _instructions(sheet: Any, groups: list[str]) -> None:
    lines = [
        f"在「{SHEET}」工作表第 2 行起每行填写一人，第 1 行为表头，请勿修改表头文字；"
        "第 2 行是示例，导入前请改成实际人员或删除。",
        "红底表头为必填列；角色、工作组可从下拉列表选择，多个用顿号「、」分隔。",
        f"每次最多导入 {MAX_ROWS} 人，文件须保存为 .xlsx 格式。",
        "导入前逐格校验：只要有一个单元格有误，整份名单都不会导入，页面会列出每个有误的工作表、行号和列名。",
        "导入成功后系统为每人生成一个初始密码，只在结果页显示一次（可下载为 .xlsx）；本人首次登录时必须修改密码。",
        "工作组：" + ("、".join(groups) if groups else "（尚未设置工作组）"),
    ]
    instructions(sheet, "人员名单填写说明", lines, COLUMNS, (12, 10, 70, 24))


class _Groups:
    """Work groups by what a cell may call them: 项目 · 工作组, or the group's name when it is unique."""

    def __init__(self, groups: list[WorkGroup]):
        self.full: dict[tuple[str, str], int] = {(g.project.name.strip(), g.name.strip()): g.id for g in groups}
        self.bare: dict[str, list[int]] = {}
        for g in groups:
            self.bare.setdefault(g.name.strip(), []).append(g.id)

    def find(self, name: str) -> tuple[int | None, str | None]:
        parts = _GROUP_SPLIT.split(name.strip(), maxsplit=1)
        if len(parts) == 2 and (parts[0], parts[1]) in self.full:
            return self.full[(parts[0], parts[1])], None
        ids = self.bare.get(name.strip(), [])
        if len(ids) == 1:
            return ids[0], None
        return None, "staff_group_ambiguous" if ids else "staff_group_unknown"


def _items(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def _check_row(number: int, cells: dict[str, reader.Value], groups: _Groups) -> tuple[dict[str, Any], list[Problem]]:
    found: list[Problem] = []
    texts: dict[str, str] = {}
    for name, cell in cells.items():
        if cell.problem == "error_cell":
            found.append(Problem(number, name, problem("roster_error_cell", value=cell.detail or "")))
        elif cell.problem:
            found.append(Problem(number, name, problem("roster_date" if cell.problem == "date" else "invalid")))
        elif cell.text is not None:
            texts[name] = cell.text
    flagged = {p.field for p in found}
    plain = {k: texts[k] for k in ("username", "display_name", "email") if k in texts}
    values: dict[str, Any] = {}
    try:
        values = staff.StaffCreate(only=("username", "display_name", "email")).load(plain)
    except ValidationError as exc:
        values = dict(exc.valid_data or {})
        for name, messages in (exc.messages if isinstance(exc.messages, dict) else {}).items():
            if name not in flagged:
                found += [Problem(number, name, m if isinstance(m, coded.Problem) else problem("invalid"))
                          for m in (messages if isinstance(messages, list) else [messages])]
    roles: list[str] = []
    for name in _items(texts.get("roles", "")):
        code = resolve_role(name)
        if code is None:
            found.append(Problem(number, "roles", problem("staff_role_unknown", name=name)))
        elif code not in roles:
            roles.append(code)
    if not roles and "roles" not in flagged and not any(p.field == "roles" for p in found):
        found.append(Problem(number, "roles", problem("staff_roles_required")))
    group_ids: list[int] = []
    for name in _items(texts.get("groups", "")):
        group_id, wrong = groups.find(name)
        if wrong:
            found.append(Problem(number, "groups", problem(wrong, name=name)))
        elif group_id not in group_ids:
            group_ids.append(group_id)
    return {**values, "roles": roles, "group_ids": group_ids}, found


def check(table: reader.Table) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The rows as StaffCreate values (without passwords), or every problem found."""
    positions, found = map_header(table.header, COLUMNS)
    if found:
        return [], found
    groups = _Groups(staff.all_groups())
    rows: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.rows:
        mapped = {name: cells[i] for name, i in positions.items() if i < len(cells)}
        if all(cell.text is None and cell.problem is None for cell in mapped.values()):
            continue
        values, problems = _check_row(number, mapped, groups)
        found += problems
        username = values.get("username")
        if username:
            key = username.lower()
            if key in first_row_of:
                found.append(Problem(number, "username", problem("staff_username_repeats", row=first_row_of[key])))
            else:
                first_row_of[key] = number
                if staff.username_taken(username):
                    found.append(Problem(number, "username", problem("username_taken")))
        rows.append(values)
    order = {c.field: i for i, c in enumerate(COLUMNS)}
    found.sort(key=lambda p: (p.row, order.get(p.field, len(order))))
    return rows, found


def import_staff(actor: Actor, stream: BinaryIO | None, *, filename: str | None, now: datetime,
                 max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> Imported:
    """Create every member of staff of the list, each with a temporary password — or nobody when any cell is bad."""
    with transaction():
        staff.require_admin(actor)
        data = reader.read_limited(stream, max_bytes)
        reader.check_xlsx(data)
        table = reader.read_table(data, sheet_title=SHEET, max_rows=max_rows)
        rows, found = check(table)
        if found:
            raise StaffListInvalid(found, table.sheet)
        if not rows:
            raise InvalidInput(problem("staff_import_empty"), {"file": [problem("roster_no_rows")]}, code="no_rows")
        result = Imported(table.sheet)
        for values in rows:
            password = staff.temporary_password(values["username"])
            user = staff.add(actor, {**values, "password": password}, now=now, source="import")
            result.people.append((user.username, user.display_name, password))
        audit.record(actor, "staff.import", "user", None,
                     after={"created": len(rows), "file": _safe_name(filename), "bytes": len(data)}, at=now)
    return result


def passwords_sheet(people: list[tuple[str, str, str]]) -> Sheet:
    """The initial passwords of an import as a workbook to hand over (made on the result page, never stored)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = PASSWORD_SHEET
    header_row(sheet, ["用户名", "姓名", "初始密码"], [18, 14, 22])
    for row, person in enumerate(people, start=2):
        for column, value in enumerate(person, start=1):
            put(sheet, row, column, value)
    return save(workbook, "初始密码.xlsx")
