"""Checking the rows of a roster: every cell of every row, before anything is created."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from marshmallow import ValidationError
from sqlalchemy import select

from app.extensions import db
from app.models import Household, Project
from services import problems as coded
from services.errors import InvalidInput
from services.excel.reader import Table, Value
from services.excel.sheets import KIND_LABELS, NATURE_LABELS
from services.forms.fields import PHONE
from services.households import HouseholdInput
from services.problems import N_
from services.problems import register as register_problems

register_problems({
    "roster_date": N_("Excel turned this cell into a date; format the column as text and type it again"),
    "roster_column_twice": N_("the column appears twice in the first row"),
    "roster_column_missing": N_("the column is missing from the first row"),
    "roster_code_repeats": N_("the code repeats row %(row)s"),
    "roster_error_cell": N_("the cell holds a spreadsheet error (%(value)s)"),
    "roster_group_ambiguous": N_("several work groups of this project have this name"),
    "roster_choice": N_("must be one of: %(choices)s"),
    "roster_name_ambiguous": N_("several villages or batches of this project have this name"),
})

IN_CHUNK = 500
_NOISE = re.compile(r"[\s*＊]|（必填）|\(必填\)|（选填）|\(选填\)")
_WIDE = str.maketrans("（）", "()")

KIND_WORDS = {
    "collective_house": ("农户(集体土地房屋)", "农户", "集体土地房屋", "集体土地房屋(农户)"),
    "state_house": ("国有土地住宅", "国有住宅"),
    "enterprise": ("企业",),
    "shop": ("店面",),
}
NATURE_WORDS = {"collective": ("集体", "集体土地"), "state": ("国有", "国有土地")}
HEADER_WORDS = {"code": ("户编号", "编号"), "head_name": ("户主",), "section": ("片区", "标段"),
                "phone": ("电话", "手机", "手机号"), "kind": ("类型",), "land_nature": ("土地类型",)}
SCHEMA_FIELDS = ("code", "kind", "address", "head_name", "section", "phone", "land_nature", "notes")
CELL_MESSAGES = {"invalid": coded.problem("invalid"), "date": coded.problem("roster_date")}
# the parts of a project a row may name: (its column, the household's field, the problem of a name not found)
PART_COLUMNS = (("work_group", "work_group_id", "work_group_other"), ("village", "village_id", "village_other"),
                ("batch", "batch_id", "batch_other"))


class ColumnSpec(Protocol):
    """What the checks need to know of a roster column."""

    field: str
    header: str
    required: bool


@dataclass(frozen=True)
class Problem:
    """A bad cell: its spreadsheet row (the header is row 1), the field, and what is wrong with it."""

    row: int
    field: str
    message: str
    code: str = "field"
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API reports it."""
        return {"row": self.row, "field": self.field, "message": self.message}


class CellsInvalid(InvalidInput):
    """A workbook with bad cells, so nothing was imported; `problems` names each. A kind of workbook words it by
    its own codes: CELLS (the message), PROBLEMS (the file field's) and CODE."""

    CELLS: str
    PROBLEMS: str
    CODE: str

    def __init__(self, problems: list[Any]):
        count = len(problems)
        super().__init__(coded.problem(self.CELLS, count=count),
                         {"file": [coded.problem(self.PROBLEMS, count=count)]}, code=self.CODE)
        self.problems = problems


@dataclass(frozen=True)
class Parts:
    """A project's work groups, villages and batches by their names as compared (a group's name may be shared),
    and the work group of a household that names none."""

    names: dict[str, dict[str, list[int]]]
    default_group: int | None


def project_parts(project: Project) -> Parts:
    """The names a roster or survey workbook row may give for its work group, village and batch."""
    names: dict[str, dict[str, list[int]]] = {}
    for column, rows in (("work_group", project.groups), ("village", project.villages), ("batch", project.batches)):
        table = names[column] = {}
        for row in rows:
            table.setdefault(normalize(row.name), []).append(row.id)
    return Parts(names, project.groups[0].id if project.groups else None)


def normalize(text: Any) -> str:
    """A header or choice as compared: no spaces or required marks, half-width brackets, lower case."""
    return _NOISE.sub("", str(text).translate(_WIDE)).lower()


def _choices(words: dict[str, tuple[str, ...]], labels: dict[str, str]) -> dict[str, str]:
    table = {normalize(code): code for code in words}
    for code, names in words.items():
        table.update({normalize(name): code for name in (labels[code], *names)})
    return table


KINDS = _choices(KIND_WORDS, KIND_LABELS)
NATURES = _choices(NATURE_WORDS, NATURE_LABELS)


def map_header(header: list[Any], columns: tuple[ColumnSpec, ...]) -> tuple[dict[str, int], list[Problem]]:
    """Which spreadsheet column holds which field; missing required and repeated columns are problems."""
    known = {normalize(c.field): c.field for c in columns}
    known.update({normalize(c.header): c.field for c in columns})
    known.update({normalize(word): name for name, words in HEADER_WORDS.items() for word in words})
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    for index, title in enumerate(header):
        name = known.get(normalize(title)) if title is not None else None
        if name is None:
            continue
        if name in positions:
            problems.append(Problem(1, name, coded.problem("roster_column_twice"), "duplicate_column"))
        else:
            positions[name] = index
    problems += [Problem(1, c.field, coded.problem("roster_column_missing"), "missing_column")
                 for c in columns if c.required and c.field not in positions]
    return positions, problems


def check_rows(table: Table, columns: tuple[ColumnSpec, ...], project: Project,
               ) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The rows as household values, or every problem found; the values are only usable when there is none."""
    positions, problems = map_header(table.header, columns)
    if problems:
        return [], problems
    parts = project_parts(project)
    rows: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.rows:
        mapped = {name: cells[i] for name, i in positions.items()}
        if all(cell.text is None and cell.problem is None for cell in mapped.values()):
            continue  # only columns the roster does not read (a serial number, say) are filled in
        values, found = _check_row(number, mapped, parts)
        problems += found
        code = values.get("code")
        if code is not None:
            if code in first_row_of:
                problems.append(Problem(number, "code", coded.problem("roster_code_repeats", row=first_row_of[code]),
                                        "duplicate_in_file", {"row": first_row_of[code]}))
            else:
                first_row_of[code] = number
        rows.append(values)
    taken = _codes_taken(project.id, list(first_row_of))
    problems += [Problem(number, "code", coded.problem("household_code_exists"))
                 for code, number in first_row_of.items() if code in taken]
    order = {c.field: i for i, c in enumerate(columns)}
    problems.sort(key=lambda p: (p.row, order.get(p.field, len(order))))
    return rows, problems


def _check_row(number: int, cells: dict[str, Value], parts: Parts) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    for name, cell in cells.items():
        if cell.problem == "error_cell":
            problems.append(Problem(number, name, coded.problem("roster_error_cell", value=cell.detail or ""),
                                    "error_cell", {"value": cell.detail or ""}))
        elif cell.problem:
            problems.append(Problem(number, name, CELL_MESSAGES[cell.problem], cell.problem))
        elif cell.text is not None:
            texts[name] = cell.text
    flagged = {p.field for p in problems}
    if "kind" in texts:
        texts["kind"] = _choose(number, "kind", texts["kind"], KINDS, KIND_LABELS, problems)
    if "land_nature" in texts:
        texts["land_nature"] = _choose(number, "land_nature", texts["land_nature"], NATURES, NATURE_LABELS, problems)
    if "phone" in texts:
        texts["phone"] = re.sub(r"\s", "", texts["phone"])
    flagged |= {p.field for p in problems}
    data = {k: v for k, v in texts.items() if k in SCHEMA_FIELDS and k not in flagged and v is not None}
    try:
        values = HouseholdInput().load(data)
    except ValidationError as exc:
        values = dict(exc.valid_data or {})
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        for name, found in messages.items():
            if name not in flagged:
                problems += [Problem(number, name, m if isinstance(m, str) else str(m))
                             for m in (found if isinstance(found, list) else [found])]
    if values.get("phone") and not re.match(PHONE, values["phone"]):
        problems.append(Problem(number, "phone", coded.problem("phone")))
    if values.get("land_nature") is None and values.get("kind"):
        values["land_nature"] = "collective" if values["kind"] == "collective_house" else "state"
    _name_parts(number, texts, flagged, parts, values, problems)
    return values, problems


def _name_parts(number: int, texts: dict[str, str], flagged: set[str], parts: Parts, values: dict[str, Any],
                problems: list[Problem]) -> None:
    """The work group, village and batch a row names (an empty cell: the default group, no village, no batch);
    a village also labels the household's section when the row gives none."""
    values["work_group_id"] = parts.default_group
    for column, key, unknown in PART_COLUMNS:
        name = texts.get(column)
        if name is None or column in flagged:
            continue
        ids = parts.names[column].get(normalize(name), [])
        if not ids:
            problems.append(Problem(number, column, coded.problem(unknown)))
        elif len(ids) == 1:
            values[key] = ids[0]
        elif column == "work_group":
            problems.append(Problem(number, column, coded.problem("roster_group_ambiguous"), "ambiguous_group"))
        else:
            problems.append(Problem(number, column, coded.problem("roster_name_ambiguous")))
    if values.get("village_id") and not values.get("section"):
        values["section"] = texts["village"][:64]


def _choose(number: int, name: str, text: str, table: dict[str, str], labels: dict[str, str],
            problems: list[Problem]) -> str | None:
    code = table.get(normalize(text))
    if code is None:
        choices = "、".join(labels.values())
        problems.append(Problem(number, name, coded.problem("roster_choice", choices=choices), "choice",
                                {"choices": choices}))
    return code


def _codes_taken(project_id: int, codes: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(codes), IN_CHUNK):
        chunk = codes[start:start + IN_CHUNK]
        taken.update(db.session.scalars(select(Household.code).where(Household.project_id == project_id,
                                                                     Household.code.in_(chunk))))
    return taken
