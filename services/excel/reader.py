"""Reading an uploaded workbook defensively: size and content checks first, then values only, row by row."""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any, BinaryIO

from openpyxl import load_workbook

from services.errors import InvalidInput, PayloadTooLarge, ServiceError, UnsupportedMediaType
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "roster_send": N_("send the roster as multipart form data in the field 'file'"),
    "roster_too_large": N_("the roster may be at most %(kb)s KB"),
    "file_empty": N_("The file is empty."),
    "file_empty_short": N_("empty"),
    "xlsx_only": N_("only .xlsx workbooks are accepted"),
    "xlsx_unpacks": N_("the workbook unpacks to more than %(mb)s MB"),
    "roster_too_many": N_("the roster has more than %(max)s households; split it into several files"),
    "rows_max": N_("at most %(max)s rows"),
    "xlsx_unreadable": N_("the workbook could not be read; save it again as an .xlsx file"),
    "xlsx_not_readable": N_("not a readable .xlsx workbook"),
})

CHUNK = 1 << 16
MAX_UNPACKED = 64 * 1024 * 1024  # what all parts of a workbook may inflate to (a zip bomb stops here)
MAX_PARTS = 1000
MAX_HEADER_COLUMNS = 64
EXCEL_MAX_ROW = 1_048_576


@dataclass(frozen=True)
class Value:
    """A cell read as text: the text (None when empty) or why it cannot be used."""

    text: str | None = None
    problem: str | None = None
    detail: str | None = None


@dataclass
class Table:
    """The first row of a sheet and its later non-empty rows, each with its spreadsheet row number."""

    header: list[Any]
    rows: list[tuple[int, list[Value]]]
    sheet: str = ""  # the title of the sheet read


def read_limited(stream: BinaryIO | None, max_bytes: int) -> bytes:
    """The uploaded bytes, refused above max_bytes (413) and when missing or empty (422)."""
    if stream is None:
        raise InvalidInput(problem("roster_send"), {"file": [problem("file_missing")]},
                           code="missing_file")
    chunks, size = [], 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(problem("roster_too_large", kb=max_bytes // 1024))
        chunks.append(chunk)
    if size == 0:
        raise InvalidInput(problem("file_empty"), {"file": [problem("file_empty_short")]}, code="empty_file")
    return b"".join(chunks)


def check_xlsx(data: bytes) -> None:
    """Refuse what is not an .xlsx workbook by its content (415), or one that unpacks too large (413)."""
    refused = UnsupportedMediaType(problem("xlsx_only"))
    if not data.startswith(b"PK\x03\x04"):
        raise refused
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            parts = archive.infolist()
    except Exception:  # zipfile raises BadZipFile, NotImplementedError, ValueError … on broken archives
        raise refused from None
    names = {part.filename for part in parts}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise refused
    if len(parts) > MAX_PARTS or sum(part.file_size for part in parts) > MAX_UNPACKED:
        raise PayloadTooLarge(problem("xlsx_unpacks", mb=MAX_UNPACKED // (1024 * 1024)))


def cell_text(value: Any, data_type: str | None) -> Value:
    """A cell's value as trimmed text; errors, dates, booleans and odd numbers are problems."""
    if value is None:
        return Value()
    if data_type == "e":
        return Value(problem="error_cell", detail=str(value)[:16])
    if isinstance(value, bool):
        return Value(problem="invalid")
    if isinstance(value, (datetime, date, time, timedelta)):
        return Value(problem="date")
    if isinstance(value, int):
        return Value(text=str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            return Value(problem="invalid")
        return Value(text=str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value))
    text = str(value).strip()
    if "\x00" in text:
        return Value(problem="invalid")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Value(problem="invalid")
    return Value(text=text or None)


def read_table(data: bytes, *, sheet_title: str, max_rows: int) -> Table:
    """The header row and the non-empty rows (at most max_rows) of the named sheet, or of the first one.

    Values only: a formula counts as the value Excel saved with it (openpyxl's data_only).
    """
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl fails in many ways on a damaged workbook; each means the same to the user
        raise _unreadable() from None
    try:
        return _read(workbook, sheet_title, max_rows)
    except ServiceError:
        raise
    except Exception:
        raise _unreadable() from None
    finally:
        workbook.close()


def _read(workbook: Any, sheet_title: str, max_rows: int) -> Table:
    sheets = workbook.worksheets
    if not sheets:
        raise _unreadable()
    sheet = workbook[sheet_title] if sheet_title in workbook.sheetnames else sheets[0]
    if not hasattr(sheet, "iter_rows"):
        raise _unreadable()
    header_cells = next(iter(sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_HEADER_COLUMNS)), ())
    header = [cell.value for cell in header_cells]
    width = max((index for index, value in enumerate(header, start=1) if value is not None), default=1)
    rows: list[tuple[int, list[Value]]] = []
    for number, cells in enumerate(sheet.iter_rows(min_row=2, max_row=EXCEL_MAX_ROW, max_col=width), start=2):
        if not any(cell.value is not None for cell in cells):
            continue
        values = [cell_text(cell.value, cell.data_type) for cell in cells]
        if all(v.text is None and v.problem is None for v in values):
            continue
        if len(rows) >= max_rows:
            raise InvalidInput(problem("roster_too_many", max=max_rows), {"file": [problem("rows_max", max=max_rows)]},
                               code="too_many_rows")
        rows.append((number, values))
    return Table(header, rows, str(getattr(sheet, "title", "")))


def _unreadable() -> InvalidInput:
    return InvalidInput(problem("xlsx_unreadable"), {"file": [problem("xlsx_not_readable")]},
                        code="unreadable_workbook")
