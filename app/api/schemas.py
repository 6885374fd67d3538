"""Marshmallow schemas of the JSON API: what it accepts and returns; the OpenAPI document uses them.

They are the one declaration of each shape: routes dump the service's objects (models, rows, or an object seen
With a few more attributes) through them, never a dict built by hand.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from marshmallow import Schema, missing, validate
from marshmallow import fields as f

from app.models import MAX_ID
from services import notifications, personal
from services.households import HouseholdInput, MoveInput
from services.problems import CodedSchema


class UtcDateTime(f.DateTime):
    """A naive-UTC timestamp written as ISO 8601 with a Z."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.replace(microsecond=0).isoformat() + "Z"


class Fingerprint(f.String):
    """The fingerprint of a record's editable values as they are now, made by the service's function `of`."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, of: Callable[[Any], str], **kwargs: Any) -> None:
        super().__init__(dump_only=True, metadata={"description": "the fingerprint of the record's editable values "
                                                                  "as read: send it back with a change, which is "
                                                                  "refused with 409 stale_edit when the record has "
                                                                  "changed since"}, **kwargs)
        self.of = of

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str:
        return self.of(obj)


class ProblemSchema(CodedSchema):
    code = f.String(required=True)
    params = f.Dict(keys=f.String())


class With:
    """An object seen with a few more attributes: what a schema dumps beside the object's own fields."""

    __slots__ = ("_extra", "_obj")

    def __init__(self, obj: Any, **extra: Any) -> None:
        self._obj = obj
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        extra = self._extra
        return extra[name] if name in extra else getattr(self._obj, name)


def listing(item: type[Schema], name: str, *, total: bool = False, paged: bool = False) -> type[Schema]:
    """The schema of a list of items (named for the OpenAPI document): `items`, with `total` when counted and
    `page`, `per_page` when paged."""
    declared: dict[str, Any] = {"items": f.List(f.Nested(item))}
    if total or paged:
        declared["total"] = f.Integer()
    if paged:
        declared.update(page=f.Integer(), per_page=f.Integer())
    return type(name, (CodedSchema,), {**declared, "__module__": __name__})


class Username(f.String):
    """A user named by username: a User, or the username already read with the row."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return super()._serialize(getattr(value, "username", value), attr, obj, **kwargs)


class HouseholdCode(f.String):
    """The code of a step's household: from the loaded household, or read with the row."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        household = getattr(obj, "household", None)
        return household.code if household is not None else super().get_value(obj, attr, accessor, default)


class IsSet(f.Boolean):
    """True when the attribute it reads (a time) is set."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> bool:
        return value is not None


class NoticeText(f.String):
    """A notification's text in the reader's language (the stored wording when it has no parameters)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return notifications.render(obj.kind, obj.params) if obj.params else obj.message


class NoticeFinding(f.Integer):
    """The audit finding a notification is about (kind finding), to open it."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return notifications.finding_of(obj)


class ErrorBody(CodedSchema):
    code = f.String(required=True)
    message = f.String(required=True)
    fields = f.Dict(keys=f.String(), values=f.List(f.String()))
    problems = f.Dict(keys=f.String(), values=f.List(f.Nested(ProblemSchema)),
                      metadata={"description": "each field's problems by code and parameters (422 only)"})
    problem = f.Nested(ProblemSchema, metadata={"description": "the message's code and parameters, when it has "
                                                               "parameters (not with 422), e.g. duty_separation "
                                                               "with the rule (duty) and the step"})


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


TokenList = listing(TokenInfo, "TokenList")


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


ProjectList = listing(ProjectSchema, "ProjectList")


class HouseholdCreate(HouseholdInput):
    """The body of creating a household: what the service validates it with."""


class HouseholdMove(MoveInput):
    """The body of moving a household to another work group of its project."""


class MaskedPhone(f.String):
    """A phone number masked, as everywhere outside an audited full view."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return personal.mask_phone(value) or None


class MaskedData(f.Dict):
    """A module's data with its personal data masked (a full view is `GET …/modules/<m>?reveal=1`)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(personal.mask_personal(value), attr, obj, **kwargs)


class HouseholdSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    work_group_id = f.Integer(allow_none=True)
    code = f.String()
    kind = f.String()
    section = f.String(allow_none=True)
    address = f.String()
    head_name = f.String()
    phone = MaskedPhone(allow_none=True)
    land_nature = f.String(allow_none=True)
    notes = f.String(allow_none=True)
    created_at = UtcDateTime()


class ModuleSummary(CodedSchema):
    module = f.String()
    data = MaskedData()
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
    household_code = HouseholdCode()
    project_id = f.Integer()
    status = f.String(metadata={"enum": ["ready", "completed", "cancelled"]})
    assignee = Username(allow_none=True)
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


TaskPage = listing(TaskSchema, "TaskPage", paged=True)


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


InstancePage = listing(InstanceSchema, "InstancePage", total=True)


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
    message = NoticeText()
    task_id = f.Integer(allow_none=True)
    instance_id = f.Integer(allow_none=True)
    finding_id = NoticeFinding(allow_none=True, metadata={"description": "the audit finding of a notice of kind "
                                                                         "finding (GET /api/v1/findings/{id})"})
    created_at = UtcDateTime()
    read = IsSet(attribute="read_at")


NotificationList = listing(NotificationSchema, "NotificationList")


class NotificationArgs(CodedSchema):
    unread = f.Boolean()
    limit = f.Integer(load_default=100, validate=validate.Range(min=1, max=500))
