"""API routes of staff administration (administrators): list, read, create, change, disable and enable members of
staff, and set a temporary password."""
from __future__ import annotations

from typing import Any

from marshmallow import fields as f
from marshmallow import validate

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, query_args, respond
from app.api.schemas import Fingerprint, UtcDateTime, listing
from app.models import MAX_ID, utcnow
from services import staff
from services.problems import CodedSchema
from services.roles import ROLES


class StaffGroup(CodedSchema):
    id = f.Integer()
    name = f.String()
    project_id = f.Integer()
    project_name = f.String(attribute="project.name")


class SortedRoles(f.List):
    """The role codes a user holds, sorted."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> list[str]:
        return sorted(obj.role_codes)


class StaffSchema(CodedSchema):
    id = f.Integer()
    username = f.String()
    display_name = f.String()
    email = f.String(allow_none=True)
    active = f.Boolean(metadata={"description": "false: disabled; cannot sign in, tokens refused"})
    must_change_password = f.Boolean(metadata={"description": "a temporary password is set; the user must change "
                                                              "it on the password page before anything else"})
    roles = SortedRoles(f.String(), attribute="roles", metadata={"description": "role codes"})
    groups = f.List(f.Nested(StaffGroup))
    last_login_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    fingerprint = Fingerprint(staff.staff_fingerprint)


StaffList = listing(StaffSchema, "StaffList")


class StaffArgs(CodedSchema):
    role = f.String(validate=validate.OneOf(list(ROLES)))
    group_id = f.Integer(validate=validate.Range(min=1, max=MAX_ID))
    active = f.Boolean()


@bp.get("/staff")
@doc("Every member of staff, disabled ones too (administrators)", query=StaffArgs, response=StaffList,
     errors=(403,), tag="staff")
def list_staff():
    args = query_args(StaffArgs)
    rows = staff.list_staff(actor(), staff.StaffQuery(**args))
    return respond(StaffList, {"items": rows})


@bp.get("/staff/<id:staff_id>")
@doc("One member of staff (administrators)", response=StaffSchema, errors=(403, 404), tag="staff")
def get_staff(staff_id: int):
    return respond(StaffSchema, staff.get(actor(), staff_id))


@bp.post("/staff")
@doc("Create a member of staff with a temporary password they must change at the first sign-in (administrators)",
     body=staff.StaffCreate, response=StaffSchema, status=201, errors=(403,), tag="staff")
def create_staff():
    return respond(StaffSchema, staff.create(actor(), json_body(), now=utcnow()), 201)


@bp.patch("/staff/<id:staff_id>")
@doc("Change a member of staff's name, e-mail, roles or work groups; only the fields sent change (409 "
     "last_admin: the office keeps one active administrator)", body=staff.StaffUpdate, response=StaffSchema,
     errors=(403, 404, 409), tag="staff")
def update_staff(staff_id: int):
    return respond(StaffSchema, staff.update(actor(), staff_id, json_body(), now=utcnow()))


@bp.post("/staff/<id:staff_id>/disable")
@doc("Disable a member of staff: no sign-in, API tokens refused, nothing deleted (409 cannot_disable_self, "
     "last_admin)", response=StaffSchema, errors=(403, 404, 409), tag="staff")
def disable_staff(staff_id: int):
    return respond(StaffSchema, staff.set_active(actor(), staff_id, False, now=utcnow()))


@bp.post("/staff/<id:staff_id>/enable")
@doc("Enable a disabled member of staff again", response=StaffSchema, errors=(403, 404), tag="staff")
def enable_staff(staff_id: int):
    return respond(StaffSchema, staff.set_active(actor(), staff_id, True, now=utcnow()))


@bp.post("/staff/<id:staff_id>/reset-password")
@doc("Set a temporary password: the user's tokens are revoked and they must change it before anything else (a "
     "token exchange answers 403 password_change_required until then)", body=staff.PasswordReset,
     response=StaffSchema, errors=(403, 404, 409), tag="staff")
def reset_staff_password(staff_id: int):
    return respond(StaffSchema, staff.reset_password(actor(), staff_id, json_body(), now=utcnow()))
