"""API routes of the spreadsheets: the roster template, the roster import (all rows or none), the case ledger."""
from __future__ import annotations

from io import BytesIO

from flask import Response, current_app, jsonify, request, send_file
from marshmallow import fields as f

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import respond
from app.errors import coded_fields
from app.models import utcnow
from services.excel import bulk, ledger, roster
from services.excel.sheets import XLSX, Sheet
from services.problems import CodedSchema


class RosterImported(CodedSchema):
    """What an import created."""

    created = f.Integer()


def send_xlsx(sheet: Sheet) -> Response:
    """A workbook as a download that is never cached or sniffed."""
    response = send_file(BytesIO(sheet.content), mimetype=XLSX, as_attachment=True, download_name=sheet.filename,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def roster_limits() -> dict[str, int]:
    """The size and row limits of a roster upload (ROSTER_MAX_BYTES, ROSTER_MAX_ROWS)."""
    return {"max_bytes": int(current_app.config.get("ROSTER_MAX_BYTES", roster.MAX_BYTES)),
            "max_rows": int(current_app.config.get("ROSTER_MAX_ROWS", roster.MAX_ROWS))}


def roster_invalid(exc: roster.RosterInvalid) -> Response:
    """The 422 of a roster with bad cells: the API's error shape plus every bad cell under "rows"."""
    response = jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields,
                                  "problems": coded_fields(exc.fields or {}),
                                  "rows": [p.as_dict() for p in exc.problems]}})
    response.status_code = exc.status
    return response


@bp.get("/projects/<id:project_id>/households/import-template.xlsx")
@doc("The roster template (.xlsx) with its Chinese headers and dropdowns", errors=(404,), tag="households",
     content_type=XLSX)
def roster_template(project_id: int):
    """The roster template of a project the caller sees."""
    return send_xlsx(roster.template(actor(), project_id, **roster_limits()))


@bp.post("/projects/<id:project_id>/households/import")
@doc("Import households from an .xlsx roster (multipart field file), all rows or none (surveyor, admin)",
     response=RosterImported, errors=(403, 404, 409, 413, 415, 422), tag="households")
def import_households(project_id: int):
    """Import a roster: 200 with the count, or 422 naming every bad cell."""
    upload = request.files.get("file")
    try:
        result = roster.import_roster(actor(), project_id, upload.stream if upload else None,
                                      filename=upload.filename if upload else None, now=utcnow(), **roster_limits())
    except roster.RosterInvalid as exc:
        return roster_invalid(exc)
    return respond(RosterImported, {"created": result.created})


@bp.get("/projects/<id:project_id>/ledger.xlsx")
@doc("The project's case ledger (.xlsx): one row per household with amounts, progress and totals",
     errors=(404,), tag="households", content_type=XLSX)
def ledger_xlsx(project_id: int):
    """The project's case ledger, audited."""
    return send_xlsx(ledger.export(actor(), project_id, now=utcnow(), timezone=current_app.config["TIMEZONE"]))


class BulkReport(CodedSchema):
    """What a bulk import would write (dry run) or wrote; nothing when the same file was imported before."""

    kind = f.String(metadata={"description": "survey or appraisal"})
    sha256 = f.String()
    dry_run = f.Boolean()
    already_imported = f.Boolean(metadata={"description": "the same file was imported before: nothing written"})
    households = f.Integer()
    persons = f.Integer()
    buildings = f.Integer()
    ancillary = f.Integer()
    businesses = f.Integer()
    steps_completed = f.Integer()
    codes = f.List(f.String(), metadata={"description": "the household codes, in the workbook's order"})


def bulk_invalid(exc: bulk.BulkInvalid) -> Response:
    """The 422 of a workbook with bad cells: the API's error shape plus every bad cell (sheet, row, column)."""
    response = jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields,
                                  "problems": coded_fields(exc.fields or {}),
                                  "rows": [p.as_dict() for p in exc.problems]}})
    response.status_code = exc.status
    return response


@bp.get("/projects/<id:project_id>/imports/<kind>/template.xlsx")
@doc("The bulk-import workbook (.xlsx) of earlier work, kind survey or appraisal: a sheet per part, dropdowns "
     "(the survey's items: the catalogue of the project's policy), an example row", errors=(404, 422),
     tag="households", content_type=XLSX)
def bulk_template(project_id: int, kind: str):
    """The survey or appraisal workbook of a project the caller sees."""
    return send_xlsx(bulk.template(actor(), project_id, kind))


@bp.post("/projects/<id:project_id>/imports/<kind>")
@doc("Import earlier survey or appraisal work from its workbook (multipart field file; dry_run=1 only checks "
     "and tells what would be written); all rows or none, once per file (surveyor or appraiser, admin)",
     response=BulkReport, errors=(403, 404, 409, 413, 415, 422), tag="households")
def bulk_import(project_id: int, kind: str):
    """A dry run or the import: 200 with the report, or 422 naming every bad cell by sheet, row and column."""
    upload = request.files.get("file")
    dry_run = (request.form.get("dry_run") or request.args.get("dry_run") or "").lower() in ("1", "true", "yes")
    who = actor()
    bulk.importer_project(who, project_id, kind)
    data, _sha = bulk.receive(upload.stream if upload else None, upload_dir=current_app.config["UPLOAD_DIR"])
    name = upload.filename if upload else None
    try:
        if dry_run:
            report = bulk.preview(who, project_id, kind, data, name)
        else:
            report = bulk.run(who, project_id, kind, data, name, now=utcnow(),
                              upload_dir=current_app.config["UPLOAD_DIR"])
    except bulk.BulkInvalid as exc:
        return bulk_invalid(exc)
    return respond(BulkReport, report.as_dict())
