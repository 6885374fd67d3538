"""The household roster (花名册): a template to fill in, and its import — every row checked, all or nothing."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.extensions import db
from app.models import Household, Project
from services import audit, runtime, setup
from services.access import get_project, require_role
from services.context import Actor
from services.errors import InvalidInput
from services.excel import reader
from services.excel.checks import CellsInvalid, check_rows
from services.excel.sheets import (
    HELP_SHEET,
    KIND_LABELS,
    NATURE_LABELS,
    Column,
    Sheet,
    annotated_header,
    choice_lists,
    dropdown,
    instructions,
    save,
)
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tx import transaction

register_problems({
    "roster_empty": N_("the roster holds no households"),
    "roster_no_rows": N_("no rows below the header"),
    "roster_cells": N_("%(count)s cell(s) of the roster have problems; nothing was imported"),
    "roster_problems": N_("%(count)s problem(s) in the roster"),
})

SHEET = "花名册"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 1000  # each household starts its pipeline (~10 ms); a request must end well within 30 s
IMPORTERS = ("surveyor", "admin")


COLUMNS = (
    Column("code", "户号", True, 14, "本项目内唯一；字母、数字、- 和 _，最多 32 位", "BQ3C-061"),
    Column("kind", "户别", True, 20, "从下拉列表选择：" + "、".join(KIND_LABELS.values()),
           KIND_LABELS["collective_house"]),
    Column("section", "片区/标段", False, 12, "最多 64 字；空着而填了村/片区时，取村/片区的名称", "一片区"),
    Column("address", "地址", True, 32, "最多 255 字", "北区三村1组61号"),
    Column("head_name", "户主姓名", True, 12, "最多 64 字", "张建华"),
    Column("phone", "联系电话", False, 16, "11 位手机号，或带区号的固定电话，如 0571-87654321", "13800138000"),
    Column("land_nature", "土地性质", False, 10, "集体 或 国有；不填时农户按集体、其余按国有", "集体"),
    Column("village", "村/片区", False, 14, "本项目已有村/片区的名称；不填时不归入村/片区", "北区三村"),
    Column("batch", "批次", False, 12, "本项目已有批次的名称；不填时不归入批次", "第一批"),
    Column("work_group", "工作组", False, 16, "本项目已有工作组的名称；不填时归入第一个工作组", "第一工作组"),
    Column("notes", "备注", False, 30, "最多 2000 字", ""),
)
HEADER_OF = {c.field: c.header for c in COLUMNS}


class RosterInvalid(CellsInvalid):
    """The roster has bad cells; nothing was imported. `problems` names each cell by row and field."""

    CELLS, PROBLEMS, CODE = "roster_cells", "roster_problems", "invalid_roster"


def importer_project(actor: Actor, project_id: int) -> Project:
    """A project of the actor's into which they may import households (surveyors and admins), else 404/403."""
    project = get_project(actor.user, project_id)
    require_role(actor.user, *IMPORTERS)
    return project


def template(actor: Actor, project_id: int, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> Sheet:
    """The roster template of a project: the header row, dropdowns, and an instructions sheet."""
    project = get_project(actor.user, project_id)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    annotated_header(sheet, COLUMNS)
    last = max_rows + 1
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        if column.field in ("code", "phone"):  # keep leading zeros and long digit strings as typed
            sheet.column_dimensions[cell.column_letter].number_format = "@"
    _dropdown(sheet, "kind", '"' + ",".join(KIND_LABELS.values()) + '"', last, "请从列表中选择户别")
    _dropdown(sheet, "land_nature", '"' + ",".join(NATURE_LABELS.values()) + '"', last, "请选择 集体 或 国有")
    names = {"work_group": [g.name for g in project.groups], "village": [v.name for v in project.villages],
             "batch": [b.name for b in project.batches]}
    for field_name, formula in choice_lists(workbook, names).items():
        _dropdown(sheet, field_name, formula, last, f"请选择本项目的{HEADER_OF[field_name]}")
    sheet.auto_filter.ref = f"A1:{sheet.cell(row=1, column=len(COLUMNS)).column_letter}1"
    _instructions(workbook.create_sheet(HELP_SHEET, 1), project, names, max_bytes, max_rows)
    workbook.active = 0
    return save(workbook, f"{project.code}-征迁户花名册模板.xlsx")


def _dropdown(sheet: Worksheet, field_name: str, formula: str, last: int, prompt: str) -> None:
    index = [c.field for c in COLUMNS].index(field_name) + 1
    dropdown(sheet, sheet.cell(row=1, column=index).column_letter, formula, last, HEADER_OF[field_name], prompt)


def _instructions(sheet: Worksheet, project: Project, names: dict[str, list[str]], max_bytes: int,
                  max_rows: int) -> None:
    lines = [
        f"项目：{project.name}（{project.code}）",
        f"在「{SHEET}」工作表第 2 行起每行填写一户，第 1 行为表头，请勿修改表头文字；空行会被跳过。",
        "红底表头为必填列；户别、土地性质、村/片区、批次、工作组可从下拉列表选择，须是本项目已有的名称。",
        f"每次最多导入 {max_rows} 户，文件不超过 {max(max_bytes // (1024 * 1024), 1)} MB，须保存为 .xlsx 格式。",
        "导入前逐行校验：只要有一个单元格有误，整份名册都不会导入，页面会列出每个有误的行号和列名。",
        "公式单元格按其计算结果读取；户号、联系电话请按文本填写，避免被 Excel 自动改成日期或科学计数。",
        "导入成功后，每户自动建立案件并进入「调查建档」环节。",
        *(f"{HEADER_OF[key]}：" + ("、".join(listed) if listed else f"（本项目尚未设置{HEADER_OF[key]}）")
          for key, listed in names.items()),
    ]
    instructions(sheet, "征迁户花名册填写说明", lines, COLUMNS, (14, 10, 60, 24))


@dataclass
class ImportResult:
    """What an import created."""

    created: int
    household_ids: list[int] = field(default_factory=list)


def import_roster(actor: Actor, project_id: int, stream: BinaryIO | None, *, filename: str | None, now: datetime,
                  max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> ImportResult:
    """Create a household, with its pipeline started, for every row of the roster — or none when any cell is bad."""
    with transaction():
        project = importer_project(actor, project_id)
        setup.ensure_open(project)
        data = reader.read_limited(stream, max_bytes)
        reader.check_xlsx(data)
        table = reader.read_table(data, sheet_title=SHEET, max_rows=max_rows)
        rows, problems = check_rows(table, COLUMNS, project)
        if problems:
            raise RosterInvalid(problems)
        if not rows:
            raise InvalidInput(problem("roster_empty"), {"file": [problem("roster_no_rows")]},
                               code="no_rows")
        ids = []
        for values in rows:
            household = Household(project_id=project.id, created_at=now, created_by_id=actor.id, **values)
            db.session.add(household)
            db.session.flush()
            audit.record(actor, "household.create", "household", household.id, household_id=household.id,
                         after={**values, "source": "roster"}, at=now)
            runtime.start_instance(actor, household, now=now)
            ids.append(household.id)
        audit.record(actor, "household.import", "project", project.id,
                     after={"created": len(ids), "file": _safe_name(filename), "bytes": len(data)}, at=now)
    return ImportResult(len(ids), ids)


def _safe_name(name: str | None) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).replace("\x00", "").strip()
    return base.encode("utf-8", "replace").decode("utf-8")[:255] or "roster.xlsx"
