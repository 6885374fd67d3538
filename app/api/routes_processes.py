"""API routes of the process definitions: versions, validation, drafts, deployment, diffs and case migration."""
from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import fields as f
from marshmallow import validate

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, load, respond
from app.api.schemas import UtcDateTime
from app.models import MAX_ID, utcnow
from app.processes.bodies import bpmn_body, comment_of_request
from services.problems import CodedSchema
from services.processes import diff, migration, validation, versions

STATUSES = ["draft", "deployed", "retired"]


class ProcessVersionSchema(CodedSchema):
    id = f.Integer()
    key = f.String()
    version = f.Integer()
    status = f.String(metadata={"enum": STATUSES})
    name = f.String()
    comment = f.String(allow_none=True)
    created_at = UtcDateTime()
    created_by = f.String(allow_none=True)
    deployed_at = UtcDateTime(allow_none=True)
    deployed_by = f.String(allow_none=True)
    current = f.Boolean(metadata={"description": "the newest deployed version: new cases start on it"})
    running = f.Integer(metadata={"description": "running cases pinned to this version"})
    instances = f.Integer(metadata={"description": "cases ever started on this version"})


class ProcessVersionList(CodedSchema):
    items = f.List(f.Nested(ProcessVersionSchema))


class ValidationProblem(CodedSchema):
    element_id = f.String(allow_none=True)
    message = f.String()


class ValidationResult(CodedSchema):
    valid = f.Boolean()
    errors = f.List(f.Nested(ValidationProblem))


class VersionRef(CodedSchema):
    id = f.Integer()
    key = f.String()
    version = f.Integer()
    status = f.String()
    name = f.String()


class ItemChanges(CodedSchema):
    added = f.List(f.Dict())
    removed = f.List(f.Dict())
    changed = f.List(f.Dict(), metadata={"description": "each with changes: [{field, before, after}]"})


class VersionDiffSchema(CodedSchema):
    from_ = f.Nested(VersionRef, data_key="from", attribute="from")
    to = f.Nested(VersionRef)
    process = f.List(f.Dict())
    steps = f.Nested(ItemChanges)
    flows = f.Nested(ItemChanges)
    summary = f.Dict(keys=f.String(), values=f.Integer())


class MigrateRequest(CodedSchema):
    instance_ids = f.List(f.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)), required=True,
                          validate=validate.Length(min=1, max=migration.MAX_INSTANCES))
    dry_run = f.Boolean(load_default=False, metadata={"description": "only say what would change"})


class MigrationOutcomeSchema(CodedSchema):
    instance_id = f.Integer()
    ok = f.Boolean()
    reason = f.String(allow_none=True)
    changes = f.Dict()


class MigrationResult(CodedSchema):
    dry_run = f.Boolean()
    items = f.List(f.Nested(MigrationOutcomeSchema))


def present_version(version: versions.Version) -> dict[str, Any]:
    """A version as the API shows it."""
    d = version.definition
    return {"id": d.id, "key": d.key, "version": d.version, "status": d.status, "name": d.name,
            "comment": d.comment, "created_at": d.created_at, "created_by": version.created_by,
            "deployed_at": d.deployed_at, "deployed_by": version.deployed_by, "current": version.current,
            "running": version.running, "instances": version.instances}


@bp.get("/process-definitions")
@doc("Every version of every process, newest first", response=ProcessVersionList, tag="processes")
def list_definitions():
    return respond(ProcessVersionList, {"items": [present_version(v) for v in versions.list_versions()]})


@bp.post("/process-definitions/validate")
@doc("Check a BPMN diagram (any bytes) and list its problems by element", body="bpmn",
     response=ValidationResult, tag="processes")
def validate_definition():
    problems = validation.validate(bpmn_body())
    return respond(ValidationResult, {"valid": not problems, "errors": problems})


@bp.post("/process-definitions")
@doc("Store a BPMN diagram as a new draft version (comment: ?comment= or X-Comment)", body="bpmn",
     response=ProcessVersionSchema, status=201, errors=(403,), tag="processes")
def create_definition():
    draft = versions.save_draft(actor(), bpmn_body(), comment_of_request(), utcnow())
    return respond(ProcessVersionSchema, present_version(versions.get_version(draft.id)), 201)


@bp.get("/process-definitions/<id:definition_id>")
@doc("One version", response=ProcessVersionSchema, errors=(404,), tag="processes")
def get_definition(definition_id: int):
    return respond(ProcessVersionSchema, present_version(versions.get_version(definition_id)))


@bp.get("/process-definitions/<id:definition_id>/bpmn")
@doc("The BPMN XML of a version", errors=(404,), tag="processes", content_type="application/xml")
def get_definition_bpmn(definition_id: int):
    return Response(versions.bpmn_xml(definition_id), mimetype="application/xml")


@bp.post("/process-definitions/<id:definition_id>/deploy")
@doc("Deploy a version: new cases start on it", response=ProcessVersionSchema, errors=(403, 409, 422),
     tag="processes")
def deploy_definition(definition_id: int):
    versions.deploy(actor(), definition_id, utcnow())
    return respond(ProcessVersionSchema, present_version(versions.get_version(definition_id)))


@bp.post("/process-definitions/<id:definition_id>/retire")
@doc("Retire a deployed version: no new case starts on it, running ones go on", response=ProcessVersionSchema,
     errors=(403, 409), tag="processes")
def retire_definition(definition_id: int):
    versions.retire(actor(), definition_id, utcnow())
    return respond(ProcessVersionSchema, present_version(versions.get_version(definition_id)))


@bp.get("/process-definitions/<id:definition_id>/diff/<id:other_id>")
@doc("What changed from one version to another: steps and flows added, removed, changed",
     response=VersionDiffSchema, errors=(404,), tag="processes")
def diff_definitions(definition_id: int, other_id: int):
    return respond(VersionDiffSchema, diff.diff_versions(definition_id, other_id))


@bp.post("/process-definitions/<id:definition_id>/migrate")
@doc("Move running cases to this version where it is safe (dry_run: only say what would change)",
     body=MigrateRequest, response=MigrationResult, errors=(403, 409), tag="processes")
def migrate_instances(definition_id: int):
    values = load(MigrateRequest, json_body())
    outcomes = migration.migrate(actor(), definition_id, values["instance_ids"], utcnow(),
                                 dry_run=values["dry_run"])
    return respond(MigrationResult, {"dry_run": values["dry_run"], "items": [vars(o) for o in outcomes]})
