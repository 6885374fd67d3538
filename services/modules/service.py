"""Reading, editing, syncing and completing modules: only the module's role, only while its step is open."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError
from marshmallow import fields as f

from app.models import Household, HumanTask, User
from services import audit, idnumbers
from services.access import get_household
from services.context import Actor
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.forms.registry import StepForm, flatten_messages, schema_instance
from services.modules import compute, dossier
from services.modules.case import Case, load, open_step, project_payments, project_survey
from services.modules.store import MODULES, write
from services.tx import transaction

ID_NUMBER_ROLES = ("surveyor", "rights_officer", "handler", "finance", "admin")
COMPUTED = {"calculation": ("policy_version", "items", "total", "computed_at", "upstream"),
            "agreement": ("number", "revision", "template_version", "option", "total", "items", "policy_version",
                          "head_name", "address", "upstream"),
            "calc_audit": ("checks",), "policy_review": ("checks",)}


@dataclass
class ModuleView:
    """A module as a user sees it: data (ID numbers masked unless revealed), version, who, editable."""

    module: str
    data: dict[str, Any]
    version: int
    updated_at: datetime | None
    updated_by: str | None
    editable: bool
    step: HumanTask | None
    changed_upstream: list[dict[str, Any]]


def _module_form(module: str) -> StepForm:
    from services.forms import FORMS

    for form in FORMS.values():
        if form.module == module and form.section is None:
            return form
    raise NotFound("unknown module")


def editable_step(user: User, household: Household, module: str) -> HumanTask | None:
    """The open step through which this user may edit the module now, or None."""
    step = open_step(household.id, module)
    if step is None or step.role not in user.role_codes:
        return None
    if step.assignee_id is not None and step.assignee_id != user.id:
        return None
    return step


def view(actor: Actor, household_id: int, module: str, *, reveal: bool = False,
         now: datetime | None = None) -> ModuleView:
    """A module of a household of the actor's projects; full ID numbers only when asked and allowed (audited)."""
    if module not in MODULES:
        raise NotFound("unknown module")
    household = get_household(actor.user, household_id)
    case = load(household)
    record = case.records.get(module)
    data = copy.deepcopy(record.data) if record is not None else {}
    if module == "survey":
        data = _reveal_or_mask(actor, household, data, reveal, now)
    updated_by = None
    if record is not None and record.updated_by_id:
        from app.extensions import db

        editor = db.session.get(User, record.updated_by_id)
        updated_by = editor.username if editor else None
    step = editable_step(actor.user, household, module)
    return ModuleView(module, data, case.version(module), record.updated_at if record else None, updated_by,
                      step is not None, step, changed_upstream(case, module))


def _reveal_or_mask(actor: Actor, household: Household, data: dict[str, Any], reveal: bool,
                    now: datetime | None) -> dict[str, Any]:
    persons = data.get("persons") or []
    if reveal:
        if not actor.user.has_role(*ID_NUMBER_ROLES):
            raise Forbidden("your roles may not see full ID numbers")
        with transaction():
            for person in persons:
                audit.record(actor, "person.id_number.view", "person", person.get("id"), household_id=household.id,
                             after={"name": person.get("name")}, at=now)
        return data
    for person in persons:
        person["id_number"] = idnumbers.mask(person.get("id_number"))
    return data


def changed_upstream(case: Case, module: str) -> list[dict[str, Any]]:
    """The modules before this one that changed since it was last synced or computed from them."""
    doc = case.doc(module)
    seen = doc.get("upstream") or {}
    out = []
    for source in compute.UPSTREAM.get(module, ()):
        if source in seen and seen[source] != case.version(source):
            out.append({"module": source, "synced_version": seen[source], "current_version": case.version(source)})
    return out


def _load(form: StepForm, data: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object", {"data": ["must be an object"]})
    try:
        return schema_instance(form.schema).load(data, partial=partial)
    except ValidationError as exc:
        raise InvalidInput("the module has errors", flatten_messages(exc.messages)) from None


def _inputs(form: StepForm, doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a stored document that the form accepts back (computed parts left out)."""
    fields = schema_instance(form.schema).fields
    return {k: v for k, v in doc.items() if k in fields and not fields[k].dump_only}


def _open_for_edit(actor: Actor, household_id: int, module: str) -> tuple[Household, HumanTask, Case]:
    """The household, the open step through which the actor edits the module, and its case; else 404/403."""
    household = get_household(actor.user, household_id)
    if module not in MODULES:
        raise NotFound("unknown module")
    step = editable_step(actor.user, household, module)
    if step is None:
        raise Forbidden("this module is not open for you: only its role, while its step is open")
    return household, step, load(household)


class DraftBody(Schema):
    """What saving a draft of a module takes (the API's ModuleUpdate)."""

    data = f.Dict(required=True)
    version = f.Integer(required=True, strict=True,
                        metadata={"description": "the version that was read (0 for a new module)"})


def put(actor: Actor, household_id: int, module: str, data: Any, version: Any, *, now: datetime) -> ModuleView:
    """Save a draft of a module while its step is open; a stale version is a Conflict."""
    with transaction():
        household, step, case = _open_for_edit(actor, household_id, module)
        try:
            version = schema_instance(DraftBody).load({"data": data, "version": version})["version"]
        except ValidationError as exc:
            raise InvalidInput("the draft has errors", flatten_messages(exc.messages)) from None
        if version != case.version(module):
            raise Conflict("the module changed since you loaded it; reload and try again", code="stale")
        form = _module_form(module)
        values = _load(form, data, partial=True)
        stored = _store(actor, case, form, values, now, step, final=False)
        write(actor, household, module, stored, now=now, task_id=step.id)
    return view(actor, household_id, module)


def sync(actor: Actor, household_id: int, module: str, *, now: datetime) -> ModuleView:
    """Refill a module from the modules before it (一键同步), keeping what its role entered."""
    with transaction():
        household, step, case = _open_for_edit(actor, household_id, module)
        doc = refill(case, module, now)
        write(actor, household, module, doc, now=now, task_id=step.id)
        audit.record(actor, f"module.{module}.sync", "household", household.id, household_id=household.id,
                     after={"upstream": doc.get("upstream")}, at=now)
    return view(actor, household_id, module)


def refill(case: Case, module: str, now: datetime) -> dict[str, Any]:
    """A module's document refilled from upstream."""
    doc = case.doc(module)
    if module == "appraisal":
        doc["buildings"] = _rows_for(case.buildings, doc.get("buildings"), "building_id", {})
    elif module == "rights":
        doc["buildings"] = _rows_for(case.buildings, doc.get("buildings"), "building_id",
                                     {b.id: {"legal_area": str(b.certified_area or b.measured_area)}
                                      for b in case.buildings})
        doc["persons"] = _rows_for(case.persons, doc.get("persons"), "person_id",
                                   {p.id: {"resettlement": bool(p.hukou_here)} for p in case.persons})
    elif module == "calculation":
        doc.setdefault("option", "cash")
        doc.update(compute.calculation_result(case, doc, now))
    elif module == "agreement":
        doc.update(agreement_terms(case))
    elif module == "archive":
        doc["checklist"] = dossier.checklist(case.household.kind, case.categories_with_files(), doc.get("checklist"))
    if module in compute.UPSTREAM and module not in ("calculation", "archive"):
        doc["upstream"] = {m: case.version(m) for m in compute.UPSTREAM[module]}
    return doc


def _rows_for(rows: list[Any], existing: list[dict[str, Any]] | None, key: str,
              defaults: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per upstream row (building or person), keeping what was entered for it."""
    before = {row.get(key): row for row in existing or []}
    return [{**defaults.get(r.id, {}), **before.get(r.id, {}), key: r.id} for r in rows]


def agreement_terms(case: Case) -> dict[str, Any]:
    """The agreement's figures, taken from the calculation and the survey."""
    calc = case.doc("calculation")
    if not calc.get("items"):
        raise InvalidInput("the agreement needs an approved calculation", {"calculation": ["not calculated"]})
    survey = case.doc("survey")
    return {"option": calc.get("option"), "total": calc.get("total"), "items": calc.get("items"),
            "policy_version": calc.get("policy_version"), "head_name": survey.get("head_name"),
            "address": survey.get("address"), "upstream": {"calculation": case.version("calculation")}}


def _store(actor: Actor, case: Case, form: StepForm, values: dict[str, Any], now: datetime, step: HumanTask,
           *, final: bool) -> dict[str, Any]:
    """Validate across modules and compute what a module stores from what its role entered."""
    stored = {**_preserved(case.doc(form.module), form.module), **form.dump(values)}
    if form.module == "survey":
        stored = project_survey(case, stored)
    elif form.module == "appraisal" and "buildings" in values:
        _same_rows(values["buildings"], {b.id for b in case.buildings}, "building_id", "buildings")
    elif form.module == "rights":
        if "buildings" in values:
            _same_rows(values["buildings"], {b.id for b in case.buildings}, "building_id", "buildings")
        if "persons" in values:
            _same_rows(values["persons"], {p.id for p in case.persons}, "person_id", "persons")
    elif form.module == "calculation" and "option" in values:
        stored.update(compute.calculation_result(case, stored, now))
    elif form.module == "payment":
        stored = project_payments(case, stored, actor.id, now)
    return stored


def _preserved(doc: dict[str, Any], module: str) -> dict[str, Any]:
    """The parts of a stored document that its form does not carry (sections, computed fields)."""
    keep = set(COMPUTED.get(module, ())) | {"signatures", "tracking_audit", "upstream"}
    return {k: v for k, v in doc.items() if k in keep}


def _same_rows(rows: list[dict[str, Any]], expected: set[int], key: str, field: str) -> None:
    given = [row[key] for row in rows]
    if set(given) != expected or len(given) != len(set(given)):
        raise InvalidInput("the rows must match the survey", {field: [
            "one row for each of the survey's entries; use sync to refill them"]})
