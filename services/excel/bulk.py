"""Bulk import of work done on paper: the survey (households with their members, buildings, ancillary items and
business details) and the appraisal (report and unit prices) from the workbooks the office hands out.

Every cell is checked first and named by sheet, row and column; any problem and nothing is written. A dry run
tells what would be written. A file is imported once per project and kind (re-importing it changes nothing);
the import completes the step of each household as the importing user, its history marked as imported, and the
workbook is kept in each household's file."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from app.extensions import db
from app.models import Attachment, BulkImport
from services import audit, files, history, runtime, store
from services.context import Actor
from services.errors import Conflict, InvalidInput
from services.excel import bulkwrite, reader
from services.excel.bulkcells import MAX_HOUSEHOLDS, BulkInvalid, CellProblem
from services.excel.bulkplan import Planned, Report, check, importer_project, may_import
from services.excel.bulktemplate import template
from services.problems import N_, problem
from services.problems import register as register_problems
from services.tx import transaction

__all__ = ["MAX_HOUSEHOLDS", "BulkInvalid", "CellProblem", "Planned", "Report", "check", "importer_project",
           "may_import", "preview", "receive", "run", "stored", "template"]


register_problems({
    "bulk_file_gone": N_("the checked file is no longer here; upload it again"),
})

MAX_BYTES = 20 * 1024 * 1024
DOSSIER = {"survey": ("survey", "survey_form"), "appraisal": ("appraisal", "appraisal_report")}


# ---------------------------------------------------------------- the upload, kept for the confirmation

def receive(stream: BinaryIO | None, *, upload_dir: str, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """The uploaded bytes, kept in the file storage under their sha256 (the confirmation names them by it)."""
    data = reader.read_limited(stream, max_bytes)
    reader.check_xlsx(data)
    sha = hashlib.sha256(data).hexdigest()
    target = files.storage_path(upload_dir, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".bulk-{sha}")
        temp.write_bytes(data)
        temp.replace(target)
    return data, sha


def stored(sha: str, *, upload_dir: str) -> bytes:
    """A workbook kept at its preview, by its sha256."""
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise InvalidInput(problem("bulk_file_gone"), {"file": [problem("bulk_file_gone")]}, code="missing_file")
    path: Path = files.storage_path(upload_dir, sha)
    if not path.is_file():
        raise InvalidInput(problem("bulk_file_gone"), {"file": [problem("bulk_file_gone")]}, code="missing_file")
    return path.read_bytes()


def preview(actor: Actor, project_id: int, kind: str, data: bytes, filename: str | None) -> Report:
    """A dry run: what the import would write, or BulkInvalid; nothing is written."""
    try:
        return check(actor, project_id, kind, data, filename)
    finally:
        db.session.rollback()


# ---------------------------------------------------------------- writing

def run(actor: Actor, project_id: int, kind: str, data: bytes, filename: str | None, *, now: datetime,
        upload_dir: str) -> Report:
    """Check, then write everything in one transaction: the survey creates the households and completes their
    survey; the appraisal completes the appraisal of households waiting for it. The same file again: nothing."""
    with transaction(), history.imported():
        report = check(actor, project_id, kind, data, filename, now)
        if report.already:
            return report
        sha = report.sha256
        target = files.storage_path(upload_dir, sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        done = BulkImport(project_id=project_id, kind=kind, sha256=sha, name=report.filename, size=len(data),
                          households=len(report.households), created_at=now, created_by_id=actor.id,
                          summary={k: v for k, v in report.as_dict().items() if k not in ("codes", "dry_run", "kind")})
        db.session.add(done)
        db.session.flush()
        if kind == "survey":
            _write_survey(actor, project_id, report, len(data), now)
        else:
            _write_appraisal(actor, report, len(data), now)
        audit.record(actor, f"import.{kind}", "project", project_id, at=now,
                     after={**done.summary, "file": report.filename, "bytes": len(data), "sha256": sha})
        report.written = True
    return report


def _attach(actor: Actor, household_id: int, kind: str, report: Report, size: int, now: datetime) -> Attachment:
    module, category = DOSSIER[kind]
    row = Attachment(household_id=household_id, module=module, category=category, name=report.filename, size=size,
                     sha256=report.sha256, content_type=files.XLSX, uploaded_at=now, uploaded_by_id=actor.id)
    db.session.add(row)
    return row


def _write_survey(actor: Actor, project_id: int, report: Report, size: int, now: datetime) -> None:
    ids = bulkwrite.write_survey(actor, project_id, report.households, sha256=report.sha256, filename=report.filename,
                                 size=size, now=now)
    for plan, household_id in zip(report.households, ids, strict=True):
        plan.household_id = household_id


def _write_appraisal(actor: Actor, report: Report, size: int, now: datetime) -> None:
    for plan in report.households:
        task = plan.task
        instance = store.lock(task.instance_id)
        if task.status != "ready":
            raise Conflict(problem("task_not_ready"), code="task_not_ready")
        attachment = _attach(actor, task.household_id, "appraisal", report, size, now)
        db.session.flush()
        runtime.complete_checked(actor, task, instance, {**plan.data, "report_file": attachment.id}, now=now)
