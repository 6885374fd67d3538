"""Reading, editing, syncing and completing modules: only the module's role, only while its step is open."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields as f

from app.models import Household, HumanTask, ModuleRecord, User
from services import audit, duties, personal
from services.access import action_problem, get_household
from services.context import Actor
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.forms.registry import StepForm, flatten_messages, schema_instance
from services.modules import compute, dossier, payees
from services.modules.case import Case, load, open_step, project_payments, project_survey
from services.modules.store import MODULES, write
from services.problems import N_, CodedSchema, problem, register
from services.tx import transaction

register({
    "module_unknown": N_("unknown module"),
    "id_numbers_forbidden": N_("your roles may not see full ID numbers"),
    "module_has_errors": N_("the module has errors"),
    "draft_has_errors": N_("the draft has errors"),
    "module_not_open": N_("this module is not open for you: only its role, while its step is open"),
    "version_required": N_("give the version you edited"),
    "version_current": N_("the module's current version"),
    "calculation_missing": N_("the agreement needs an approved calculation"),
    "not_calculated": N_("not calculated"),
    "rows_mismatch": N_("the rows must match the survey"),
    "rows_use_sync": N_("one row for each of the survey's entries; use sync to refill them"),
})

register({"module_stale": N_("%(by)s saved this record after you opened it (it is now version %(version)s, you "
                             "loaded version %(loaded)s). Nothing of yours was saved; what you typed is still on "
                             "the page. Compare it with the case file, then save again to keep your version.")})

ID_NUMBER_ROLES = ("surveyor", "rights_officer", "handler", "finance", "admin")
COMPUTED = {"calculation": ("policy_version", "items", "total", "payees", "computed_at", "upstream"),
            "agreement": ("number", "revision", "template_version", "option", "total", "payees", "items",
                          "policy_version", "head_name", "address", "upstream"),
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
    raise NotFound(problem("module_unknown"))


def editable_step(user: User, household: Household, module: str) -> HumanTask | None:
    """The open step through which this user may edit the module now, or None."""
    step = open_step(household.id, module)
    if step is None or action_problem(user, step) is not None:
        return None
    if step.assignee_id is not None and step.assignee_id != user.id:
        return None
    return step


def view(actor: Actor, household_id: int, module: str, *, reveal: bool = False,
         now: datetime | None = None) -> ModuleView:
    """A module of a household of the actor's projects; full ID numbers only when asked and allowed (audited)."""
    if module not in MODULES:
        raise NotFound(problem("module_unknown"))
    household = get_household(actor.user, household_id)
    case = load(household)
    record = case.records.get(module)
    data = copy.deepcopy(record.data) if record is not None else {}
    if reveal:
        reveal_personal(actor, household, record, now)
    else:
        data = personal.mask_personal(data)
    updated_by = None
    if record is not None and record.updated_by_id:
        from app.extensions import db

        editor = db.session.get(User, record.updated_by_id)
        updated_by = editor.username if editor else None
    step = editable_step(actor.user, household, module)
    return ModuleView(module, data, case.version(module), record.updated_at if record else None, updated_by,
                      step is not None, step, changed_upstream(case, module))


def may_reveal(user: User) -> bool:
    """Whether the user's roles need full ID numbers, phones and bank accounts (survey, rights, agreement,
    payment, administration)."""
    return user.has_role(*ID_NUMBER_ROLES)


def reveal_personal(actor: Actor, household: Household, survey: ModuleRecord | None,
                    now: datetime | None, step: HumanTask | None = None) -> None:
    """Allow a full view of a household's personal data and audit it: one entry per person whose ID number
    is shown (or one for the household when it has none recorded), naming the step it was asked from, if
    any; Forbidden to roles that do not need it."""
    if not may_reveal(actor.user):
        raise Forbidden(problem("id_numbers_forbidden"))
    persons = (survey.data or {}).get("persons") if survey is not None else None
    where = {"step": step.bpmn_id} if step is not None else {}
    with transaction():
        for person in persons or [None]:
            if person is None:
                audit.record(actor, "person.id_number.view", "household", household.id,
                             household_id=household.id, after={"name": household.head_name, **where}, at=now)
            else:
                audit.record(actor, "person.id_number.view", "person", person.get("id"),
                             household_id=household.id, after={"name": person.get("name"), **where}, at=now)


def changed_upstream(case: Case, module: str) -> list[dict[str, Any]]:
    """The modules before this one that changed since it was last synced or computed from them."""
    doc = case.doc(module)
    seen = doc.get("upstream") or {}
    out = []
    for source in compute.UPSTREAM.get(module, ()):
        if source in seen and seen[source] != case.version(source):
            out.append({"module": source, "synced_version": seen[source], "current_version": case.version(source)})
    return out


def _load(form: StepForm, data: Any, *, partial: bool, case: Case | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(problem("data_not_object"), {"data": [problem("not_object")]})
    if case is not None:  # numbers left masked as the page showed them stand for the stored ones
        data = personal.keep_masked(data, shown_from(case, form.module))
    try:
        return schema_instance(form.schema).load(data, partial=partial)
    except ValidationError as exc:
        raise InvalidInput(problem("module_has_errors"), flatten_messages(exc.messages)) from None


def shown_from(case: Case, module: str) -> dict[str, Any]:
    """What a module's form was filled from (for a first survey: the household's own phone)."""
    doc = case.doc(module)
    if module == "survey" and not doc.get("phone") and case.household.phone:
        doc["phone"] = case.household.phone
    return doc


def _inputs(form: StepForm, doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a stored document that the form accepts back (computed parts left out)."""
    fields = schema_instance(form.schema).fields
    return {k: v for k, v in doc.items() if k in fields and not fields[k].dump_only}


def _open_for_edit(actor: Actor, household_id: int, module: str) -> tuple[Household, HumanTask, Case]:
    """The household, the open step through which the actor edits the module, and its case; else 404/403."""
    household = get_household(actor.user, household_id)
    if module not in MODULES:
        raise NotFound(problem("module_unknown"))
    step = editable_step(actor.user, household, module)
    if step is None:
        raise Forbidden(problem("module_not_open"))
    return household, step, load(household)


class DraftBody(CodedSchema):
    """What saving a draft of a module takes (the API's ModuleUpdate)."""

    data = f.Dict(required=True)
    version = f.Integer(required=True, strict=True,
                        metadata={"description": "the version that was read (0 for a new module)"})


def put(actor: Actor, household_id: int, module: str, data: Any, version: Any, *, now: datetime) -> ModuleView:
    """Save a draft of a module while its step is open; a stale version is a Conflict."""
    with transaction():
        household, step, case = _open_for_edit(actor, household_id, module)
        if module == "payment":  # saving the payment module records the payments
            duties.check(actor, step)
        try:
            version = schema_instance(DraftBody).load({"data": data, "version": version})["version"]
        except ValidationError as exc:
            raise InvalidInput(problem("draft_has_errors"), flatten_messages(exc.messages)) from None
        check_version(case, module, version)
        form = _module_form(module)
        values = _load(form, data, partial=True, case=case)
        stored = _store(actor, case, form, values, now, step, final=False)
        write(actor, household, module, stored, now=now, task_id=step.id)
    return view(actor, household_id, module)


def check_version(case: Case, module: str, version: int) -> None:
    """Refuse a save made on a version that is no longer the module's current one (a Conflict that says who)."""
    current = case.version(module)
    if version == current:
        return
    record = case.records.get(module)
    from app.extensions import db

    editor = db.session.get(User, record.updated_by_id) if record is not None and record.updated_by_id else None
    raise Conflict(problem("module_stale", by=editor.display_name if editor else "?", version=current,
                           loaded=version), code="stale")


def ensure_version(actor: Actor, household_id: int, module: str, version: int) -> None:
    """Refuse, before anything is written, a page's submission made on a version no longer current."""
    check_version(load(get_household(actor.user, household_id)), module, version)


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
        raise InvalidInput(problem("calculation_missing"), {"calculation": [problem("not_calculated")]})
    survey = case.doc("survey")
    return {"option": calc.get("option"), "total": calc.get("total"), "payees": calc.get("payees"),
            "items": calc.get("items"),
            "policy_version": calc.get("policy_version"), "head_name": survey.get("head_name"),
            "address": survey.get("address"), "upstream": {"calculation": case.version("calculation")}}


def _store(actor: Actor, case: Case, form: StepForm, values: dict[str, Any], now: datetime, step: HumanTask,
           *, final: bool) -> dict[str, Any]:
    """Validate across modules and compute what a module stores from what its role entered."""
    from services.files import check_refs

    check_refs(case.household, schema_instance(form.schema), values)
    stored = {**_preserved(case.doc(form.module), form.module), **form.dump(values)}
    if form.module == "survey":
        from services.compensation.catalogue import survey_items

        stored = survey_items(case.household, stored, now)
        if final or _complete(form, stored):  # a draft's half-filled rows stay in the draft, out of the tables
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
    elif form.module == "agreement":
        payees.check_tenant_account(case, stored)
    elif form.module == "payment":
        compute.check_audited_cap(case, stored)
        payees.check_payments(case, stored)
        stored = project_payments(case, stored, actor.id, now)
    return stored


def _complete(form: StepForm, doc: dict[str, Any]) -> bool:
    """True when a document would pass its form in full."""
    try:
        _load(form, _inputs(form, doc), partial=False)
    except InvalidInput:
        return False
    return True


def _preserved(doc: dict[str, Any], module: str) -> dict[str, Any]:
    """The parts of a stored document that its form does not carry (sections, computed fields)."""
    keep = set(COMPUTED.get(module, ())) | {"signatures", "tracking_audit", "upstream"}
    return {k: v for k, v in doc.items() if k in keep}


def _same_rows(rows: list[dict[str, Any]], expected: set[int], key: str, field: str) -> None:
    given = [row[key] for row in rows]
    if set(given) != expected or len(given) != len(set(given)):
        raise InvalidInput(problem("rows_mismatch"), {field: [problem("rows_use_sync")]})
