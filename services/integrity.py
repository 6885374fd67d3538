"""Integrity controls (廉政): how the appraisal firm of a project or batch was chosen (with the minutes), and the
conflict-of-interest declarations (回避声明) appraisers and signers make before they complete their step."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from marshmallow import fields as f
from marshmallow import validate
from sqlalchemy import Boolean, DateTime, Integer, String, exists, insert, literal, select

from app.extensions import db
from app.models import MAX_ID, Batch, ConflictDeclaration, FirmSelection, HumanTask, ProjectFile
from app.models.integrity import SELECTION_METHODS
from services import audit, filecheck, files, history, store
from services.access import get_household, get_project, require_role
from services.context import Actor
from services.errors import Conflict, InvalidInput, NotFound
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems
from services.tasks import task_for_action
from services.text import writable
from services.tx import transaction

register_problems({
    "declaration_required": N_("declare first that you have no conflict of interest with this household"),
    "declaration_missing": N_("tick the declaration: no conflict of interest with this household"),
    "conflict_declared": N_("you declared a conflict of interest with this household: this step must go to "
                            "someone else"),
    "declaration_not_needed": N_("this step needs no conflict-of-interest declaration"),
    "declaration_invalid": N_("the declaration is not valid"),
    "selection_invalid": N_("the firm selection is not valid"),
    "selection_chosen_firm": N_("the chosen firm must be one of the firms considered"),
    "selection_batch": N_("choose a batch of this project"),
    "selection_not_found": N_("firm selection not found"),
    "project_file_not_found": N_("the file was not found"),
})

DECLARING_FORMS = frozenset({"appraisal", "sign"})
# who records how the firm was chosen; everyone of the project reads it
SELECTION_EDITORS = ("admin", "supervisor")


# ---- conflict-of-interest declarations ---------------------------------------------------------------

def needs_declaration(form_key: str | None) -> bool:
    """True for the steps whose person declares no conflict of interest before completing them."""
    return form_key in DECLARING_FORMS


def declare_on_completion(actor: Actor, row: HumanTask, stored: dict[str, Any], now: datetime) -> None:
    """At completion of a declaring step: the declaration must be ticked, and the actor must not have declared a
    conflict on this household's step; records the no-conflict declaration (one statement: the insert is made
    only when no conflict was declared)."""
    if not needs_declaration(row.form_key):
        return
    if stored.get("no_conflict") is not True:
        raise InvalidInput(problem("declaration_required"), {"no_conflict": [problem("declaration_missing")]})
    note = (stored.get("conflict_note") or "").strip()[:500] or None
    declared = exists().where(ConflictDeclaration.household_id == row.household_id,
                              ConflictDeclaration.bpmn_id == row.bpmn_id, ConflictDeclaration.user_id == actor.id,
                              ConflictDeclaration.conflict.is_(True))
    values = select(literal(row.household_id, Integer), literal(row.id, Integer), literal(row.bpmn_id, String),
                    literal(actor.id, Integer), literal(False, Boolean), literal(note, String),
                    literal(now, DateTime)).where(~declared)
    columns = ["household_id", "task_id", "bpmn_id", "user_id", "conflict", "note", "declared_at"]
    stmt = insert(ConflictDeclaration).from_select(columns, values).returning(ConflictDeclaration.id)
    if db.session.connection().execute(stmt).first() is None:
        raise Conflict(problem("conflict_declared"), code="conflict_declared")


class ConflictInput(CodedSchema):
    """A declared conflict of interest: why (required)."""

    note = f.String(required=True, validate=[validate.Length(min=1, max=500), writable],
                    metadata={"title": "why you have a conflict of interest with this household"})


def declare_conflict(actor: Actor, task_id: int, data: Any, *, now: datetime) -> ConflictDeclaration:
    """The step's person has a conflict of interest: recorded, the step goes back to the role's pool and may no
    longer be completed by them — a supervisor reassigns it."""
    with transaction():
        row = task_for_action(actor.user, task_id)
        if not needs_declaration(row.form_key):
            raise InvalidInput(problem("declaration_not_needed"), {"task_id": [problem("declaration_not_needed")]})
        values = _valid(ConflictInput, data, "declaration_invalid")
        store.lock_instances_of_steps([row.id])
        db.session.refresh(row)
        if row.status != "ready":
            raise Conflict(problem("task_not_ready"), code="task_not_ready")
        declaration = ConflictDeclaration(household_id=row.household_id, task_id=row.id, bpmn_id=row.bpmn_id,
                                          user_id=actor.id, conflict=True, note=values["note"].strip(),
                                          declared_at=now)
        db.session.add(declaration)
        if row.assignee_id == actor.id:
            row.assignee_id, row.claimed_at = None, None
        db.session.flush()
        history.record(row.instance_id, "conflict_declared", actor=actor, at=now, task=row,
                       detail={"reason": declaration.note})
        audit.record(actor, "integrity.conflict", "human_task", row.id, household_id=row.household_id,
                     after={"step": row.bpmn_id, "conflict": True, "reason": declaration.note}, at=now)
    return declaration


def declarations(household_id: int) -> list[ConflictDeclaration]:
    """The declarations made on a household, oldest first (the caller has checked access)."""
    return list(db.session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.household_id == household_id)
                                   .order_by(ConflictDeclaration.declared_at, ConflictDeclaration.id)))


def list_declarations(actor: Actor, household_id: int) -> list[ConflictDeclaration]:
    """The declarations of a household of the actor's projects."""
    return declarations(get_household(actor.user, household_id).id)


def conflicted(household_id: int, bpmn_id: str, user_id: int) -> bool:
    """True when the user declared a conflict on this household's step."""
    return bool(db.session.scalar(select(exists().where(
        ConflictDeclaration.household_id == household_id, ConflictDeclaration.bpmn_id == bpmn_id,
        ConflictDeclaration.user_id == user_id, ConflictDeclaration.conflict.is_(True)))))


# ---- project files -------------------------------------------------------------------------------------

def store_project_file(actor: Actor, project_id: int, purpose: str, filename: str | None, stream: BinaryIO, *,
                       upload_dir: str, max_bytes: int, now: datetime) -> ProjectFile:
    """Receive a file of a project (checked on content as the households' files are); in the caller's
    transaction, audited."""
    sha, size, content_type = files._receive(stream, upload_dir, max_bytes)
    row = ProjectFile(project_id=project_id, purpose=purpose, name=filecheck.clean_name(filename), size=size,
                      sha256=sha, content_type=content_type, uploaded_at=now, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "file.upload", "project_file", row.id, at=now,
                 after={"name": row.name, "category": purpose, "sha256": sha, "size": size})
    return row


def open_project_file(actor: Actor, file_id: int, *, upload_dir: str, now: datetime):
    """A project file to send, with its path; every download audited."""
    row = db.session.get(ProjectFile, file_id) if 0 < file_id <= MAX_ID else None
    if row is None:
        raise NotFound(problem("project_file_not_found"))
    get_project(actor.user, row.project_id)
    path = files.storage_path(upload_dir, row.sha256)
    if not path.is_file():
        raise NotFound(problem("file_content_missing"))
    with transaction():
        audit.record(actor, "file.download", "project_file", row.id, after={"name": row.name}, at=now)
    return row, path


# ---- appraisal firm selection --------------------------------------------------------------------------

class SelectionInput(CodedSchema):
    """How the appraisal firm was chosen."""

    batch_id = f.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    method = f.String(required=True, validate=validate.OneOf(SELECTION_METHODS))
    held_on = f.Date(required=True)
    candidates = f.List(f.String(validate=[validate.Length(min=1, max=128), writable]), required=True,
                        validate=validate.Length(min=1, max=20))
    chosen_firm = f.String(required=True, validate=[validate.Length(min=1, max=128), writable])
    notes = f.String(load_default=None, allow_none=True, validate=[validate.Length(max=2000), writable])


def _valid(schema: type[CodedSchema], data: Any, code: str) -> dict[str, Any]:
    errors = schema().validate(data if isinstance(data, dict) else {})
    if errors or not isinstance(data, dict):
        raise InvalidInput(problem(code), errors or {"body": [problem("body_not_object")]})
    return schema().load(data)


def record_selection(actor: Actor, project_id: int, data: Any, minutes: tuple[str | None, BinaryIO] | None, *,
                     upload_dir: str, max_bytes: int, now: datetime) -> FirmSelection:
    """Record how a project's (or batch's) appraisal firm was chosen, with the minutes file; admin or supervisor."""
    project = get_project(actor.user, project_id)
    require_role(actor.user, *SELECTION_EDITORS)
    values = _valid(SelectionInput, data, "selection_invalid")
    firms = [c.strip() for c in values["candidates"] if c.strip()]
    chosen = values["chosen_firm"].strip()
    if chosen not in firms:
        raise InvalidInput(problem("selection_invalid"), {"chosen_firm": [problem("selection_chosen_firm")]})
    if values["batch_id"] is not None:
        batch = db.session.get(Batch, values["batch_id"])
        if batch is None or batch.project_id != project.id:
            raise InvalidInput(problem("selection_invalid"), {"batch_id": [problem("selection_batch")]})
    with transaction():
        minutes_file = None
        if minutes is not None:
            minutes_file = store_project_file(actor, project.id, "selection_minutes", minutes[0], minutes[1],
                                              upload_dir=upload_dir, max_bytes=max_bytes, now=now)
        row = FirmSelection(project_id=project.id, batch_id=values["batch_id"], method=values["method"],
                            held_on=values["held_on"], candidates=firms, chosen_firm=chosen,
                            minutes_file_id=minutes_file.id if minutes_file else None, notes=values["notes"],
                            created_at=now, created_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        audit.record(actor, "integrity.selection", "firm_selection", row.id, at=now, after={
            "project_id": project.id, "batch_id": row.batch_id, "method": row.method, "held_on": row.held_on,
            "candidates": firms, "chosen_firm": chosen, "file": minutes_file.name if minutes_file else None})
    return row


def selections(actor: Actor, project_id: int | None = None) -> list[FirmSelection]:
    """The firm selections of the actor's projects (or of one), newest first."""
    from services.access import restrict_to_projects

    stmt = select(FirmSelection).order_by(FirmSelection.held_on.desc(), FirmSelection.id.desc())
    if project_id is not None:
        stmt = stmt.where(FirmSelection.project_id == get_project(actor.user, project_id).id)
    return list(db.session.scalars(restrict_to_projects(stmt, FirmSelection.project_id, actor.user)))


@dataclass(frozen=True)
class AppliedSelection:
    """The selection that applies to a household: its batch's, else its project's latest."""

    selection: FirmSelection
    for_batch: bool


def selection_for(project_id: int, batch_id: int | None) -> AppliedSelection | None:
    """Which firm selection applies to a household of this project and batch (one query)."""
    rows = list(db.session.scalars(
        select(FirmSelection).where(FirmSelection.project_id == project_id)
        .where((FirmSelection.batch_id == batch_id) | FirmSelection.batch_id.is_(None) if batch_id
               else FirmSelection.batch_id.is_(None))
        .order_by(FirmSelection.held_on.desc(), FirmSelection.id.desc())))
    for row in rows:
        if batch_id and row.batch_id == batch_id:
            return AppliedSelection(row, True)
    return AppliedSelection(rows[0], False) if rows else None
