"""Attachments: uploaded to a module by its role while its step is open, checked on content, stored
outside the database under their sha256, previewed or downloaded by anyone who sees the household."""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
from services import audit
from services.access import get_household
from services.context import Actor
from services.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from services.modules.dossier import CATEGORIES
from services.modules.service import editable_step
from services.modules.store import MODULES
from services.tx import transaction

PREVIEWABLE = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1 << 16


def sniff(head: bytes, path: Path) -> str | None:
    """The content type the bytes really are (not what the client claims); None when not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return XLSX
    return None


def _safe_name(name: str | None) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip().replace("\x00", "")
    return (base or "file")[:255]


def storage_path(upload_dir: str, sha256: str) -> Path:
    """Where a file with this hash lives (two-level fan-out)."""
    return Path(upload_dir) / sha256[:2] / sha256


def upload(actor: Actor, household_id: int, module: str, category: str, filename: str | None, stream: BinaryIO, *,
           upload_dir: str, max_bytes: int, now: datetime) -> Attachment:
    """Store an upload for a module of a household; the module's role only, while its step is open."""
    household = get_household(actor.user, household_id)
    fields: dict[str, list[str]] = {}
    if module not in MODULES:
        fields["module"] = [f"one of: {', '.join(MODULES)}"]
    if category not in CATEGORIES:
        fields["category"] = ["not a category of the dossier"]
    if fields:
        raise InvalidInput("the upload is not valid", fields)
    if editable_step(actor.user, household, module) is None:
        raise Forbidden("files of this module are added by its role while its step is open")
    Path(upload_dir).mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=upload_dir, delete=False) as temp:
        try:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"files may be at most {max_bytes // (1024 * 1024)} MB")
                digest.update(chunk)
                temp.write(chunk)
        except BaseException:
            temp.close()
            os.unlink(temp.name)
            raise
    temp_path = Path(temp.name)
    try:
        if size == 0:
            raise InvalidInput("the file is empty", {"file": ["empty"]})
        with temp_path.open("rb") as handle:
            content_type = sniff(handle.read(16), temp_path)
        if content_type is None:
            raise UnsupportedMediaType("only JPEG, PNG, GIF, WebP, PDF, DOCX and XLSX files are accepted")
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
    with transaction():
        row = Attachment(household_id=household.id, module=module, category=category, name=_safe_name(filename),
                         size=size, sha256=sha, content_type=content_type, uploaded_at=now, uploaded_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        audit.record(actor, "file.upload", "attachment", row.id, household_id=household.id,
                     after={"name": row.name, "module": module, "category": category, "sha256": sha, "size": size},
                     at=now)
    return row


def list_for(actor: Actor, household_id: int) -> list[Attachment]:
    """The files of a household of the actor's projects."""
    household = get_household(actor.user, household_id)
    return list(db.session.scalars(select(Attachment).where(Attachment.household_id == household.id,
                                                            Attachment.deleted_at.is_(None))
                                   .order_by(Attachment.id)))


def open_file(actor: Actor, file_id: int, *, upload_dir: str, preview: bool, now: datetime) -> tuple[Attachment, Path]:
    """A file to send, with its path; every download and preview is audited."""
    row = db.session.get(Attachment, file_id)
    if row is None or row.deleted_at is not None:
        raise NotFound("file not found")
    get_household(actor.user, row.household_id)
    if preview and row.content_type not in PREVIEWABLE:
        raise UnsupportedMediaType("only images and PDF files can be previewed")
    path = storage_path(upload_dir, row.sha256)
    if not path.is_file():
        raise NotFound("the file's content is missing from storage")
    with transaction():
        audit.record(actor, "file.preview" if preview else "file.download", "attachment", row.id,
                     household_id=row.household_id, after={"name": row.name}, at=now)
    return row, path
