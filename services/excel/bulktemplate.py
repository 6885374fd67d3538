"""The workbooks of the bulk import to fill in: one sheet per part with its rules, dropdowns and an example
row, and a sheet of instructions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from app.models import Project, utcnow
from services.access import get_project
from services.compensation import catalogue
from services.context import Actor
from services.excel.bulkplan import _kind
from services.excel.bulkspec import (
    CHOICE,
    CODE,
    FILENAMES,
    IDNO,
    ITEM,
    NAME,
    PHONE,
    TEXT,
    YESNO,
    SheetSpec,
    labels_of,
)
from services.excel.sheets import (
    BORDER,
    CHOICES_SHEET,
    TITLE_FONT,
    TOTAL_FONT,
    WRAP,
    Sheet,
    annotated_header,
    choice_lists,
    dropdown,
    put,
    save,
)

TEMPLATE_ROWS = 2000
EXAMPLE_FONT = Font(italic=True, color="7F7F7F")
EXAMPLE_FILL = PatternFill("solid", fgColor="F2F2F2")


def _catalogue_names(project_id: int, now: datetime) -> list[str]:
    """The Chinese names of the items of the project's policy, as the survey template lists them."""
    return [catalogue.name(i, english=False) for i in catalogue.items(catalogue.rules_for_project(project_id, now))]


def template(actor: Actor, project_id: int, kind: str, now: datetime | None = None) -> Sheet:
    """The workbook to fill in: one sheet per part, Chinese headers with their rules, dropdowns on every choice
    column (the survey's items: the catalogue of the project's policy) and one example row (grey, its code
    starting with 示例, skipped on import)."""
    sheets = _kind(kind)
    project = get_project(actor.user, project_id)
    workbook = Workbook()
    workbook.remove(workbook.active)
    names = {"village": [v.name for v in project.villages], "batch": [b.name for b in project.batches],
             "work_group": [g.name for g in project.groups],
             "item": _catalogue_names(project.id, now or utcnow()) if kind == "survey" else []}
    lists = choice_lists(workbook, names)
    for spec in sheets:
        sheet = workbook.create_sheet(spec.title)
        annotated_header(sheet, spec.columns)
        for index, column in enumerate(spec.columns, start=1):
            cell = sheet.cell(row=1, column=index)
            letter = cell.column_letter
            if column.kind in (CODE, IDNO, PHONE, TEXT):
                sheet.column_dimensions[letter].number_format = "@"
            shown = column.example
            if column.kind == ITEM and names["item"] and shown not in names["item"]:
                shown = names["item"][0]
            example = put(sheet, 2, index, shown if shown != "" else None)
            example.font, example.fill = EXAMPLE_FONT, EXAMPLE_FILL
            formula = None
            listed = "item" if column.kind == ITEM else column.field if column.kind == NAME else None
            if column.kind == CHOICE:
                formula = '"' + ",".join(labels_of(column.choices).values()) + '"'
            elif column.kind == YESNO:
                formula = '"是,否"'
            elif listed:
                formula = lists.get(listed)
            if formula:
                dropdown(sheet, letter, formula, TEMPLATE_ROWS + 2, column.header, "请从列表中选择")
    _instructions(workbook.create_sheet("填写说明", 0), project, kind, sheets)
    workbook.move_sheet(CHOICES_SHEET, offset=len(workbook.sheetnames))
    workbook.active = 1
    return save(workbook, f"{project.code}-{FILENAMES[kind]}.xlsx")


def _instructions(sheet: Any, project: Project, kind: str, sheets: tuple[SheetSpec, ...]) -> None:
    step = "调查建档" if kind == "survey" else "评估作业"
    lines = [
        f"项目：{project.name}（{project.code}）",
        "每个工作表第 1 行为表头，请勿修改表头文字；第 2 行为灰色示例行（户号以“示例”开头），导入时跳过，可删除。",
        "各表以“户号”相互关联；红底表头为必填列；选项列请从下拉列表选择。",
        "导入前逐格校验：只要有一个单元格有误，整份文件都不会导入，页面会列出每个有误的工作表、行号和列名。",
        "先“预览”看将写入的户数、人数、房屋数，确认后才写入；同一文件重复导入不会再写入。",
        (f"导入后每户建立案件，「{step}」环节以导入人的名义完成，进入「评估作业」环节；村/片区、批次、工作组须是本项目已有的名称。"
         if kind == "survey" else
         f"只导入正在等待「{step}」的户；每户每栋房屋都要有单价，房屋名称与调查建档时一致。导入后进入「确权确户」环节。"
         "“已签回避声明”填“是”的户，以导入人的名义记录回避声明并注明评估师已签书面声明，书面声明请归档备查。"),
        "身份证号、户号、电话请按文本填写，避免被 Excel 改成科学计数或日期。",
    ]
    put(sheet, 1, 1, f"{FILENAMES[kind]}填写说明").font = TITLE_FONT
    for row, text in enumerate(lines, start=2):
        put(sheet, row, 1, text)
    top = len(lines) + 3
    for column, title in enumerate(("工作表", "列名", "是否必填", "填写要求"), start=1):
        cell = put(sheet, top, column, title)
        cell.font, cell.border = TOTAL_FONT, BORDER
    row = top + 1
    for spec in sheets:
        for column in spec.columns:
            for index, value in enumerate((spec.title, column.header, "必填" if column.required else "选填",
                                           column.rule), start=1):
                cell = put(sheet, row, index, value)
                cell.alignment, cell.border = WRAP, BORDER
            row += 1
    for letter, width in zip("ABCD", (12, 18, 10, 60), strict=True):
        sheet.column_dimensions[letter].width = width
