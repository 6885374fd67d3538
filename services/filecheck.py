"""What an upload is, checked on its content (never on the client's word), its name made safe, and the
temporary files of uploads cut off midway swept away."""
from __future__ import annotations

import os
import re
import time
import unicodedata
import warnings
import zipfile
from pathlib import Path

from defusedxml import ElementTree
from PIL import Image
from pypdf import PdfReader

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMAGES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
# the main part of each OOXML package and the content type [Content_Types].xml must give it
OOXML_MAIN = {DOCX: ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml."
                                          "document.main+xml"),
              XLSX: ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")}
MAX_PIXELS = 60_000_000  # a scan at 600 dpi of an A3 page is about 70 MP /2; more is a decompression bomb
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_UNPACKED = 500 * 1024 * 1024
HTML_MARKERS = re.compile(rb"<\s*(!doctype|html|head|body|script|iframe|svg)\b", re.IGNORECASE)
TEMP_DIR = "tmp"
TEMP_PREFIX = ".upload-"
STALE_SECONDS = 3600

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def clean_name(name: str | None) -> str:
    """A file name safe to store and to send back: no path, no control or format characters (CR/LF,
    NUL, bidi overrides, U+FFFE …), normalised, at most 255 characters keeping the extension."""
    text = unicodedata.normalize("NFC", (name or "").replace("\\", "/")).rsplit("/", 1)[-1]
    text = "".join(" " if ch in "\r\n\t" else ch for ch in text
                   if ch in "\r\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    text = re.sub(r"\s+", " ", text).strip(" .")
    if not text:
        return "file"
    if len(text) > 255:
        stem, dot, ext = text.rpartition(".")
        text = (stem[:254 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else text[:255]
    return text


def _image(path: Path) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                kind = IMAGES.get(image.format or "")
                image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    return kind


def _pdf(path: Path, head: bytes) -> str | None:
    if HTML_MARKERS.search(head):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(path, strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                return None
            if len(reader.pages) < 1:
                return None
    except Exception:  # noqa: BLE001 - pypdf raises many kinds on a malformed file; any of them means "not a PDF"
        return None
    return "application/pdf"


def _ooxml(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(names) != len(set(names)) or len(infos) > MAX_ZIP_ENTRIES or \
                    sum(info.file_size for info in infos) > MAX_ZIP_UNPACKED:
                return None
            if "[Content_Types].xml" not in names:
                return None
            types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, ElementTree.ParseError, RuntimeError):
        return None
    overrides = {el.get("PartName", "").lstrip("/"): el.get("ContentType")
                 for el in types if el.tag.endswith("}Override")}
    for content_type, (part, main) in OOXML_MAIN.items():
        if part in names and overrides.get(part) == main:
            return content_type
    return None


def sniff(path: Path) -> str | None:
    """The content type the file really is, after opening it as that type; None when not accepted.

    Images: Pillow opens and verifies them, the decompression-bomb limit on. PDF: pypdf reads it and finds
    at least one page; HTML behind a %PDF header is refused. DOCX/XLSX: a zip without duplicate entry names,
    with [Content_Types].xml naming the main part (word/document.xml, xl/workbook.xml), which is present.
    """
    with path.open("rb") as handle:
        head = handle.read(2048)
    if head.startswith(b"%PDF-"):
        return _pdf(path, head)
    if head.startswith(b"PK\x03\x04"):
        return _ooxml(path)
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or \
            (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return _image(path)
    return None


def temp_dir(upload_dir: str) -> Path:
    """Where uploads are written while they arrive (on the storage's file system, so moving them is atomic)."""
    folder = Path(upload_dir) / TEMP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep(upload_dir: str, *, older_than: float = STALE_SECONDS, now: float | None = None) -> int:
    """Delete temporary upload files left by a process killed mid-upload; returns how many went."""
    now = time.time() if now is None else now
    removed = 0
    root = Path(upload_dir)
    candidates = list((root / TEMP_DIR).glob(TEMP_PREFIX + "*")) if (root / TEMP_DIR).is_dir() else []
    if root.is_dir():  # left by earlier versions, which wrote them beside the stored files
        candidates += [p for p in root.glob("tmp*") if p.is_file()]
    for path in candidates:
        try:
            if now - path.stat().st_mtime > older_than:
                os.unlink(path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
