"""Writing an imported survey in bulk: what completing the survey step of each household one at a time writes
(the household, its case started and its survey completed, the people, buildings, items and business details,
the module record and revision, the step rows, their history and the audit rows), in a few statements per
chunk of households instead of some thirty per household.

The workflow runs once: every household of the import starts the same diagram and completes the same step with
the same gateway data, so one run of the engine gives the state each case holds, with fresh task ids for each.
The module documents go through the survey form's own load and dump and the survey's projection onto its
tables (services.modules.case) row by row, as on the page."""
from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    AncillaryItem,
    Attachment,
    Building,
    BusinessDetail,
    Household,
    HumanTask,
    ModuleRecord,
    ModuleRevision,
    Person,
    ProcessDefinition,
    ProcessInstance,
    Project,
    TaskEvent,
)
from services import audit, definitions, files, history, personal, runtime, signals
from services.compensation import catalogue
from services.context import Actor
from services.deadlines import due_at
from services.engine import ParsedProcess, next_timer_at, ready_user_tasks
from services.errors import Conflict
from services.forms import get_form
from services.forms.registry import StepForm
from services.modules.case import BUILDING_NEEDS, PERSON_NEEDS, _building_values, _person_values
from services.modules.service import _load
from services.problems import problem

CHUNK = 500
FORM = "survey"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# an instance is written once here; on the page it is written at its start and saved twice more
LOCK_VERSION = 3


@dataclass(frozen=True)
class _Step:
    guid: str
    bpmn_id: str
    name: str
    role: str
    form_key: str
    due_at: datetime | None


@dataclass(frozen=True)
class _Flow:
    """One run of the engine: the step opened at the start, the steps open after it, the state saved."""

    definition: ProcessDefinition
    first: _Step
    after: tuple[_Step, ...]
    text: str                 # the saved state as JSON (its task ids replaced for each case)
    completed: bool
    next_timer_at: datetime | None


def _step(task: Any, process: ParsedProcess, project_id: int, now: datetime) -> _Step:
    info = process.user_tasks.get(task.task_spec.bpmn_id)
    return _Step(str(task.id), task.task_spec.bpmn_id, (info.name if info else task.task_spec.bpmn_id)[:128],
                 (info.role if info and info.role else "admin"), (info.form if info else "") or "",
                 due_at(info, project_id, now))


def _flow(definition: ProcessDefinition, gateway: dict[str, Any], variables: dict[str, Any], project_id: int,
          now: datetime) -> _Flow:
    """Start the diagram with the household's start variables and complete its first step as runtime does (saved
    after the start, then again)."""
    engine = definitions.get_engine()
    process = definitions.parsed(definition)
    workflow = engine.new_workflow(process, variables)
    engine.dumps(workflow)  # the start is saved (and compacted) before the step is completed
    ready = ready_user_tasks(workflow)
    if len(ready) != 1 or _step(ready[0], process, project_id, now).form_key != FORM:
        raise Conflict(problem("engine_failed", reason="the process does not start with the survey"),
                       code="engine_error")
    task = ready[0]
    first = _step(task, process, project_id, now)
    task.data.pop("return_to", None)
    task.data.update({"decision": "approve", **gateway, **variables})
    task.run()
    workflow.do_engine_steps()
    after = tuple(_step(t, process, project_id, now) for t in ready_user_tasks(workflow))
    text = zlib.decompress(engine.dumps(workflow)).decode("utf-8")
    return _Flow(definition, first, after, text, workflow.is_completed(), next_timer_at(workflow))


def _state(flow: _Flow) -> tuple[bytes, dict[str, str]]:
    """The flow's state with task ids of its own (as a new workflow has), and the old id -> new id."""
    fresh: dict[str, str] = {}

    def renew(match: re.Match) -> str:
        old = match.group(0)
        new = fresh.get(old)
        if new is None:
            new = fresh[old] = str(uuid.uuid4())
        return new

    return zlib.compress(UUID_TEXT.sub(renew, flow.text).encode("utf-8"), 6), fresh


def _event(instance_id: int, action: str, actor: Actor, now: datetime, step: _Step | None = None,
           task_id: int | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """A history row as history.record writes it."""
    if history.is_imported():
        detail = {**(detail or {}), "imported": True}
    return {"instance_id": instance_id, "human_task_id": task_id, "at": now, "actor_id": actor.id, "action": action,
            "bpmn_id": step.bpmn_id if step else None, "task_name": step.name if step else None,
            "detail": detail or None}


def _ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows in one go, their new ids (ascending, as one at a time would give them) in the rows' order.

    PostgreSQL hands out the ids from the table's sequence first and takes the rows with them in one prepared
    statement (a huge INSERT … VALUES costs more to build and parse than the rows to write); elsewhere the rows
    come back with their ids."""
    if not rows:
        return []
    if session.connection().dialect.name != "postgresql":
        result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        return [r[0] for r in result]
    ids = sorted(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                      "FROM generate_series(1, :count)"),
                                 {"table": table.name, "count": len(rows)}))
    session.execute(insert(table), [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)])
    return ids


def _write(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


@dataclass
class _Case:
    """One household of a chunk: its row, its survey as the form stores it, then its ids."""

    values: dict[str, Any]
    household: dict[str, Any]
    doc: dict[str, Any]
    household_id: int = 0
    instance_id: int = 0
    state_ids: dict[str, str] | None = None


def _survey_doc(form: StepForm, plan: Any, items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What completing the survey stores before its rows get their ids (services.modules.completion): the data
    loaded by the survey's form (as the check loaded it, unless a masked number stands for the stored one), its
    items stamped with their name and unit from the catalogue of the project's policy (items: by code)."""
    shown = {"phone": plan.values["phone"]} if plan.values.get("phone") else {}
    posted = personal.keep_masked(plan.data, shown)
    loaded = plan.loaded if plan.loaded is not None and posted == plan.data else _load(form, posted, partial=False)
    return catalogue.stamp_items(items, {}, form.dump(loaded))  # a new household: no survey stored before


def write_survey(actor: Actor, project_id: int, households: list[Any], *, sha256: str, filename: str, size: int,
                 now: datetime) -> list[int]:
    """Create the households and complete their survey, chunk by chunk, in the caller's transaction; the ids of
    the households in the order given. households: the planned ones (values: the household's own fields, data:
    what completing the survey submits)."""
    form = get_form(FORM)
    definition = definitions.current("relocation")
    flows: dict[str, _Flow] = {}
    items = catalogue.by_code(catalogue.rules_for_project(project_id, now))
    ids: list[int] = []
    session = db.session()
    session.flush()
    for start in range(0, len(households), CHUNK):
        chunk = households[start:start + CHUNK]
        cases = []
        for plan in chunk:
            doc = _survey_doc(form, plan, items)
            row = {"project_id": project_id, "created_at": now, "created_by_id": actor.id, **plan.values}
            for key in ("head_name", "address", "phone", "land_nature"):  # as the survey's projection sets them
                row[key] = doc.get(key) or row.get(key)
            cases.append(_Case(plan.values, row, doc))
        _write_chunk(session, actor, project_id, cases, form, definition, flows,
                     sha256=sha256, filename=filename, size=size, now=now)
        ids.extend(c.household_id for c in cases)
    return ids


def _write_chunk(session: Session, actor: Actor, project_id: int, cases: list[_Case], form: StepForm,
                 definition: ProcessDefinition, flows: dict[str, _Flow], *, sha256: str, filename: str, size: int,
                 now: datetime) -> None:
    for case, hid in zip(cases, _ids(session, Household.__table__, [c.household for c in cases]), strict=True):
        case.household_id = hid
    _project(session, cases)
    # the gateway reads the stored survey; households that tell it the same share one run of the engine
    chosen = []
    project_kind = db.session.get(Project, project_id).kind
    for case in cases:
        gateway = form.gateway(case.doc, {"project_id": project_id, "now": now})
        variables = runtime.kind_variables(case.household["kind"], project_kind)
        key = repr((sorted(gateway.items()), sorted(variables.items())))
        if key not in flows:
            flows[key] = _flow(definition, gateway, variables, project_id, now)
        chosen.append(flows[key])
    instances = []
    for case, flow in zip(cases, chosen, strict=True):
        state, case.state_ids = _state(flow)
        instances.append({"definition_id": definition.id, "household_id": case.household_id,
                          "project_id": project_id, "status": "completed" if flow.completed else "running",
                          "state": state, "lock_version": LOCK_VERSION, "created_at": now, "updated_at": now,
                          "last_progress_at": now, "next_timer_at": flow.next_timer_at,
                          "completed_at": now if flow.completed else None})
    for case, iid in zip(cases, _ids(session, ProcessInstance.__table__, instances), strict=True):
        case.instance_id = iid
    steps = []
    for case, flow in zip(cases, chosen, strict=True):
        steps.append(_task(case, flow.first, project_id, now, actor))
        steps.extend(_task(case, s, project_id, now) for s in flow.after)
    task_ids = _ids(session, HumanTask.__table__, steps)
    given = iter(task_ids)
    events, records, done = [], [], []
    for case, flow in zip(cases, chosen, strict=True):
        first = next(given)
        done.append(first)
        after = [next(given) for _ in flow.after]
        events.append(_event(case.instance_id, "started", actor, now,
                             detail={"definition": f"{definition.key} v{definition.version}"}))
        events.append(_event(case.instance_id, "created", actor, now, flow.first, first))
        events.append(_event(case.instance_id, "completed", actor, now, flow.first, first))
        events.extend(_event(case.instance_id, "created", actor, now, s, t)
                      for s, t in zip(flow.after, after, strict=True))
        if flow.completed:
            events.append(_event(case.instance_id, "closed", actor, now))
        records.append({"household_id": case.household_id, "module": form.module, "data": case.doc, "version": 1,
                        "updated_at": now, "updated_by_id": actor.id})
    _write(session, TaskEvent.__table__, events)
    record_ids = _ids(session, ModuleRecord.__table__, records)
    _write(session, ModuleRevision.__table__, [
        {"record_id": rid, "version": 1, "data": case.doc, "changed_at": now, "changed_by_id": actor.id,
         "task_id": tid} for case, rid, tid in zip(cases, record_ids, done, strict=True)])
    module, category = "survey", "survey_form"
    _write(session, Attachment.__table__, [
        {"household_id": c.household_id, "module": module, "category": category, "name": filename, "size": size,
         "sha256": sha256, "content_type": files.XLSX, "uploaded_at": now, "uploaded_by_id": actor.id}
        for c in cases])
    for case, rid, tid in zip(cases, record_ids, done, strict=True):  # in the order each household writes them
        audit.record(actor, "household.create", "household", case.household_id, household_id=case.household_id,
                     after={**{k: v for k, v in case.values.items() if k not in ("village_id", "batch_id")},
                            "source": "bulk_import"}, at=now)
        audit.record(actor, f"module.{form.module}.write", "module", rid, before=None, after=case.doc,
                     household_id=case.household_id, at=now)
        audit.record(actor, "task.complete", "human_task", tid, household_id=case.household_id,
                     after={"step": FORM, "instance": case.instance_id}, at=now)
    _announce(steps, task_ids, [1 + len(f.after) for f in chosen], actor, now)


def _task(case: _Case, step: _Step, project_id: int, now: datetime, completed_by: Actor | None = None,
          ) -> dict[str, Any]:
    """A step row as runtime opens it (and, for the completed one, as completing it leaves it)."""
    assert case.state_ids is not None
    if step.guid not in case.state_ids:  # a completed step's task compacted out of the state: an id of its own
        case.state_ids[step.guid] = str(uuid.uuid4())
    row = {"instance_id": case.instance_id, "project_id": project_id, "household_id": case.household_id,
           "work_group_id": case.household.get("work_group_id"),
           "task_guid": case.state_ids[step.guid], "bpmn_id": step.bpmn_id, "name": step.name,
           "role": step.role, "form_key": step.form_key, "status": "ready", "created_at": now,
           "due_at": step.due_at, "next_escalation_at": now if step.due_at else None, "returned": False,
           "escalation_level": 0, "assignee_id": None, "claimed_at": None, "completed_at": None,
           "completed_by_id": None}
    if completed_by is not None:
        row.update({"status": "completed", "assignee_id": completed_by.id, "claimed_at": now, "completed_at": now,
                    "completed_by_id": completed_by.id, "next_escalation_at": None})
    return row


def _project(session: Session, cases: list[_Case]) -> None:
    """The survey's people, buildings, items and business details onto their tables, their ids back into each
    document (services.modules.case.project_survey for a household that had none)."""
    persons, buildings, items, businesses = [], [], [], []
    for case in cases:
        hid = case.household_id
        for position, row in enumerate(case.doc.get("persons") or []):
            if not any(row.get(n) in (None, "") for n in PERSON_NEEDS):
                persons.append((case, position, {"household_id": hid, **_person_values(row), "position": position}))
        for position, row in enumerate(case.doc.get("buildings") or []):
            if not any(row.get(n) in (None, "") for n in BUILDING_NEEDS):
                buildings.append((case, position,
                                  {"household_id": hid, **_building_values(row), "position": position}))
        items.extend({"household_id": hid, "code": i["code"], "count": int(i["count"])}
                     for i in case.doc.get("ancillary") or [])
        business = case.doc.get("business")
        if business:
            businesses.append({"household_id": hid, "licence_no": business.get("licence_no"),
                               "business_area": business.get("business_area"), "tenant": business.get("tenant"),
                               "equipment": business.get("equipment") or [],
                               "interruption_basis": business.get("interruption_basis")})
    person_ids = _ids(session, Person.__table__, [p[2] for p in persons])
    building_ids = _ids(session, Building.__table__, [b[2] for b in buildings])
    for key, placed, new_ids in (("persons", persons, person_ids), ("buildings", buildings, building_ids)):
        for (case, position, _row), new_id in zip(placed, new_ids, strict=True):
            case.doc[key][position] = {**case.doc[key][position], "id": new_id}  # the dumped lists are the doc's own
    _write(session, AncillaryItem.__table__, items)
    _write(session, BusinessDetail.__table__, businesses)


def _announce(steps: list[dict[str, Any]], task_ids: list[int], opened: list[int], actor: Actor,
              now: datetime) -> None:
    """Tell the pipeline's receivers what runtime tells them, case by case: the survey step opened, the steps
    after it opened, the survey step completed (opened: how many step rows each case has, the survey's first)."""
    start = 0
    for count in opened:
        rows = [HumanTask(id=tid, **row) for row, tid in zip(steps[start:start + count],
                                                           task_ids[start:start + count], strict=True)]
        start += count
        for row in rows:
            signals.task_created.send(row, now=now, returned=False)
        signals.task_completed.send(rows[0], actor=actor, now=now)
