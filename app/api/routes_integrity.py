"""API routes of integrity and internal audit: conflict-of-interest declarations, appraisal firm selections,
audit samples and findings (open, rectify, close, reopen)."""
from __future__ import annotations

from typing import Any

from marshmallow import fields as f
from marshmallow import missing, validate

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, query_args, respond
from app.api.schemas import HouseholdCode, Username, UtcDateTime, listing
from app.models import MAX_ID, utcnow
from app.models.integrity import FINDING_STATES, SELECTION_METHODS, SEVERITIES
from services import integrity, internal_audit
from services.problems import CodedSchema


class DeclarationSchema(CodedSchema):
    id = f.Integer()
    household_id = f.Integer()
    task_id = f.Integer(allow_none=True)
    bpmn_id = f.String()
    user = Username(attribute="user")
    conflict = f.Boolean(metadata={"description": "true: a conflict of interest was declared"})
    note = f.String(allow_none=True)
    declared_at = UtcDateTime()


DeclarationList = listing(DeclarationSchema, "DeclarationList")
ConflictInput = integrity.ConflictInput


class SelectionSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    batch_id = f.Integer(allow_none=True)
    method = f.String(metadata={"enum": list(SELECTION_METHODS)})
    held_on = f.Date()
    candidates = f.List(f.String())
    chosen_firm = f.String()
    minutes_file_id = f.Integer(allow_none=True)
    notes = f.String(allow_none=True)
    created_at = UtcDateTime()


SelectionList = listing(SelectionSchema, "SelectionList")
SelectionInput = integrity.SelectionInput


class FindingOverdue(f.Boolean):
    """Whether a finding waits for its rectification past the rectify-by date (today, UTC)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return internal_audit.is_overdue(obj, utcnow().date())


class FindingSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    household_id = f.Integer()
    household_code = HouseholdCode(attribute="household")
    bpmn_id = f.String()
    step_name = f.String()
    role = f.String(metadata={"description": "the role that rectifies"})
    severity = f.String(metadata={"enum": list(SEVERITIES)})
    text = f.String()
    state = f.String(metadata={"enum": list(FINDING_STATES)})
    due_on = f.Date(metadata={"description": "rectify by (working days from opening)"})
    opened_at = UtcDateTime()
    rectification = f.String(allow_none=True)
    rectified_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    reopen_reason = f.String(allow_none=True)
    overdue = FindingOverdue(metadata={"description": "waiting for the rectification past its rectify-by date"})


FindingList = listing(FindingSchema, "FindingList")
FindingInput = internal_audit.FindingInput
RectificationInput = internal_audit.RectificationInput
ReopenInput = internal_audit.ReopenInput


class FindingArgs(CodedSchema):
    project_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    state = f.String(validate=validate.OneOf(FINDING_STATES))
    mine = f.Boolean(load_default=False, metadata={
        "description": "only the findings the caller rectifies: their roles, each within its reach of the household "
                       "(a group-bound role its work groups' households)"})
    to_rectify = f.Boolean(load_default=False, metadata={
        "description": "only those of mine waiting for the rectification (open or reopened): the inbox's list of "
                       "findings to rectify, the earliest rectify-by date first"})


class SampleArgs(CodedSchema):
    size = f.Integer(validate=validate.Range(min=1, max=200))
    step = f.String(validate=validate.Length(max=64))
    batch_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    seed = f.Integer(validate=validate.Range(min=0, max=2**31 - 1))


class SampledHousehold(CodedSchema):
    id = f.Integer()
    code = f.String()
    batch_id = f.Integer(allow_none=True)


SampleList = listing(SampledHousehold, "SampleList")


@bp.get("/households/<id:household_id>/declarations")
@doc("Conflict-of-interest declarations made on a household", response=DeclarationList, errors=(404,),
     tag="integrity")
def list_declarations(household_id: int):
    return respond(DeclarationList, {"items": integrity.list_declarations(actor(), household_id)})


@bp.post("/tasks/<id:task_id>/conflict")
@doc("Declare a conflict of interest on a step: it goes back to the pool, to be reassigned", body=ConflictInput,
     response=DeclarationSchema, status=201, errors=(403, 404, 409), tag="integrity")
def declare_conflict(task_id: int):
    return respond(DeclarationSchema, integrity.declare_conflict(actor(), task_id, json_body(), now=utcnow()),
                   status=201)


@bp.get("/projects/<id:project_id>/firm-selections")
@doc("How the project's appraisal firms were chosen", response=SelectionList, errors=(404,), tag="integrity")
def list_selections(project_id: int):
    return respond(SelectionList, {"items": integrity.selections(actor(), project_id)})


@bp.post("/projects/<id:project_id>/firm-selections")
@doc("Record how an appraisal firm was chosen (admin, supervisor; the minutes are uploaded on the page)",
     body=SelectionInput, response=SelectionSchema, status=201, errors=(403, 404), tag="integrity")
def record_selection(project_id: int):
    row = integrity.record_selection(actor(), project_id, json_body(), None, upload_dir="", max_bytes=0,
                                     now=utcnow())
    return respond(SelectionSchema, row, status=201)


@bp.get("/projects/<id:project_id>/audit-sample")
@doc("Cases of a project to audit: a random sample, those through a step, or of a batch (reviewer)",
     query=SampleArgs, response=SampleList, errors=(403, 404), tag="integrity")
def audit_sample(project_id: int):
    return respond(SampleList, {"items": internal_audit.sample(actor(), project_id, query_args(SampleArgs))})


@bp.get("/findings")
@doc("Internal-audit findings of the caller's projects (to_rectify=true: those waiting for the caller's "
     "rectification, as the inbox lists them)", query=FindingArgs, response=FindingList, tag="integrity")
def list_findings():
    args = query_args(FindingArgs)
    return respond(FindingList, {"items": internal_audit.list_findings(actor(), internal_audit.FindingQuery(**args))})


@bp.post("/findings")
@doc("Record a finding on a household's step (reviewer)", body=FindingInput, response=FindingSchema, status=201,
     errors=(403, 404), tag="integrity")
def open_finding():
    return respond(FindingSchema, internal_audit.open_finding(actor(), json_body(), now=utcnow()), status=201)


@bp.get("/findings/<id:finding_id>")
@doc("A finding", response=FindingSchema, errors=(404,), tag="integrity")
def get_finding(finding_id: int):
    return respond(FindingSchema, internal_audit.get_finding(actor(), finding_id))


@bp.post("/findings/<id:finding_id>/rectify")
@doc("Record the rectification (the step's role)", body=RectificationInput, response=FindingSchema,
     errors=(403, 404, 409), tag="integrity")
def rectify_finding(finding_id: int):
    return respond(FindingSchema, internal_audit.rectify(actor(), finding_id, json_body(), now=utcnow()))


@bp.post("/findings/<id:finding_id>/close")
@doc("Accept the rectification and close the finding (reviewer)", response=FindingSchema, errors=(403, 404, 409),
     tag="integrity")
def close_finding(finding_id: int):
    return respond(FindingSchema, internal_audit.close(actor(), finding_id, now=utcnow()))


@bp.post("/findings/<id:finding_id>/reopen")
@doc("Reopen a finding with the reason (reviewer)", body=ReopenInput, response=FindingSchema,
     errors=(403, 404, 409), tag="integrity")
def reopen_finding(finding_id: int):
    return respond(FindingSchema, internal_audit.reopen(actor(), finding_id, json_body(), now=utcnow()))
