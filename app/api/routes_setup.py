"""API routes of the office's set-up (administrators): projects with their particulars and status, villages and
sections, batches, work groups with their leaders and members."""
from __future__ import annotations

import copy

from marshmallow import Schema
from marshmallow import fields as f

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, respond
from app.api.schemas import Fingerprint, UtcDateTime, With
from app.models import Project, utcnow
from services import fingerprint, setup
from services.problems import CodedSchema


def _changes(schema: type[Schema], name: str, without: tuple[str, ...] = ()) -> type[Schema]:
    """The body of a change: the fields of creating, none of them required (only those sent change), and the
    fingerprint the record was read with."""
    declared = {"fingerprint": fingerprint.field()}
    for key, field in schema._declared_fields.items():
        if key in without:
            continue
        optional = copy.copy(field)
        optional.required = False
        declared[key] = optional
    return type(name, (CodedSchema,), {**declared, "__module__": __name__})


ProjectChange = _changes(setup.ProjectInput, "ProjectChange")
VillageChange = _changes(setup.VillageInput, "VillageChange")
BatchChange = _changes(setup.BatchInput, "BatchChange")
GroupChange = _changes(setup.GroupInput, "GroupChange", without=("members",))


class UserRef(CodedSchema):
    username = f.String()
    display_name = f.String()


class VillageSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    name = f.String()
    kind = f.String(metadata={"enum": list(setup.VILLAGE_KINDS)})
    cadre = f.Nested(UserRef, allow_none=True)
    notes = f.String(allow_none=True)
    fingerprint = Fingerprint(lambda row: setup.part_fingerprint("village", row))


class BatchSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    name = f.String()
    notes = f.String(allow_none=True)
    created_at = UtcDateTime()
    fingerprint = Fingerprint(lambda row: setup.part_fingerprint("batch", row))


class GroupSchema(CodedSchema):
    id = f.Integer()
    project_id = f.Integer()
    name = f.String()
    leader = f.Nested(UserRef, allow_none=True)
    members = f.List(f.Nested(UserRef))
    fingerprint = Fingerprint(lambda row: setup.part_fingerprint("work_group", row))


class ProjectDetail(CodedSchema):
    id = f.Integer()
    code = f.String()
    name = f.String()
    kind = f.String(metadata={"enum": ["collective", "state", "mixed"]})
    decision_number = f.String(allow_none=True)
    announced_on = f.Date(allow_none=True)
    signing_starts_on = f.Date(allow_none=True)
    sign_deadline = f.Date(allow_none=True)
    target_signed_on = f.Date(allow_none=True)
    target_vacated_on = f.Date(allow_none=True)
    target_demolished_on = f.Date(allow_none=True)
    target_cleared_on = f.Date(allow_none=True)
    policy_version = f.String(allow_none=True)
    description = f.String(allow_none=True)
    status = f.String(metadata={"enum": ["active", "closed", "archived"]})
    closed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    villages = f.List(f.Nested(VillageSchema))
    batches = f.List(f.Nested(BatchSchema))
    groups = f.List(f.Nested(GroupSchema))
    fingerprint = Fingerprint(setup.project_fingerprint)


def _project(project: Project, status: int = 200):
    return respond(ProjectDetail, With(project, policy_version=setup.policy_number(project)), status)


@bp.post("/projects")
@doc("Create a project (admin)", body=setup.ProjectInput, response=ProjectDetail, status=201, errors=(403,),
     tag="setup")
def create_project():
    return _project(setup.create_project(actor(), json_body(), now=utcnow()), 201)


@bp.get("/projects/<id:project_id>")
@doc("A project with its villages, batches and work groups (admin)", response=ProjectDetail, errors=(403, 404),
     tag="setup")
def get_project(project_id: int):
    return _project(setup.get_project(actor(), project_id))


@bp.patch("/projects/<id:project_id>")
@doc("Change a project's particulars: only the fields sent (admin)", body=ProjectChange, response=ProjectDetail,
     errors=(403, 404, 409), tag="setup")
def update_project(project_id: int):
    return _project(setup.update_project(actor(), project_id, json_body(), now=utcnow()))


@bp.put("/projects/<id:project_id>/status")
@doc("Close an active project (no new households) or archive a closed one (admin)", body=setup.StatusInput,
     response=ProjectDetail, errors=(403, 404, 409), tag="setup")
def set_project_status(project_id: int):
    return _project(setup.set_status(actor(), project_id, json_body(), now=utcnow()))


@bp.post("/projects/<id:project_id>/reopen")
@doc("Reopen a closed project with a written reason: it takes new households again; an archived one stays "
     "archived (admin)", body=setup.ReopenInput, response=ProjectDetail, errors=(403, 404, 409), tag="setup")
def reopen_project(project_id: int):
    return _project(setup.reopen_project(actor(), project_id, json_body(), now=utcnow()))


@bp.post("/projects/<id:project_id>/villages")
@doc("Add a village or section to a project (admin)", body=setup.VillageInput, response=VillageSchema,
     status=201, errors=(403, 404, 409), tag="setup")
def create_village(project_id: int):
    return respond(VillageSchema, setup.create_village(actor(), project_id, json_body(), now=utcnow()), 201)


@bp.patch("/villages/<id:village_id>")
@doc("Rename a village, set its kind, cadre or notes (admin)", body=VillageChange, response=VillageSchema,
     errors=(403, 404, 409), tag="setup")
def update_village(village_id: int):
    return respond(VillageSchema, setup.update_village(actor(), village_id, json_body(), now=utcnow()))


@bp.delete("/villages/<id:village_id>")
@doc("Remove a village or section no household belongs to; answers with its project (admin)",
     response=ProjectDetail, errors=(403, 404, 409), tag="setup")
def delete_village(village_id: int):
    return _project(setup.delete_village(actor(), village_id, now=utcnow()))


@bp.post("/projects/<id:project_id>/batches")
@doc("Add a batch to a project (admin)", body=setup.BatchInput, response=BatchSchema, status=201,
     errors=(403, 404, 409), tag="setup")
def create_batch(project_id: int):
    return respond(BatchSchema, setup.create_batch(actor(), project_id, json_body(), now=utcnow()), 201)


@bp.patch("/batches/<id:batch_id>")
@doc("Rename a batch or change its notes (admin)", body=BatchChange, response=BatchSchema,
     errors=(403, 404, 409), tag="setup")
def update_batch(batch_id: int):
    return respond(BatchSchema, setup.update_batch(actor(), batch_id, json_body(), now=utcnow()))


@bp.delete("/batches/<id:batch_id>")
@doc("Remove a batch no household belongs to and no firm selection names; answers with its project (admin)",
     response=ProjectDetail, errors=(403, 404, 409), tag="setup")
def delete_batch(batch_id: int):
    return _project(setup.delete_batch(actor(), batch_id, now=utcnow()))


@bp.post("/projects/<id:project_id>/groups")
@doc("Add a work group to a project with its leader and members (admin)", body=setup.GroupInput,
     response=GroupSchema, status=201, errors=(403, 404, 409), tag="setup")
def create_group(project_id: int):
    return respond(GroupSchema, setup.create_group(actor(), project_id, json_body(), now=utcnow()), 201)


@bp.patch("/groups/<id:group_id>")
@doc("Rename a work group or set its leader (admin)", body=GroupChange, response=GroupSchema,
     errors=(403, 404, 409), tag="setup")
def update_group(group_id: int):
    return respond(GroupSchema, setup.update_group(actor(), group_id, json_body(), now=utcnow()))


@bp.delete("/groups/<id:group_id>")
@doc("Remove a work group no household and no open step belongs to, with its memberships; answers with its "
     "project (admin)", response=ProjectDetail, errors=(403, 404, 409), tag="setup")
def delete_group(group_id: int):
    return _project(setup.delete_group(actor(), group_id, now=utcnow()))


@bp.post("/groups/<id:group_id>/members")
@doc("Add a member to a work group by username (admin)", body=setup.MemberInput, response=GroupSchema,
     errors=(403, 404, 409), tag="setup")
def add_group_member(group_id: int):
    return respond(GroupSchema, setup.add_member(actor(), group_id, json_body(), now=utcnow()))


@bp.delete("/groups/<id:group_id>/members/<id:user_id>")
@doc("Take a member out of a work group (admin)", response=GroupSchema, errors=(403, 404, 409), tag="setup")
def remove_group_member(group_id: int, user_id: int):
    return respond(GroupSchema, setup.remove_member(actor(), group_id, user_id, now=utcnow()))
