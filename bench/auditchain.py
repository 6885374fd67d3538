"""Hash-chaining bulk audit rows exactly as services/audit.py does, without re-serialising their documents.

The documents (before/after) arrive as canonical JSON text already (sorted keys, compact separators, no ASCII
escaping — the form services.audit.canonical() gives them), so a row's canonical bytes are assembled from
the pieces; tests/test_bench_generator.py checks the result against services.audit.canonical().
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.models import AuditLog
from services.audit import GENESIS


def dumps(value: object) -> str:
    """The canonical JSON text of a value (as services.audit.canonical writes nested values)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=65536)
def _scalar(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _int(value: int | None) -> str:
    return "null" if value is None else str(value)


def canonical_text(at: datetime, actor_id: int | None, actor_name: str | None, action: str,
                   target_type: str | None, target_id: str | None, household_id: int | None,
                   before: str | None, after: str | None, ip: str | None, prev_hash: str) -> str:
    """What services.audit.canonical() returns for these values (as text); before/after are canonical JSON."""
    d = _scalar
    return ('{"action":' + d(action) + ',"actor_id":' + _int(actor_id)
            + ',"actor_name":' + d(actor_name) + ',"after":' + (after or "null")
            + ',"at":"' + at.isoformat(timespec="microseconds") + '","before":' + (before or "null")
            + ',"household_id":' + _int(household_id) + ',"ip":' + d(ip)
            + ',"prev_hash":"' + prev_hash + '","target_id":' + d(target_id)
            + ',"target_type":' + d(target_type) + "}")


class Chain:
    """The running end of the chain: each row appended gets the previous hash and its own."""

    def __init__(self, last_hash: str | None):
        self.last = last_hash or GENESIS

    @classmethod
    def continuing(cls, connection: Connection) -> Chain:
        """The chain as the database ends it now."""
        return cls(connection.execute(select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).scalar())

    def link(self, at: datetime, actor_id: int | None, actor_name: str | None, action: str,
             target_type: str | None, target_id: str | None, household_id: int | None, before: str | None,
             after: str | None, ip: str | None) -> tuple[str, str]:
        """(prev_hash, hash) of the next row."""
        prev = self.last
        text = canonical_text(at, actor_id, actor_name, action, target_type, target_id, household_id, before,
                              after, ip, prev)
        self.last = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return prev, self.last
