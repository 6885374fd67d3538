"""What the office's spreadsheets share: Chinese names of codes, header styling, safe text cells, saving."""
from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.text import clean

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

KIND_LABELS = {"collective_house": "农户(集体土地房屋)", "state_house": "国有土地住宅", "enterprise": "企业",
               "shop": "店面"}
NATURE_LABELS = {"collective": "集体", "state": "国有"}
STATUS_LABELS = {"running": "办理中", "completed": "已办结", "suspended": "已挂起", "error": "异常",
                 "cancelled": "已撤销"}

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
REQUIRED_FILL = PatternFill("solid", fgColor="9C2A2A")
TOTAL_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
TOTAL_FILL = PatternFill("solid", fgColor="E7EEF6")
THIN = Side(style="thin", color="9AA5B1")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="top", wrap_text=True)
HELP_SHEET = "填写说明"
CHOICES_SHEET = "选项"


@dataclass(frozen=True)
class Column:
    """A column of a sheet to fill in: the field it fills, its Chinese header, whether it is required, its width,
    what goes in it and an example."""

    field: str
    header: str
    required: bool
    width: int
    rule: str
    example: str


@dataclass(frozen=True)
class Sheet:
    """A workbook ready to send: its bytes and the name to download it as."""

    content: bytes
    filename: str


def cell_text(value: Any) -> Any:
    """Text without the characters a spreadsheet cannot hold (a stray \x01 or U+FFFF in a name stored before
    such text was refused); other values as they are."""
    return clean(value)


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write a value; text is always stored as text, so a name starting with '=' never becomes a formula."""
    value = cell_text(value)
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str) and cell.data_type in ("f", "e"):
        cell.data_type = "s"
    return cell


def header_row(ws: Worksheet, headers: list[str], widths: list[int], required: set[str] | None = None) -> None:
    """Write the header row (row 1), styled, frozen below it, with the columns' widths."""
    for column, (title, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = put(ws, 1, column, title)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if required and title in required else HEADER_FILL
        cell.alignment = CENTER
        cell.border = BORDER
        ws.column_dimensions[cell.column_letter].width = width
    ws.row_dimensions[1].height = 24
    ws.freeze_panes = "A2"


def annotated_header(ws: Worksheet, columns: Any) -> None:
    """The header row of a sheet to fill in (required columns marked), each title commented with its rule."""
    header_row(ws, [c.header for c in columns], [c.width for c in columns], {c.header for c in columns if c.required})
    for index, column in enumerate(columns, start=1):
        rule = ("必填。" if column.required else "选填。") + column.rule
        ws.cell(row=1, column=index).comment = Comment(rule, "拆迁办")


def choice_lists(workbook: Workbook, lists: dict[str, list[str]]) -> dict[str, str]:
    """A hidden sheet listing, a column each, the names the dropdowns offer; the range each list's validation
    refers to (an empty list has none)."""
    choices = workbook.create_sheet(CHOICES_SHEET)
    choices.sheet_state = "hidden"
    ranges = {}
    for column, (key, names) in enumerate(lists.items(), start=1):
        for row, name in enumerate(names, start=1):
            put(choices, row, column, name)
        if names:
            letter = get_column_letter(column)
            ranges[key] = f"'{CHOICES_SHEET}'!${letter}$1:${letter}${len(names)}"
    return ranges


def choices_list(workbook: Workbook, names: list[str]) -> str:
    """A hidden sheet listing the names a dropdown offers; the range its list validation refers to."""
    return choice_lists(workbook, {"names": names})["names"]


def dropdown(ws: Worksheet, letter: str, formula: str, last: int, title: str, prompt: str) -> None:
    """A dropdown on a column from row 2 to `last` that refuses, in Chinese, what its list does not hold."""
    rule = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                          showInputMessage=True, errorTitle="输入有误", error="请从下拉列表中选择",
                          promptTitle=title, prompt=prompt)
    rule.add(f"{letter}2:{letter}{last}")
    ws.add_data_validation(rule)


def instructions(ws: Worksheet, title: str, lines: list[str], columns: Any, widths: tuple[int, int, int, int]) -> None:
    """An instructions sheet: its title, the lines, and a table of the columns (each with header, required, rule
    and example)."""
    put(ws, 1, 1, title).font = TITLE_FONT
    for row, text in enumerate(lines, start=2):
        put(ws, row, 1, text)
    top = len(lines) + 3
    for column, heading in enumerate(("列名", "是否必填", "填写要求", "示例"), start=1):
        cell = put(ws, top, column, heading)
        cell.font = TOTAL_FONT
        cell.border = BORDER
    for row, column in enumerate(columns, start=top + 1):
        for index, value in enumerate((column.header, "必填" if column.required else "选填", column.rule,
                                       column.example), start=1):
            cell = put(ws, row, index, value)
            cell.alignment = WRAP
            cell.border = BORDER
    for letter, width in zip("ABCD", widths, strict=True):
        ws.column_dimensions[letter].width = width


def save(workbook: Workbook, filename: str) -> Sheet:
    """The workbook as bytes, with its download name."""
    buffer = BytesIO()
    workbook.save(buffer)
    return Sheet(buffer.getvalue(), filename)
