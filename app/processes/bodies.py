"""Reading a diagram from a request body, bounded by the size a diagram may have, and its comment."""
from __future__ import annotations

from contextlib import suppress
from urllib.parse import unquote

from flask import request

from services.engine import MAX_XML_BYTES
from services.errors import PayloadTooLarge
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "diagram_too_large": N_("a diagram may be at most %(kb)s KB"),
})


def bpmn_body() -> bytes:
    """The request body as a diagram, refused unread when it is larger than a diagram may be."""
    if request.content_length is not None and request.content_length > MAX_XML_BYTES:
        raise PayloadTooLarge(problem("diagram_too_large", kb=MAX_XML_BYTES // 1024))
    parts: list[bytes] = []
    size = 0
    while size <= MAX_XML_BYTES:
        chunk = request.stream.read(MAX_XML_BYTES + 1 - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > MAX_XML_BYTES:
        raise PayloadTooLarge(problem("diagram_too_large", kb=MAX_XML_BYTES // 1024))
    return b"".join(parts)


def comment_of_request() -> str | None:
    """The version comment: ?comment=…, or an X-Comment header (UTF-8, percent-encoding allowed)."""
    if "comment" in request.args:
        return request.args["comment"]
    header = request.headers.get("X-Comment")
    if header is None:
        return None
    with suppress(UnicodeEncodeError, UnicodeDecodeError):  # not UTF-8 bytes: take the header as it came
        header = header.encode("latin-1").decode("utf-8")
    return unquote(header, errors="replace")
