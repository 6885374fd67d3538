"""Attachments: uploaded to a module by its role while its step is open, checked on content, stored
outside the database under their sha256, previewed or downloaded by anyone who sees the household;
replaced or removed by their uploader while the step is open (the old version is kept)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from marshmallow import Schema
from marshmallow import fields as mf
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Household
from services import audit, filecheck
from services.access import get_household
from services.context import Actor
from services.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from services.modules.dossier import CATEGORIES
from services.modules.service import editable_step
from services.modules.store import MODULES
from services.problems import N_, problem, register
from services.tx import transaction

register({
    "file_missing": N_("Choose a file to upload."),
    "file_empty": N_("The file is empty."),
    "file_too_large": N_("Files may be at most %(mb)s MB."),
    "file_type": N_("Only JPEG, PNG, GIF, WebP, PDF, DOCX and XLSX files are accepted, and they must open as "
                    "what they claim to be."),
    "file_category": N_("Choose a category of the dossier."),
    "file_module": N_("Choose a part of the household's file."),
    "file_upload_invalid": N_("The upload is not valid."),
    "file_module_closed": N_("Files of this part are added by its role while its step is open."),
    "file_not_uploader": N_("Only the person who uploaded a file may replace or remove it, while its step is open."),
    "file_not_found": N_("The file was not found."),
    "file_content_missing": N_("The file's content is missing from the storage."),
    "file_not_previewable": N_("Only images and PDF files can be previewed."),
    "file_not_of_household": N_("Choose one of this household's files."),
    "file_removed": N_("This file was removed or replaced; choose the current one."),
    "file_refs_invalid": N_("A file named in the form is not one of this household's files."),
})

PREVIEWABLE = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
DOCX, XLSX = filecheck.DOCX, filecheck.XLSX
CHUNK = 1 << 16
SWEEP_EVERY = 600  # seconds


def sniff(path: Path) -> str | None:
    """The content type the bytes really are (see services.filecheck); None when not accepted."""
    return filecheck.sniff(path)


def storage_path(upload_dir: str, sha256: str) -> Path:
    """Where a file with this hash lives (two-level fan-out)."""
    return Path(upload_dir) / sha256[:2] / sha256


def _receive(stream: BinaryIO, upload_dir: str, max_bytes: int) -> tuple[str, int, str]:
    """Write the upload to storage under its sha256, checked on content: (sha256, size, content type).

    It arrives in a temporary file of the storage's tmp/ folder named `.upload-…`; one left behind by a
    killed process is swept by `filecheck.sweep`."""
    _sweep_now_and_then(upload_dir)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=filecheck.temp_dir(upload_dir), prefix=filecheck.TEMP_PREFIX,
                                     delete=False) as temp:
        try:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    mb = max_bytes // (1024 * 1024)
                    raise PayloadTooLarge(problem("file_too_large", mb=mb),
                                          fields={"file": [problem("file_too_large", mb=mb)]})
                digest.update(chunk)
                temp.write(chunk)
        except BaseException:
            temp.close()
            os.unlink(temp.name)
            raise
    temp_path = Path(temp.name)
    try:
        if size == 0:
            raise InvalidInput(problem("file_empty"), {"file": [problem("file_empty")]})
        content_type = filecheck.sniff(temp_path)
        if content_type is None:
            raise UnsupportedMediaType(problem("file_type"), fields={"file": [problem("file_type")]})
        sha = digest.hexdigest()
        target = storage_path(upload_dir, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            temp_path.unlink()
        else:
            os.replace(temp_path, target)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return sha, size, content_type


_last_sweep: dict[str, float] = {}


def _sweep_now_and_then(upload_dir: str) -> None:
    """Sweep stale temporary uploads at a process's first upload and then every ten minutes."""
    now = time.monotonic()
    if now - _last_sweep.get(upload_dir, -1e9) >= SWEEP_EVERY:
        _last_sweep[upload_dir] = now
        filecheck.sweep(upload_dir)


def _check_target(module: str, category: str) -> None:
    fields: dict[str, list[str]] = {}
    if module not in MODULES:
        fields["module"] = [problem("file_module")]
    if category not in CATEGORIES:
        fields["category"] = [problem("file_category")]
    if fields:
        raise InvalidInput(problem("file_upload_invalid"), fields)


def upload(actor: Actor, household_id: int, module: str, category: str, filename: str | None, stream: BinaryIO, *,
           upload_dir: str, max_bytes: int, now: datetime, replaces: Attachment | None = None) -> Attachment:
    """Store an upload for a module of a household; the module's role only, while its step is open."""
    household = get_household(actor.user, household_id)
    _check_target(module, category)
    if editable_step(actor.user, household, module) is None:
        raise Forbidden(problem("file_module_closed"))
    sha, size, content_type = _receive(stream, upload_dir, max_bytes)
    with transaction():
        row = Attachment(household_id=household.id, module=module, category=category,
                         name=filecheck.clean_name(filename), size=size, sha256=sha, content_type=content_type,
                         uploaded_at=now, uploaded_by_id=actor.id, replaces_id=replaces.id if replaces else None)
        db.session.add(row)
        db.session.flush()
        after = {"name": row.name, "module": module, "category": category, "sha256": sha, "size": size}
        if replaces is not None:
            old = db.session.get(Attachment, replaces.id)
            old.deleted_at, old.deleted_by_id = now, actor.id
            audit.record(actor, "file.replace", "attachment", row.id, household_id=household.id, at=now,
                         before={"name": old.name, "sha256": old.sha256, "size": old.size}, after=after)
        else:
            audit.record(actor, "file.upload", "attachment", row.id, household_id=household.id, after=after, at=now)
    return row


def _own_open_file(actor: Actor, file_id: int) -> Attachment:
    """A current file the actor uploaded, of a module whose step is open for the actor."""
    row = db.session.get(Attachment, file_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(problem("file_not_found"))
    household = get_household(actor.user, row.household_id)
    if row.uploaded_by_id != actor.id or editable_step(actor.user, household, row.module) is None:
        raise Forbidden(problem("file_not_uploader"))
    return row


def replace(actor: Actor, file_id: int, filename: str | None, stream: BinaryIO, *, upload_dir: str,
            max_bytes: int, now: datetime) -> Attachment:
    """A new version of a file by its uploader while the step is open; the old one is kept, marked replaced."""
    old = _own_open_file(actor, file_id)
    return upload(actor, old.household_id, old.module, old.category, filename, stream, upload_dir=upload_dir,
                  max_bytes=max_bytes, now=now, replaces=old)


def remove(actor: Actor, file_id: int, *, now: datetime) -> Attachment:
    """Take a file out of the household's file (its uploader, while the step is open); the bytes are kept."""
    with transaction():
        row = _own_open_file(actor, file_id)
        row.deleted_at, row.deleted_by_id = now, actor.id
        audit.record(actor, "file.remove", "attachment", row.id, household_id=row.household_id,
                     before={"name": row.name, "category": row.category, "sha256": row.sha256}, at=now)
    return row


def current(household_id: int) -> list[Attachment]:
    """The household's current files, oldest first (no access check: callers have made it)."""
    return list(db.session.scalars(select(Attachment).where(Attachment.household_id == household_id,
                                                            Attachment.deleted_at.is_(None))
                                   .order_by(Attachment.uploaded_at, Attachment.id)))


def list_for(actor: Actor, household_id: int) -> list[Attachment]:
    """The files of a household of the actor's projects."""
    return current(get_household(actor.user, household_id).id)


def open_file(actor: Actor, file_id: int, *, upload_dir: str, preview: bool, now: datetime) -> tuple[Attachment, Path]:
    """A file to send, with its path; every download and preview is audited."""
    row = db.session.get(Attachment, file_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(problem("file_not_found"))
    get_household(actor.user, row.household_id)
    if preview and row.content_type not in PREVIEWABLE:
        raise UnsupportedMediaType(problem("file_not_previewable"))
    path = storage_path(upload_dir, row.sha256)
    if not path.is_file():
        raise NotFound(problem("file_content_missing"))
    with transaction():
        audit.record(actor, "file.preview" if preview else "file.download", "attachment", row.id,
                     household_id=row.household_id, after={"name": row.name}, at=now)
    return row, path


def send_name(row: Attachment) -> str:
    """The name a file is sent under: cleaned again, so a name stored before the cleaning can never break
    the Content-Disposition header."""
    return filecheck.clean_name(row.name)


# ---- module fields that name a file -------------------------------------------------------------------

def file_fields(schema: Schema) -> Iterator[tuple[str, mf.Field]]:
    """The fields of a form that name a file (x-widget "file:<category>"), with their dotted paths; the
    fields of record tables as "rows.*.field"."""
    for name, field in schema.fields.items():
        widget = str(field.metadata.get("x-widget") or "")
        if widget.startswith("file"):
            yield name, field
        inner = field.inner if isinstance(field, mf.List) else field
        if isinstance(inner, mf.Nested) and isinstance(inner.schema, Schema):
            star = ".*" if isinstance(field, mf.List) else ""
            for sub, subfield in file_fields(inner.schema):
                yield f"{name}{star}.{sub}", subfield


def _values_at(values: Any, path: list[str], prefix: str) -> Iterator[tuple[str, Any]]:
    if not path:
        yield prefix, values
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for index, item in enumerate(values if isinstance(values, list) else []):
            yield from _values_at(item, rest, f"{prefix}.{index}")
    elif isinstance(values, dict) and head in values:
        yield from _values_at(values[head], rest, f"{prefix}.{head}" if prefix else head)


def check_refs(household: Household, schema: Schema, values: dict[str, Any]) -> None:
    """Every field of the form that names a file names a current file of this household; else a 422 that
    names the field (an unknown id and another household's file read the same)."""
    wanted: list[tuple[str, int]] = []
    for path, _field in file_fields(schema):
        for where, value in _values_at(values, path.split("."), ""):
            if value is not None:
                wanted.append((where, value))
    if not wanted:
        return
    ids = {value for _where, value in wanted if isinstance(value, int) and not isinstance(value, bool)}
    found = {row.id: row for row in db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    fields: dict[str, list[str]] = {}
    for where, value in wanted:
        row = found.get(value) if isinstance(value, int) else None
        if row is None or row.household_id != household.id:
            fields[where] = [problem("file_not_of_household")]
        elif row.deleted_at is not None:
            fields[where] = [problem("file_removed")]
    if fields:
        raise InvalidInput(problem("file_refs_invalid"), fields)
