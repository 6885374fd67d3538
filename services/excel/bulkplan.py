"""Checking a bulk import household by household: what the survey would create and the appraisal complete,
as the step forms would take it; any bad cell and nothing is planned."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from app.extensions import db
from app.models import BulkImport, Household, HumanTask, Project, utcnow
from services.access import get_project
from services.context import Actor
from services.errors import Forbidden, InvalidInput
from services.excel import reader
from services.excel.bulkcells import MAX_HOUSEHOLDS, BulkInvalid, Checker
from services.excel.bulkspec import (
    ANCILLARY,
    APPRAISALS,
    BUILDINGS,
    BUSINESS,
    HOUSEHOLDS,
    IMPORTER_ROLES,
    KINDS_OF_IMPORT,
    PERSONS,
    PRICES,
    SheetSpec,
    labels_of,
)
from services.excel.checks import _check_row, _codes_taken, project_parts
from services.excel.roster import _safe_name
from services.forms.assessment import AppraisalForm
from services.forms.registry import schema_instance
from services.forms.survey import SurveyForm
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "bulk_kind": N_("unknown kind of import"),
    "bulk_forbidden": N_("your roles may not import this work"),
    "bulk_empty": N_("the workbook holds no households"),
    "bulk_not_waiting": N_("this household is not waiting for its appraisal"),
    "bulk_building_unknown": N_("this household has no building of this name"),
    "bulk_building_twice": N_("the building already has a price in row %(row)s"),
    "bulk_building_unpriced": N_("no unit price for the building %(label)s"),
    "bulk_declaration_unsigned": N_("only an appraisal whose appraiser signed the written no-conflict declaration "
                                    "can be imported (yes)"),
})

# the conflict-of-interest declaration recorded for an imported appraisal, in the importing user's name
DECLARATION_NOTE = "批量导入：评估师{appraiser}已签书面回避声明"


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



def _check_survey(checker: Checker, project: Project) -> list[Planned]:
    homes = checker.sheets[HOUSEHOLDS.title]
    parts = project_parts(project)
    planned: dict[str, Planned] = {}
    for row in homes:
        texts = {k: str(v) for k, v in row.values.items() if k in ("code", "address", "head_name", "phone", "notes",
                                                                   "work_group", "village", "batch")}
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
        values, found = _check_row(row.number, {k: v for k, v in cells.items() if k not in flagged}, parts)
        for p in found:
            checker.add(HOUSEHOLDS, p.row, p.field, p.message)
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
