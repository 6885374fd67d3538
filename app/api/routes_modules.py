"""API routes of the household's modules and files."""
from __future__ import annotations

from flask import current_app, request, send_file
from marshmallow import fields as f
from marshmallow import validate

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, query_args, respond
from app.api.schemas import UtcDateTime, listing
from app.models import utcnow
from services import files
from services import modules as module_service
from services.errors import InvalidInput
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems

register_problems({
    "file_send": N_("send the file as multipart form data"),
})


class ModuleArgs(CodedSchema):
    reveal = f.Boolean(load_default=False, metadata={"description": "full ID numbers (allowed roles; audited)"})


class ChangedUpstream(CodedSchema):
    module = f.String()
    synced_version = f.Integer()
    current_version = f.Integer()


class ModuleSchema(CodedSchema):
    module = f.String()
    data = f.Dict()
    version = f.Integer()
    updated_at = UtcDateTime(allow_none=True)
    updated_by = f.String(allow_none=True)
    editable = f.Boolean()
    changed_upstream = f.List(f.Nested(ChangedUpstream))


class ModuleUpdate(module_service.DraftBody):
    """The body of saving a module: validated by the service once the caller may edit the module."""


class FileSchema(CodedSchema):
    id = f.Integer()
    name = f.String()
    size = f.Integer()
    sha256 = f.String()
    content_type = f.String()
    module = f.String()
    category = f.String()
    uploaded_at = UtcDateTime()


FileList = listing(FileSchema, "FileList")


class UploadForm(CodedSchema):
    file = f.Raw(required=True, metadata={"type": "string", "format": "binary"})
    module = f.String(required=True, validate=validate.Length(max=32))
    category = f.String(required=True, validate=validate.Length(max=64))


@bp.get("/households/<id:household_id>/modules/<module>")
@doc("One module of a household's file", query=ModuleArgs, response=ModuleSchema, errors=(403, 404),
     tag="modules")
def get_module(household_id: int, module: str):
    args = query_args(ModuleArgs)
    view = module_service.view(actor(), household_id, module, reveal=args["reveal"], now=utcnow())
    return respond(ModuleSchema, view)


@bp.put("/households/<id:household_id>/modules/<module>")
@doc("Save a module (its role, while its step is open); saving payments is 403 duty_separation for the agreement's "
     "drafter", body=ModuleUpdate, response=ModuleSchema,
     errors=(403, 404, 409), tag="modules")
def put_module(household_id: int, module: str):
    body = json_body(member="data")
    if not isinstance(body, dict):
        raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
    view = module_service.put(actor(), household_id, module, body.get("data"), body.get("version"), now=utcnow())
    return respond(ModuleSchema, view)


@bp.post("/households/<id:household_id>/modules/<module>/sync")
@doc("Refill a module from the modules before it", response=ModuleSchema, errors=(403, 404, 422), tag="modules")
def sync_module(household_id: int, module: str):
    return respond(ModuleSchema, module_service.sync(actor(), household_id, module, now=utcnow()))


@bp.post("/households/<id:household_id>/files")
@doc("Upload a file to a module (multipart: file, module, category)", body=UploadForm, response=FileSchema,
     status=201, errors=(403, 404, 413, 415), tag="files", content_type="application/json")
def upload_file(household_id: int):
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput(problem("file_send"), {"file": [problem("file_missing")]})
    row = files.upload(actor(), household_id, request.form.get("module", ""), request.form.get("category", ""),
                       upload.filename, upload.stream, upload_dir=current_app.config["UPLOAD_DIR"],
                       max_bytes=current_app.config["MAX_CONTENT_LENGTH"], now=utcnow())
    return respond(FileSchema, row, status=201)


@bp.get("/households/<id:household_id>/files")
@doc("The files of a household", response=FileList, errors=(404,), tag="files")
def list_files(household_id: int):
    return respond(FileList, {"items": files.list_for(actor(), household_id)})


def _send(file_id: int, *, preview: bool):
    row, path = files.open_file(actor(), file_id, upload_dir=current_app.config["UPLOAD_DIR"], preview=preview,
                                now=utcnow())
    response = send_file(path, mimetype=row.content_type, as_attachment=not preview, download_name=files.send_name(row),
                         conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = ("default-src 'none'; img-src 'self'; "
                                                   "style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/files/<id:file_id>")
@doc("A file's bytes, as an attachment", errors=(404,), tag="files")
def download_file(file_id: int):
    return _send(file_id, preview=False)


@bp.get("/files/<id:file_id>/preview")
@doc("A file shown inline (images and PDF only)", errors=(404, 415), tag="files")
def preview_file(file_id: int):
    return _send(file_id, preview=True)
