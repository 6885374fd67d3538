"""The Idempotency-Key header on the API's state-changing calls (POST, PUT, PATCH, DELETE).

With the header, the call's changes and its first answer (a 2xx) commit in one transaction; a repeat by
the same user with the same key gets that answer (with `Idempotent-Replayed: true`) without the change
being done again; the same key on another request is a 422. Answers that are errors are not kept: a
repeat of a refused call is tried afresh. Keys are kept a day (services/idempotency.py).
"""
from __future__ import annotations

import hashlib

from flask import Response, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.api import bp
from app.api.auth import api_user
from app.errors import error_response
from app.extensions import db
from app.models import utcnow
from services import idempotency, tx
from services.errors import InvalidInput

HEADER = "Idempotency-Key"
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
REPLAYED = "Idempotent-Replayed"


def _body_digest() -> bytes:
    """The request's body as sent (for uploads: the form fields and each file's name and content)."""
    if request.mimetype == "multipart/form-data":
        digest = hashlib.sha256()
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"{name}={value}\n".encode("utf-8", "surrogateescape"))
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            digest.update(f"{name}:{upload.filename}\n".encode("utf-8", "surrogateescape"))
            for chunk in iter(lambda upload=upload: upload.stream.read(65536), b""):
                digest.update(chunk)
            upload.stream.seek(0)
        return digest.digest()
    return request.get_data(cache=True)


def _replay(answer: idempotency.Answer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    response.headers[REPLAYED] = "true"
    return response


@bp.before_request
def start_idempotent_call() -> Response | None:
    """A repeat is answered here; a first call runs as one unit with its key (after authentication)."""
    key = request.headers.get(HEADER)
    if key is None or request.method not in CHANGING or g.get("api_user") is None:
        return None
    idempotency.check_key(key)
    user = api_user()
    request_hash = idempotency.fingerprint(request.method, request.full_path, _body_digest())
    answer = idempotency.stored(user.id, key, request_hash, utcnow())
    if answer is not None:
        db.session.rollback()
        return _replay(answer)
    db.session.commit()  # an expired key removed; the change starts a transaction of its own
    g.idempotency = (user.id, key, request_hash, tx.begin_unit())
    return None


@bp.after_request
def finish_idempotent_call(response: Response) -> Response:
    """Commit the change with its first answer; a concurrent first call with the same key wins."""
    state = g.pop("idempotency", None)
    if state is None:
        return response
    user_id, key, request_hash, unit = state
    tx.end_unit()
    keep = 200 <= response.status_code < 300 and not response.is_streamed
    try:
        if keep and unit.active:
            idempotency.remember(user_id, key, request_hash, _answer(response), utcnow())
        db.session.commit()
        if keep and not unit.active:  # the change committed on its own (a failed step in between)
            idempotency.remember(user_id, key, request_hash, _answer(response), utcnow())
            db.session.commit()
        if not keep:
            return _first_answer(user_id, key, request_hash) or response
    except IntegrityError:
        db.session.rollback()
        return _first_answer(user_id, key, request_hash) or error_response(
            409, "busy", "the same request is being answered; try again")
    except DBAPIError:
        db.session.rollback()
        failed = error_response(503, "unavailable", "the database is unavailable; try again")
        failed.headers["Retry-After"] = "5"
        return failed
    return response


def _answer(response: Response) -> idempotency.Answer:
    return idempotency.Answer(response.status_code, response.get_data(), response.content_type or "")


def _first_answer(user_id: int, key: str, request_hash: str) -> Response | None:
    """The answer of a call with this key that committed meanwhile (the same request sent twice at once)."""
    try:
        answer = idempotency.stored(user_id, key, request_hash, utcnow())
    except InvalidInput:  # the key was used for another request: this call's own answer stands
        db.session.rollback()
        return None
    db.session.rollback()
    return _replay(answer) if answer is not None else None


@bp.teardown_request
def end_idempotent_call(_exc: BaseException | None) -> None:
    """Never leave the unit on past the request (an unhandled error skips after_request)."""
    tx.end_unit()
