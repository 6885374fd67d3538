"""Bulk import of work done on paper: the survey (households with their members, buildings, ancillary items and
business details) and the appraisal (report and unit prices) from the workbooks the office hands out.

Every cell is checked first and named by sheet, row and column; any problem and nothing is written. A dry run
tells what would be written. A file is imported once per project and kind (re-importing it changes nothing);
the import completes the step of each household as the importing user, its history marked as imported, and the
workbook is kept in each household's file."""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from marshmallow import ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Batch, BulkImport, Household, HumanTask, Project, Village, utcnow
from services import audit, files, history, runtime, store
from services.access import get_project
from services.compensation import catalogue
from services.context import Actor
from services.errors import Conflict, Forbidden, InvalidInput
from services.excel import bulkwrite, reader
from services.excel.bulkspec import (
    ANCILLARY,
    APPRAISALS,
    BUILDINGS,
    BUSINESS,
    CHOICE,
    CODE,
    DATE,
    EXAMPLE,
    FILENAMES,
    HOUSEHOLDS,
    IDNO,
    IMPORTER_ROLES,
    INT,
    ITEM,
    KINDS_OF_IMPORT,
    MONEY,
    NAME,
    PERSONS,
    PHONE,
    PRICES,
    TEXT,
    YES,
    YESNO,
    Column,
    SheetSpec,
    labels_of,
)
from services.excel.checks import _check_row, _codes_taken, normalize
from services.excel.roster import _safe_name
from services.excel.sheets import BORDER, TITLE_FONT, TOTAL_FONT, WRAP, Sheet, header_row, put, save
from services.forms.assessment import AppraisalForm
from services.forms.fields import CHOICE_LABELS
from services.forms.registry import schema_instance
from services.forms.survey import SurveyForm
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tx import transaction

register_problems({
    "bulk_kind": N_("unknown kind of import"),
    "bulk_forbidden": N_("your roles may not import this work"),
    "bulk_cells": N_("%(count)s cell(s) of the workbook have problems; nothing was imported"),
    "bulk_problems": N_("%(count)s problem(s) in the workbook"),
    "bulk_empty": N_("the workbook holds no households"),
    "bulk_sheet_missing": N_("the sheet is missing"),
    "bulk_number_in_text": N_("a number where text is expected; format the column as text and type it again"),
    "bulk_code_unknown": N_("no household with this code on the households sheet"),
    "bulk_household_unknown": N_("no household of this project has this code"),
    "bulk_not_waiting": N_("this household is not waiting for its appraisal"),
    "bulk_once": N_("one row per household; the household is already in row %(row)s"),
    "bulk_building_unknown": N_("this household has no building of this name"),
    "bulk_building_twice": N_("the building already has a price in row %(row)s"),
    "bulk_building_unpriced": N_("no unit price for the building %(label)s"),
    "bulk_name_unknown": N_("no village, batch or group of this project has this name"),
    "bulk_not_number": N_("not a number"),
    "bulk_not_whole": N_("not a whole number"),
    "bulk_not_date": N_("not a date (for example 2026-03-01)"),
    "bulk_yes_no": N_("must be yes or no"),
    "bulk_file_gone": N_("the checked file is no longer here; upload it again"),
    "bulk_rows_none": N_("no rows for this household"),
    "bulk_item_not_in_policy": N_("not an item of this project's compensation policy; choose one from the list"),
    "bulk_declaration_unsigned": N_("only an appraisal whose appraiser signed the written no-conflict declaration "
                                    "can be imported (yes)"),
})
# the conflict-of-interest declaration recorded for an imported appraisal, in the importing user's name
DECLARATION_NOTE = "批量导入：评估师{appraiser}已签书面回避声明"

MAX_BYTES = 20 * 1024 * 1024
MAX_HOUSEHOLDS = 5000
MAX_ROWS = 60000
TEMPLATE_ROWS = 2000
DOSSIER = {"survey": ("survey", "survey_form"), "appraisal": ("appraisal", "appraisal_report")}
EXAMPLE_FONT = Font(italic=True, color="7F7F7F")
EXAMPLE_FILL = PatternFill("solid", fgColor="F2F2F2")


@dataclass(frozen=True)
class CellProblem:
    """A bad cell: its sheet, spreadsheet row (the header is row 1), column title and field, and the problem."""

    sheet: str
    row: int
    column: str
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API reports it."""
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "field": self.field,
                "message": self.message}


class BulkInvalid(InvalidInput):
    """The workbook has bad cells; nothing was imported. `problems` names each by sheet, row and column."""

    def __init__(self, problems: list[CellProblem]):
        count = len(problems)
        super().__init__(problem("bulk_cells", count=count), {"file": [problem("bulk_problems", count=count)]},
                         code="invalid_workbook")
        self.problems = problems


@dataclass
class Planned:
    """One household as the import would write it."""

    code: str
    head_name: str
    row: int
    values: dict[str, Any] = field(default_factory=dict)    # the household's own fields (survey)
    data: dict[str, Any] = field(default_factory=dict)      # what completing the step submits
    household_id: int | None = None
    task: HumanTask | None = None
    loaded: dict[str, Any] | None = None                    # data as the step's form loaded it at the check


@dataclass
class Report:
    """What an import would write (a dry run) or wrote."""

    kind: str
    sha256: str
    filename: str
    households: list[Planned]
    persons: int = 0
    buildings: int = 0
    ancillary: int = 0
    businesses: int = 0
    written: bool = False
    already: bool = False  # the same file was imported before: nothing to do

    @property
    def steps(self) -> int:
        """The steps the import completes (one per household)."""
        return len(self.households)

    def as_dict(self) -> dict[str, Any]:
        """The report as the API answers it."""
        return {"kind": self.kind, "sha256": self.sha256, "dry_run": not self.written and not self.already,
                "already_imported": self.already, "households": len(self.households), "persons": self.persons,
                "buildings": self.buildings, "ancillary": self.ancillary, "businesses": self.businesses,
                "steps_completed": self.steps, "codes": [p.code for p in self.households]}


def _kind(kind: str) -> tuple[SheetSpec, ...]:
    if kind not in KINDS_OF_IMPORT:
        raise InvalidInput(problem("bulk_kind"), {"kind": [problem("bulk_kind")]})
    return KINDS_OF_IMPORT[kind]


def importer_project(actor: Actor, project_id: int, kind: str) -> Project:
    """A project of the actor's into which they may import this kind (admin, or the module's role), else 404/403."""
    _kind(kind)
    project = get_project(actor.user, project_id)
    if not actor.user.has_role(*IMPORTER_ROLES[kind]):
        raise Forbidden(problem("bulk_forbidden"))
    return project


def may_import(user: Any, kind: str) -> bool:
    """Whether the user's roles may import this kind at all."""
    return user.has_role(*IMPORTER_ROLES[kind])


# ---------------------------------------------------------------- templates

def _catalogue_names(project_id: int, now: datetime) -> list[str]:
    """The Chinese names of the items of the project's policy, as the survey template lists them."""
    return [catalogue.name(i, english=False) for i in catalogue.items(catalogue.rules_for_project(project_id, now))]


def _items_by_name(project_id: int, now: datetime) -> dict[str, str]:
    """The codes of the items of the project's policy by normalized Chinese name (also by code, and by the label
    earlier templates gave the item)."""
    found = catalogue.items(catalogue.rules_for_project(project_id, now))
    earlier = labels_of(tuple(i["code"] for i in found if i["code"] in CHOICE_LABELS))
    table = {normalize(label): code for code, label in earlier.items()}
    for item in reversed(found):  # the first item of a name wins
        table[normalize(catalogue.name(item, english=False))] = item["code"]
    table.update({normalize(i["code"]): i["code"] for i in found})
    return table


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
    lists = workbook.create_sheet("选项")
    lists.sheet_state = "hidden"
    for index, key in enumerate(names, start=1):
        for row, name in enumerate(names[key], start=1):
            put(lists, row, index, name)
    for spec in sheets:
        sheet = workbook.create_sheet(spec.title)
        header_row(sheet, [c.header for c in spec.columns], [c.width for c in spec.columns],
                   {c.header for c in spec.columns if c.required})
        for index, column in enumerate(spec.columns, start=1):
            cell = sheet.cell(row=1, column=index)
            cell.comment = Comment(("必填。" if column.required else "选填。") + column.rule, "拆迁办")
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
            elif listed and names[listed]:
                letter_of = "ABCD"[list(names).index(listed)]
                formula = f"'选项'!${letter_of}$1:${letter_of}${len(names[listed])}"
            if formula:
                rule = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                                      errorTitle="输入有误", error="请从下拉列表中选择", promptTitle=column.header,
                                      prompt="请从列表中选择", showInputMessage=True)
                rule.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 2}")
                sheet.add_data_validation(rule)
    _instructions(workbook.create_sheet("填写说明", 0), project, kind, sheets)
    workbook.move_sheet("选项", offset=len(workbook.sheetnames))
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


# ---------------------------------------------------------------- reading and checking

@dataclass
class Row:
    """A row of a sheet: its spreadsheet number and its values by field (only cells without problems)."""

    number: int
    values: dict[str, Any]


class Checker:
    """Reads the sheets of one workbook and collects every problem."""

    def __init__(self, kind: str, project: Project, now: datetime):
        self.kind = kind
        self.project = project
        # the survey's items: those of the catalogue of the project's policy, by name or code
        self.items = _items_by_name(project.id, now) if kind == "survey" else {}
        self.problems: list[CellProblem] = []
        self.sheets: dict[str, list[Row]] = {}
        self._named: set[tuple[str, int, str]] = set()

    def add(self, spec: SheetSpec, row: int, name: str, message: str) -> None:
        """A bad cell, once: the first problem found in it (a bad choice, not the form's "required" after it)."""
        if (spec.title, row, name) not in self._named:
            self._named.add((spec.title, row, name))
            self.problems.append(CellProblem(spec.title, row, spec.header_of(name), name, message))

    def read(self, data: bytes) -> None:
        try:
            workbook = load_workbook(BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Exception:  # openpyxl fails in many ways on a damaged workbook; each means the same to the user
            raise reader._unreadable() from None
        try:
            for spec in KINDS_OF_IMPORT[self.kind]:
                if spec.title not in workbook.sheetnames:
                    if spec.required:
                        self.problems.append(CellProblem(spec.title, 1, "", "", problem("bulk_sheet_missing")))
                    self.sheets[spec.title] = []
                    continue
                self.sheets[spec.title] = self._sheet(spec, workbook[spec.title])
        except Exception as exc:
            if isinstance(exc, InvalidInput):
                raise
            raise reader._unreadable() from None
        finally:
            workbook.close()

    def _sheet(self, spec: SheetSpec, sheet: Any) -> list[Row]:
        header = [c.value for c in next(iter(sheet.iter_rows(min_row=1, max_row=1, max_col=64)), ())]
        known = {normalize(c.header): c for c in spec.columns} | {normalize(c.field): c for c in spec.columns}
        positions: dict[int, Column] = {}
        seen: set[str] = set()
        for index, title in enumerate(header):
            column = known.get(normalize(title)) if title is not None else None
            if column is not None and column.field not in seen:
                positions[index] = column
                seen.add(column.field)
        for column in spec.columns:
            if column.required and column.field not in seen:
                self.add(spec, 1, column.field, problem("roster_column_missing"))
        if any(c.required and c.field not in seen for c in spec.columns):
            return []
        rows: list[Row] = []
        width = max(positions) + 1
        for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
            raw = [(cells[i].value, cells[i].data_type) if i < len(cells) else (None, None) for i in positions]
            if all(value is None or (isinstance(value, str) and not value.strip()) for value, _ in raw):
                continue
            code = raw[0][0] if positions and next(iter(positions.values())).field == "code" else None
            if isinstance(code, str) and code.strip().startswith(EXAMPLE):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(problem("roster_too_many", max=MAX_HOUSEHOLDS),
                                   {"file": [problem("rows_max", max=MAX_ROWS)]}, code="too_many_rows")
            values: dict[str, Any] = {}
            for (value, data_type), column in zip(raw, positions.values(), strict=True):
                converted = self._cell(spec, number, column, value, data_type)
                if converted is not None:
                    values[column.field] = converted
            rows.append(Row(number, values))
        return rows

    def _cell(self, spec: SheetSpec, number: int, column: Column, value: Any, data_type: str | None) -> Any:
        """A cell's value for the form (text, a code, a Decimal as text, an int, a bool, an ISO date), or None
        when empty or bad (then a problem is added)."""
        if value is None:
            return None
        if column.kind == DATE and isinstance(value, (datetime, date)):
            return (value.date() if isinstance(value, datetime) else value).isoformat()
        if column.kind in (TEXT, IDNO) and isinstance(value, (int, float)) and not isinstance(value, bool):
            self.add(spec, number, column.field, problem("bulk_number_in_text"))
            return None
        cell = reader.cell_text(value, data_type)
        if cell.problem:
            message = problem("roster_error_cell", value=cell.detail or "") if cell.problem == "error_cell" else \
                problem("roster_date") if cell.problem == "date" else problem("invalid")
            self.add(spec, number, column.field, message)
            return None
        text = cell.text
        if text is None:
            return None
        kind = column.kind
        if kind == CHOICE:
            table = {normalize(label): code for code, label in labels_of(column.choices).items()}
            table.update({normalize(code): code for code in column.choices})
            if column.field == "kind":
                from services.excel.checks import KINDS
                table.update(KINDS)
            found = table.get(normalize(text))
            if found is None:
                self.add(spec, number, column.field,
                         problem("roster_choice", choices="、".join(labels_of(column.choices).values())))
            return found
        if kind == ITEM:
            found = self.items.get(normalize(text))
            if found is None:
                self.add(spec, number, column.field, problem("bulk_item_not_in_policy"))
            return found
        if kind == YESNO:
            found = YES.get(normalize(text))
            if found is None:
                self.add(spec, number, column.field, problem("bulk_yes_no"))
            return found
        if kind == MONEY:
            try:
                amount = Decimal(text)
            except InvalidOperation:
                self.add(spec, number, column.field, problem("bulk_not_number"))
                return None
            if not amount.is_finite():
                self.add(spec, number, column.field, problem("bulk_not_number"))
                return None
            return text
        if kind == INT:
            try:
                whole = float(text)
            except ValueError:
                whole = math.nan
            if not math.isfinite(whole) or not whole.is_integer():
                self.add(spec, number, column.field, problem("bulk_not_whole"))
                return None
            return int(whole)
        if kind == DATE:
            try:
                return date.fromisoformat(text.replace("/", "-").replace(".", "-")).isoformat()
            except ValueError:
                self.add(spec, number, column.field, problem("bulk_not_date"))
                return None
        if kind == PHONE:
            return "".join(text.split())
        return text

    def by_household(self, spec: SheetSpec, codes: dict[str, int]) -> dict[str, list[Row]]:
        """The sheet's rows by household code; a code the import does not know is a problem."""
        found: dict[str, list[Row]] = defaultdict(list)
        for row in self.sheets.get(spec.title, []):
            code = row.values.get("code")
            if code is None:
                if "code" not in {p.field for p in self.problems if p.sheet == spec.title and p.row == row.number}:
                    self.add(spec, row.number, "code", problem("required"))
                continue
            if code not in codes:
                self.add(spec, row.number, "code", problem(
                    "bulk_code_unknown" if self.kind == "survey" else "bulk_household_unknown"))
                continue
            if spec.one_per_household and found[code]:
                self.add(spec, row.number, "code", problem("bulk_once", row=found[code][0].number))
                continue
            found[code].append(row)
        return found

    def schema_errors(self, messages: Any, where: dict[str, tuple[SheetSpec, list[Row]]], head: tuple[SheetSpec, int],
                      ) -> None:
        """Marshmallow's messages of one household mapped back to cells: a nested row's field to its row, a list's
        own problem to its first row, the rest to the household's row."""
        for name, found in (messages or {}).items():
            if name in where:
                spec, rows = where[name]
                if isinstance(found, dict):
                    for index, fields in found.items():
                        row = rows[int(index)].number if str(index).isdigit() and int(index) < len(rows) else \
                            (rows[0].number if rows else head[1])
                        for sub, texts in (fields.items() if isinstance(fields, dict) else [("code", fields)]):
                            for text in _texts(texts):
                                self.add(spec, row, sub if sub in {c.field for c in spec.columns} else "code", text)
                else:
                    for text in _texts(found):
                        if rows:
                            self.add(spec, rows[0].number, "code", text)
                        else:
                            self.add(head[0], head[1], "code", problem("bulk_rows_none"))
                            break
            elif name == "business" and isinstance(found, dict):
                rows = where.get("business", (BUSINESS, []))[1]
                for sub, texts in found.items():
                    for text in _texts(texts):
                        self.add(BUSINESS, rows[0].number if rows else head[1], sub, text)
            else:
                spec = head[0]
                for text in _texts(found):
                    self.add(spec, head[1], name if name in {c.field for c in spec.columns} else "code", text)


def _texts(found: Any) -> list[str]:
    if isinstance(found, dict):
        return [t for value in found.values() for t in _texts(value)]
    if isinstance(found, list):
        return [t for value in found for t in _texts(value)]
    return [found if isinstance(found, str) else str(found)]


def _names(model: Any, project_id: int) -> dict[str, int]:
    return {normalize(name): id_ for id_, name in db.session.execute(
        select(model.id, model.name).where(model.project_id == project_id))}


def _check_survey(checker: Checker, project: Project) -> list[Planned]:
    homes = checker.sheets[HOUSEHOLDS.title]
    groups: dict[str, list[int]] = defaultdict(list)
    for group in project.groups:
        groups[group.name.strip()].append(group.id)
    default_group = project.groups[0].id if project.groups else None
    villages, batches = _names(Village, project.id), _names(Batch, project.id)
    planned: dict[str, Planned] = {}
    for row in homes:
        texts = {k: str(v) for k, v in row.values.items() if k in ("code", "address", "head_name", "phone", "notes",
                                                                   "work_group")}
        cells = {k: reader.Value(text=v) for k, v in texts.items()}
        for key in ("kind", "land_nature"):
            if key in row.values:
                cells[key] = reader.Value(text={"kind": labels_of(("collective_house", "state_house", "enterprise",
                                                                   "shop")),
                                                "land_nature": labels_of(("collective", "state"))}[key]
                                          [row.values[key]])
        flagged = {p.field for p in checker.problems if p.sheet == HOUSEHOLDS.title and p.row == row.number}
        for name in ("code", "kind", "address", "head_name"):
            if name not in cells and name not in flagged:
                cells[name] = reader.Value()
        values, found = _check_row(row.number, {k: v for k, v in cells.items() if k not in flagged}, groups,
                                   default_group)
        for p in found:
            checker.add(HOUSEHOLDS, p.row, p.field, p.message)
        for key, table in (("village", villages), ("batch", batches)):
            name = row.values.get(key)
            if name is not None:
                if normalize(name) in table:
                    values[f"{key}_id"] = table[normalize(name)]
                    if key == "village":
                        values["section"] = str(name)[:64]
                else:
                    checker.add(HOUSEHOLDS, row.number, key, problem("bulk_name_unknown"))
        code = values.get("code")
        if code is None:
            continue
        if code in planned:
            checker.add(HOUSEHOLDS, row.number, "code", problem("roster_code_repeats", row=planned[code].row))
            continue
        planned[code] = Planned(code, values.get("head_name") or "", row.number, values)
    taken = _codes_taken(project.id, list(planned))
    for code in taken:
        checker.add(HOUSEHOLDS, planned[code].row, "code", problem("household_code_exists"))
    codes = {code: p.row for code, p in planned.items()}
    persons = checker.by_household(PERSONS, codes)
    buildings = checker.by_household(BUILDINGS, codes)
    ancillary = checker.by_household(ANCILLARY, codes)
    business = checker.by_household(BUSINESS, codes)
    schema = schema_instance(SurveyForm)
    for code, plan in planned.items():
        own = plan.values
        data = {"head_name": own.get("head_name"), "address": own.get("address"), "phone": own.get("phone"),
                "land_nature": own.get("land_nature"), "notes": own.get("notes"),
                "persons": [_without_code(r.values) for r in persons.get(code, [])],
                "buildings": [_without_code(r.values) for r in buildings.get(code, [])],
                "ancillary": [{"code": r.values.get("item"), "count": r.values.get("count")}
                              for r in ancillary.get(code, [])]}
        home = next(r for r in homes if r.number == plan.row)
        if "homestead_area" in home.values:
            data["homestead_area"] = home.values["homestead_area"]
        if business.get(code):
            data["business"] = _without_code(business[code][0].values)
        data = {k: v for k, v in data.items() if v is not None}
        plan.data = data
        try:
            plan.loaded = schema.load(data)
        except ValidationError as exc:
            messages = dict(exc.messages) if isinstance(exc.messages, dict) else {}
            if "ancillary" in messages and isinstance(messages["ancillary"], dict):
                messages["ancillary"] = {i: {"item" if k == "code" else k: v for k, v in m.items()}
                                         for i, m in messages["ancillary"].items()}
            checker.schema_errors(messages, {"persons": (PERSONS, persons.get(code, [])),
                                             "buildings": (BUILDINGS, buildings.get(code, [])),
                                             "ancillary": (ANCILLARY, ancillary.get(code, [])),
                                             "business": (BUSINESS, business.get(code, []))},
                                  (HOUSEHOLDS, plan.row))
    return list(planned.values())


def _without_code(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "code"}


def _check_appraisal(checker: Checker, project: Project) -> list[Planned]:
    reports = checker.sheets[APPRAISALS.title]
    wanted = {r.values["code"] for r in reports if "code" in r.values}
    waiting: dict[str, tuple[Household, HumanTask]] = {}
    known: dict[str, Household] = {}
    listed = sorted(wanted)
    for start in range(0, len(listed), 500):
        chunk = listed[start:start + 500]
        for household, task in db.session.execute(
                select(Household, HumanTask).outerjoin(HumanTask, (HumanTask.household_id == Household.id)
                                                       & (HumanTask.status == "ready")
                                                       & (HumanTask.form_key == "appraisal"))
                .where(Household.project_id == project.id, Household.code.in_(chunk))):
            known[household.code] = household
            if task is not None:
                waiting[household.code] = (household, task)
    codes: dict[str, int] = {}
    for row in reports:
        code = row.values.get("code")
        if code is None:
            continue
        if code not in known:
            checker.add(APPRAISALS, row.number, "code", problem("bulk_household_unknown"))
        elif code not in waiting:
            checker.add(APPRAISALS, row.number, "code", problem("bulk_not_waiting"))
        else:
            codes.setdefault(code, row.number)
    reports_of = checker.by_household(APPRAISALS, {**codes, **{c: 0 for c in known if c not in codes}})
    prices = checker.by_household(PRICES, {**codes, **{c: 0 for c in known if c not in codes}})
    buildings = _buildings_of([waiting[c][0].id for c in codes])
    schema = schema_instance(AppraisalForm)
    planned = []
    for code, number in codes.items():
        household, task = waiting[code]
        own = {b.label: b.id for b in buildings.get(household.id, [])}
        rows, priced = [], {}
        for row in prices.get(code, []):
            label = row.values.get("label")
            if label is None:
                continue
            if label not in own:
                checker.add(PRICES, row.number, "label", problem("bulk_building_unknown"))
            elif label in priced:
                checker.add(PRICES, row.number, "label", problem("bulk_building_twice", row=priced[label]))
            else:
                priced[label] = row.number
                rows.append(row)
        for label in own:
            if label not in priced:
                checker.add(APPRAISALS, number, "code", problem("bulk_building_unpriced", label=label))
        report = reports_of[code][0].values
        if report.get("no_conflict") is not True:  # 否, or empty: no signed declaration, no import
            checker.add(APPRAISALS, reports_of[code][0].number, "no_conflict", problem("bulk_declaration_unsigned"))
        data = {k: v for k, v in report.items() if k != "code"}
        data["conflict_note"] = DECLARATION_NOTE.format(appraiser=report.get("appraiser_name") or "")
        data["buildings"] = [{"building_id": own[r.values["label"]],
                              **{k: v for k, v in r.values.items() if k in ("unit_price", "decoration_value")}}
                             for r in rows]
        try:
            schema.load(data)
        except ValidationError as exc:
            messages = dict(exc.messages) if isinstance(exc.messages, dict) else {}
            if isinstance(messages.get("buildings"), list) and not rows:
                messages.pop("buildings")  # already named: no building is priced
            checker.schema_errors(messages, {"buildings": (PRICES, rows)}, (APPRAISALS, number))
        planned.append(Planned(code, household.head_name, number, {}, data, household.id, task))
    return planned


def _buildings_of(household_ids: list[int]) -> dict[int, list[Any]]:
    from app.models import Building

    found: dict[int, list[Any]] = defaultdict(list)
    for start in range(0, len(household_ids), 500):
        chunk = household_ids[start:start + 500]
        for building in db.session.scalars(select(Building).where(Building.household_id.in_(chunk))
                                           .order_by(Building.position, Building.id)):
            found[building.household_id].append(building)
    return found


def check(actor: Actor, project_id: int, kind: str, data: bytes, filename: str | None,
          now: datetime | None = None) -> Report:
    """Check every cell; BulkInvalid names each bad one. The report tells what the import would write (the
    survey's items checked against the catalogue of the project's policy in force at `now`)."""
    project = importer_project(actor, project_id, kind)
    reader.check_xlsx(data)
    sha = hashlib.sha256(data).hexdigest()
    name = _safe_name(filename)
    if _done(project.id, sha, kind) is not None:
        return Report(kind, sha, name, [], already=True)
    checker = Checker(kind, project, now or utcnow())
    checker.read(data)
    if not any(c.sheet == spec.title and c.row == 1 for spec in KINDS_OF_IMPORT[kind] for c in checker.problems):
        planned = _check_survey(checker, project) if kind == "survey" else _check_appraisal(checker, project)
    else:
        planned = []
    if checker.problems:
        order = {spec.title: i for i, spec in enumerate(KINDS_OF_IMPORT[kind])}
        checker.problems.sort(key=lambda p: (order.get(p.sheet, 99), p.row))
        raise BulkInvalid(checker.problems)
    if not planned:
        raise InvalidInput(problem("bulk_empty"), {"file": [problem("roster_no_rows")]}, code="no_rows")
    if len(planned) > MAX_HOUSEHOLDS:
        raise InvalidInput(problem("roster_too_many", max=MAX_HOUSEHOLDS),
                           {"file": [problem("rows_max", max=MAX_HOUSEHOLDS)]}, code="too_many_rows")
    report = Report(kind, sha, name, planned)
    for plan in planned:
        report.persons += len(plan.data.get("persons") or [])
        report.buildings += len(plan.data.get("buildings") or [])
        report.ancillary += len(plan.data.get("ancillary") or [])
        report.businesses += 1 if plan.data.get("business") else 0
    return report


def _done(project_id: int, sha: str, kind: str) -> BulkImport | None:
    return db.session.scalar(select(BulkImport).where(BulkImport.project_id == project_id, BulkImport.sha256 == sha,
                                                      BulkImport.kind == kind))


# ---------------------------------------------------------------- the upload, kept for the confirmation

def receive(stream: BinaryIO | None, *, upload_dir: str, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """The uploaded bytes, kept in the file storage under their sha256 (the confirmation names them by it)."""
    data = reader.read_limited(stream, max_bytes)
    reader.check_xlsx(data)
    sha = hashlib.sha256(data).hexdigest()
    target = files.storage_path(upload_dir, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".bulk-{sha}")
        temp.write_bytes(data)
        temp.replace(target)
    return data, sha


def stored(sha: str, *, upload_dir: str) -> bytes:
    """A workbook kept at its preview, by its sha256."""
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise InvalidInput(problem("bulk_file_gone"), {"file": [problem("bulk_file_gone")]}, code="missing_file")
    path: Path = files.storage_path(upload_dir, sha)
    if not path.is_file():
        raise InvalidInput(problem("bulk_file_gone"), {"file": [problem("bulk_file_gone")]}, code="missing_file")
    return path.read_bytes()


def preview(actor: Actor, project_id: int, kind: str, data: bytes, filename: str | None) -> Report:
    """A dry run: what the import would write, or BulkInvalid; nothing is written."""
    try:
        return check(actor, project_id, kind, data, filename)
    finally:
        db.session.rollback()


# ---------------------------------------------------------------- writing

def run(actor: Actor, project_id: int, kind: str, data: bytes, filename: str | None, *, now: datetime,
        upload_dir: str) -> Report:
    """Check, then write everything in one transaction: the survey creates the households and completes their
    survey; the appraisal completes the appraisal of households waiting for it. The same file again: nothing."""
    with transaction(), history.imported():
        report = check(actor, project_id, kind, data, filename, now)
        if report.already:
            return report
        sha = report.sha256
        target = files.storage_path(upload_dir, sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        done = BulkImport(project_id=project_id, kind=kind, sha256=sha, name=report.filename, size=len(data),
                          households=len(report.households), created_at=now, created_by_id=actor.id,
                          summary={k: v for k, v in report.as_dict().items() if k not in ("codes", "dry_run", "kind")})
        db.session.add(done)
        db.session.flush()
        if kind == "survey":
            _write_survey(actor, project_id, report, len(data), now)
        else:
            _write_appraisal(actor, report, len(data), now)
        audit.record(actor, f"import.{kind}", "project", project_id, at=now,
                     after={**done.summary, "file": report.filename, "bytes": len(data), "sha256": sha})
        report.written = True
    return report


def _attach(actor: Actor, household_id: int, kind: str, report: Report, size: int, now: datetime) -> Attachment:
    module, category = DOSSIER[kind]
    row = Attachment(household_id=household_id, module=module, category=category, name=report.filename, size=size,
                     sha256=report.sha256, content_type=files.XLSX, uploaded_at=now, uploaded_by_id=actor.id)
    db.session.add(row)
    return row


def _write_survey(actor: Actor, project_id: int, report: Report, size: int, now: datetime) -> None:
    ids = bulkwrite.write_survey(actor, project_id, report.households, sha256=report.sha256, filename=report.filename,
                                 size=size, now=now)
    for plan, household_id in zip(report.households, ids, strict=True):
        plan.household_id = household_id


def _write_appraisal(actor: Actor, report: Report, size: int, now: datetime) -> None:
    for plan in report.households:
        task = plan.task
        instance = store.lock(task.instance_id)
        if task.status != "ready":
            raise Conflict(problem("task_not_ready"), code="task_not_ready")
        attachment = _attach(actor, task.household_id, "appraisal", report, size, now)
        db.session.flush()
        runtime.complete_checked(actor, task, instance, {**plan.data, "report_file": attachment.id}, now=now)
