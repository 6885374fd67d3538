"""Idempotency keys: the first answer to a state-changing API call, kept a day, to answer its repeats.

A client that lost the answer to a call (a cut connection, a killed web worker) sends the call again
with the same Idempotency-Key; if the first one was done, the repeat gets its answer instead of doing it
again. The key is written in the transaction of the change itself (app/api/idempotency.py defers the
change's commit until the key is added), so a key exists exactly when its change was committed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app.extensions import db
from app.models import IdempotencyKey
from services import problems
from services.errors import InvalidInput
from services.problems import N_, problem

TTL = timedelta(days=1)
MAX_LENGTH = 200

problems.register({
    "idempotency_key_format": N_("An Idempotency-Key is 1 to %(max)s printable ASCII characters."),
    "idempotency_key_reused": N_("This Idempotency-Key was used for a different request; use a new key."),
})


@dataclass(frozen=True)
class Answer:
    """A stored first answer."""

    status: int
    body: bytes
    content_type: str


def check_key(key: str) -> str:
    """The key as sent, or InvalidInput when it is empty, too long or not printable ASCII."""
    if not 0 < len(key) <= MAX_LENGTH or not all(" " < c <= "~" for c in key):
        raise InvalidInput(problem("idempotency_key_format", max=MAX_LENGTH),
                           {"Idempotency-Key": [problem("idempotency_key_format", max=MAX_LENGTH)]},
                           code="invalid_idempotency_key")
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What identifies a request: its method, path and query, and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode("utf-8", "surrogateescape"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def stored(user_id: int, key: str, request_hash: str, now: datetime) -> Answer | None:
    """The first answer under this key, None when there is none (or it expired); InvalidInput when the key
    was used for another request."""
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                         IdempotencyKey.key == key))
    if row is None:
        return None
    if row.created_at < now - TTL:
        db.session.delete(row)
        db.session.flush()
        return None
    if row.request_hash != request_hash:
        raise InvalidInput(problem("idempotency_key_reused"),
                           {"Idempotency-Key": [problem("idempotency_key_reused")]}, code="idempotency_key_reused")
    return Answer(row.status, row.body, row.content_type)


def remember(user_id: int, key: str, request_hash: str, answer: Answer, now: datetime) -> None:
    """Add the first answer to the current transaction (a concurrent first one makes its commit fail)."""
    db.session.add(IdempotencyKey(user_id=user_id, key=key, request_hash=request_hash, status=answer.status,
                                  body=answer.body, content_type=answer.content_type[:100], created_at=now))


def purge(now: datetime) -> int:
    """Forget the keys older than a day (the worker calls it each pass)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - TTL))
    return result.rowcount or 0
