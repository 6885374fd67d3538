"""API routes of supervision: progress report, stuck cases, step deadlines."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import fields as f
from marshmallow import validate

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, query_args, respond
from app.api.schemas import TaskSchema, UtcDateTime, listing
from app.models import MAX_ID, utcnow
from services import deadlines, reports, supervision
from services.problems import CodedSchema


class ProgressArgs(CodedSchema):
    project_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    group_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID),
                         metadata={"description": "narrow the report to one work group the caller sees"})


class ScopeGroupSchema(CodedSchema):
    group_id = f.Integer(attribute="id")
    project_id = f.Integer()
    name = f.String()


class ReportScopeSchema(CodedSchema):
    kind = f.String(metadata={"enum": ["all", "project", "groups", "group"],
                              "description": "all: every household; project: every household of the caller's "
                                             "projects; groups: the caller's own work groups; group: narrowed "
                                             "to one work group"})
    group_id = f.Integer(allow_none=True)
    groups = f.List(f.Nested(ScopeGroupSchema), metadata={"description": "the work groups counted (groups, group)"})
    choices = f.List(f.Nested(ScopeGroupSchema), metadata={"description": "the work groups group_id may name"})


class ProgressReport(CodedSchema):
    scope = f.Nested(ReportScopeSchema)
    projects = f.List(f.Dict(), metadata={"description": "per project: households, signed, sign_rate, closed, "
                                                         "agreed_amount, paid_amount, paid_rate, groups, steps, "
                                                         "overdue_by_role, overdue_by_person"})


class StuckArgs(CodedSchema):
    days = f.Integer(load_default=3, validate=validate.Range(min=0, max=3650))
    project_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    step = f.String(validate=validate.Length(max=64))
    group_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    assignee_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    page = f.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = f.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class Days(f.Float):
    """A span of time in days, to two places."""

    def _serialize(self, value: timedelta | None, attr: Any, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else round(value.total_seconds() / 86400, 2)


class StuckCaseSchema(CodedSchema):
    instance_id = f.Integer(attribute="instance.id")
    household_id = f.Integer(attribute="household.id")
    household_code = f.String(attribute="household.code")
    project_id = f.Integer(attribute="instance.project_id")
    status = f.String(attribute="instance.status")
    reason = f.String(metadata={"enum": ["no_progress", "error", "nothing_ready"]})
    last_progress_at = UtcDateTime(attribute="instance.last_progress_at")
    waiting_days = Days(attribute="waited")
    error_message = f.String(allow_none=True, attribute="instance.error_message")
    current_tasks = f.List(f.Nested(TaskSchema), attribute="tasks")


StuckPage = listing(StuckCaseSchema, "StuckPage", paged=True)


class DeadlineSchema(CodedSchema):
    bpmn_id = f.String()
    name = f.String()
    role = f.String(allow_none=True)
    due = f.String(allow_none=True, metadata={"description": "ISO 8601 duration in force"})
    default = f.String(allow_none=True, metadata={"description": "the diagram's own duration"})
    scope = f.String(metadata={"enum": ["diagram", "all", "project"]})
    project_id = f.Integer(allow_none=True)


class DeadlineList(CodedSchema):
    items = f.List(f.Nested(DeadlineSchema))



class DeadlineArgs(CodedSchema):
    project_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))


DeadlineUpdate = deadlines.DeadlineUpdate  # validated by the service once the caller may set deadlines


@bp.get("/reports/progress")
@doc("Progress per project, work group and step; sign rate, paid against agreed, overdue by role and person — "
     "of the households the caller sees (a work-group role: its own groups'), or of one work group",
     query=ProgressArgs, response=ProgressReport, errors=(403, 422), tag="supervision")
def progress_report():
    args = query_args(ProgressArgs)
    caller = actor()
    view = reports.report_scope(caller, args.get("group_id"))
    rows = reports.progress(caller, args.get("project_id"), utcnow(), view.group_id)
    return respond(ProgressReport, {"scope": view, "projects": [reports.progress_dict(r) for r in rows]})


@bp.get("/supervisor/stuck")
@doc("Cases with no progress for that many days, in error, or with nothing to do", query=StuckArgs,
     response=StuckPage, errors=(403,), tag="supervision")
def stuck():
    args = query_args(StuckArgs)
    cases, total = supervision.stuck_cases(actor(), supervision.StuckQuery(**args), utcnow())
    return respond(StuckPage, {"items": cases, "total": total, "page": args["page"], "per_page": args["per_page"]})


@bp.get("/deadlines")
@doc("Each step's due duration (ISO 8601)", query=DeadlineArgs, response=DeadlineList, errors=(404,),
     tag="supervision")
def list_deadlines():
    args = query_args(DeadlineArgs)
    return respond(DeadlineList, {"items": deadlines.list_deadlines(actor(), args.get("project_id"))})


@bp.put("/deadlines/<bpmn_id>")
@doc("Set a step's due duration (supervisor, admin)", body=DeadlineUpdate, response=DeadlineSchema,
     errors=(403, 404), tag="supervision")
def set_deadline(bpmn_id: str):
    return respond(DeadlineSchema, deadlines.set_deadline(actor(), bpmn_id, json_body(), now=utcnow()))
