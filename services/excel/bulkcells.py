"""Reading the sheets of a bulk-import workbook: every cell converted for the step's form or named, by sheet,
row and column, as a problem."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

from app.models import Project
from services.compensation import catalogue
from services.errors import InvalidInput
from services.excel import reader
from services.excel.bulkspec import (
    BUSINESS,
    CHOICE,
    DATE,
    EXAMPLE,
    IDNO,
    INT,
    ITEM,
    KINDS_OF_IMPORT,
    MONEY,
    PHONE,
    TEXT,
    YES,
    YESNO,
    Column,
    SheetSpec,
    labels_of,
)
from services.excel.checks import CellsInvalid, normalize
from services.forms.fields import CHOICE_LABELS
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "bulk_cells": N_("%(count)s cell(s) of the workbook have problems; nothing was imported"),
    "bulk_problems": N_("%(count)s problem(s) in the workbook"),
    "bulk_sheet_missing": N_("the sheet is missing"),
    "bulk_number_in_text": N_("a number where text is expected; format the column as text and type it again"),
    "bulk_code_unknown": N_("no household with this code on the households sheet"),
    "bulk_household_unknown": N_("no household of this project has this code"),
    "bulk_once": N_("one row per household; the household is already in row %(row)s"),
    "bulk_not_number": N_("not a number"),
    "bulk_not_whole": N_("not a whole number"),
    "bulk_not_date": N_("not a date (for example 2026-03-01)"),
    "bulk_yes_no": N_("must be yes or no"),
    "bulk_rows_none": N_("no rows for this household"),
    "bulk_item_not_in_policy": N_("not an item of this project's compensation policy; choose one from the list"),
})

MAX_HOUSEHOLDS = 5000
MAX_ROWS = 60000


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


class BulkInvalid(CellsInvalid):
    """The workbook has bad cells; nothing was imported. `problems` names each by sheet, row and column."""

    CELLS, PROBLEMS, CODE = "bulk_cells", "bulk_problems", "invalid_workbook"


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
            if name == "business" and isinstance(found, dict):  # one row: its field to its column
                rows = where.get("business", (BUSINESS, []))[1]
                for sub, texts in found.items():
                    for text in _texts(texts):
                        self.add(BUSINESS, rows[0].number if rows else head[1], sub, text)
            elif name in where:
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
