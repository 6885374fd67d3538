"""Marshmallow schemas of the JSON API: what it accepts and returns; the OpenAPI document uses them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as f
from marshmallow import validate

from app.models import HOUSEHOLD_KINDS, MAX_ID
from services.problems import CodedSchema


class UtcDateTime(f.DateTime):
    """A naive-UTC timestamp written as ISO 8601 with a Z."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.replace(microsecond=0).isoformat() + "Z"


class ProblemSchema(CodedSchema):
    code = f.String(required=True)
    params = f.Dict(keys=f.String())


class ErrorBody(CodedSchema):
    code = f.String(required=True)
    message = f.String(required=True)
    fields = f.Dict(keys=f.String(), values=f.List(f.String()))
    problems = f.Dict(keys=f.String(), values=f.List(f.Nested(ProblemSchema)),
                      metadata={"description": "each field's problems by code and parameters (422 only)"})


class ErrorSchema(CodedSchema):
    error = f.Nested(ErrorBody, required=True)


class HealthSchema(CodedSchema):
    status = f.String()


class TokenRequest(CodedSchema):
    username = f.String(required=True, validate=validate.Length(min=1, max=64))
    password = f.String(required=True, validate=validate.Length(min=1, max=256))
    name = f.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                    metadata={"description": "a label to recognise the token by in the list of tokens"})


class TokenResponse(CodedSchema):
    token = f.String()
    expires_at = UtcDateTime()


class TokenInfo(CodedSchema):
    id = f.Integer()
    name = f.String(allow_none=True)
    status = f.String(metadata={"enum": ["active", "revoked", "expired"]})
    current = f.Boolean(metadata={"description": "the token this request was sent with"})
    created_at = UtcDateTime()
    created_ip = f.String(allow_none=True)
    expires_at = UtcDateTime()
    last_used_at = UtcDateTime(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)


class TokenList(CodedSchema):
    items = f.List(f.Nested(TokenInfo))


class TokenRevoked(CodedSchema):
    token = f.Nested(TokenInfo)


class MeSchema(CodedSchema):
    username = f.String()
    display_name = f.String()
    roles = f.List(f.String())
    project_ids = f.List(f.Integer())


class ProjectSchema(CodedSchema):
    id = f.Integer()
    code = f.String()
    name = f.String()


class ProjectList(CodedSchema):
    items = f.List(f.Nested(ProjectSchema))


class HouseholdCreate(CodedSchema):
    code = f.String(required=True, metadata={"description": "unique in the project"})
    kind = f.String(required=True, validate=validate.OneOf(HOUSEHOLD_KINDS))
    address = f.String(required=True)
    head_name = f.String(required=True)
    section = f.String(allow_none=True)
    phone = f.String(allow_none=True)
    land_nature = f.String(allow_none=True, validate=validate.OneOf(("collective", "state")))
    notes = f.String(allow_none=True)
    work_group_id = f.Integer(allow_none=True)


class HouseholdSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    work_group_id = f.Integer(allow_none=True)
    code = f.String()
    kind = f.String()
    section = f.String(allow_none=True)
    address = f.String()
    head_name = f.String()
    phone = f.String(allow_none=True)
    land_nature = f.String(allow_none=True)
    notes = f.String(allow_none=True)
    created_at = UtcDateTime()


class ModuleSummary(CodedSchema):
    module = f.String()
    data = f.Dict()
    version = f.Integer()
    updated_at = UtcDateTime(allow_none=True)
    updated_by = f.String(allow_none=True)


class TaskSchema(CodedSchema):
    id = f.Integer()
    name = f.String()
    bpmn_id = f.String()
    role = f.String()
    instance_id = f.Integer()
    household_id = f.Integer()
    household_code = f.String()
    project_id = f.Integer()
    status = f.String(metadata={"enum": ["ready", "completed", "cancelled"]})
    assignee = f.String(allow_none=True)
    created_at = UtcDateTime()
    due_at = UtcDateTime(allow_none=True)
    returned = f.Boolean()
    return_reason = f.String(allow_none=True)


class ReturnTarget(CodedSchema):
    bpmn_id = f.String()
    name = f.String()


class TaskDetailSchema(TaskSchema):
    form = f.Dict(metadata={"description": "JSON Schema of the data complete accepts"})
    data = f.Dict()
    return_targets = f.List(f.Nested(ReturnTarget))


class TaskPage(CodedSchema):
    items = f.List(f.Nested(TaskSchema))
    total = f.Integer()
    page = f.Integer()
    per_page = f.Integer()


class TaskListArgs(CodedSchema):
    role = f.String(validate=validate.Length(max=32))
    project_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    instance_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    assigned = f.String(validate=validate.OneOf(("me", "unassigned")))
    overdue = f.Boolean()
    returned = f.Boolean()
    q = f.String(validate=validate.Length(max=100))
    page = f.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = f.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CompleteRequest(CodedSchema):
    data = f.Dict(required=True, metadata={"description": "the step's form data (see the task's form)"})


class ReturnRequest(CodedSchema):
    to = f.String(required=True, metadata={"description": "bpmn_id of one of the task's return_targets"})
    reason = f.String(required=True)


class DefinitionRef(CodedSchema):
    key = f.String()
    version = f.Integer()


class HistoryEntry(CodedSchema):
    at = UtcDateTime()
    actor = f.String(allow_none=True)
    action = f.String()
    task = f.String(allow_none=True)
    detail = f.Raw(allow_none=True)


class InstanceSchema(CodedSchema):
    id = f.Integer()
    status = f.String(metadata={"enum": ["running", "completed", "suspended", "error", "cancelled"]})
    definition = f.Nested(DefinitionRef)
    household_id = f.Integer()
    current_tasks = f.List(f.Nested(TaskSchema))
    history = f.List(f.Nested(HistoryEntry))


class InstanceEnvelope(CodedSchema):
    instance = f.Nested(InstanceSchema)


class InstanceSummary(CodedSchema):
    id = f.Integer()
    status = f.String()
    definition = f.Nested(DefinitionRef)
    household_id = f.Integer()
    project_id = f.Integer()
    last_progress_at = UtcDateTime()


class InstancePage(CodedSchema):
    items = f.List(f.Nested(InstanceSchema))
    total = f.Integer()


class InstanceListArgs(CodedSchema):
    status = f.String(validate=validate.OneOf(("running", "completed", "suspended", "error", "cancelled")))
    project_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    stuck_days = f.Integer(validate=validate.Range(min=0, max=3650))
    page = f.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = f.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class HouseholdCreated(CodedSchema):
    household = f.Nested(HouseholdSchema)
    instance_id = f.Integer()


class HouseholdDetail(HouseholdSchema):
    modules = f.Dict(keys=f.String(), values=f.Nested(ModuleSummary))
    instance = f.Nested(InstanceSummary, allow_none=True)
    current_tasks = f.List(f.Nested(TaskSchema))


class NotificationSchema(CodedSchema):
    id = f.Integer()
    kind = f.String()
    message = f.String()
    task_id = f.Integer(allow_none=True)
    instance_id = f.Integer(allow_none=True)
    created_at = UtcDateTime()
    read = f.Boolean()


class NotificationList(CodedSchema):
    items = f.List(f.Nested(NotificationSchema))


class NotificationArgs(CodedSchema):
    unread = f.Boolean()
    limit = f.Integer(load_default=100, validate=validate.Range(min=1, max=500))
