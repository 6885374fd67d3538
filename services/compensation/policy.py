"""The versioned policy table: list, read, pick the one in force, add a version, seed the default."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import PolicyVersion
from services import audit
from services.compensation import defaults
from services.compensation.calculator import calculate
from services.compensation.inputs import HouseholdInput
from services.compensation.rules import validate_rules
from services.context import Actor
from services.errors import InvalidInput, NotFound
from services.problems import N_, problem
from services.problems import register as register_problems
from services.text import first_unwritable
from services.tx import transaction

register_problems({
    "policy_version_missing": N_("no policy version '%(version)s'"),
    "policy_version_chars": N_("letters, digits, '.', '_' or '-', at most 32 (e.g. 2026.2)"),
    "policy_version_exists": N_("this version already exists; versions never change, choose a new name"),
    "policy_invalid": N_("the policy version has errors"),
    "policy_unknown": N_("unknown policy version"),
    "policy_none_in_force": N_("no policy version is in force yet"),
    "policy_name_one": N_("no version is in force today; name one"),
})

VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
DEFAULT_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class PolicySummary:
    """A version as the list shows it."""

    version: str
    name: str
    effective_from: date
    current: bool
    created_at: datetime
    comment: str | None


def local_today(now: datetime, zone: str = DEFAULT_ZONE) -> date:
    """The office's calendar date at a naive-UTC instant (policies take effect by local date)."""
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()


def current_version(today: date) -> PolicyVersion | None:
    """The version in force: the latest effective_from on or before today (ties: the newest saved)."""
    return db.session.scalar(
        select(PolicyVersion).where(PolicyVersion.effective_from <= today)
        .order_by(PolicyVersion.effective_from.desc(), PolicyVersion.id.desc()).limit(1)
    )


def current_rules(today: date) -> dict[str, Any]:
    """The rule table in force; the built-in defaults while no version is stored or in force."""
    row = current_version(today)
    return copy.deepcopy(row.rules) if row is not None else defaults.default_rules()


def find(version: str) -> PolicyVersion | None:
    """A version by its name, or None."""
    if not isinstance(version, str) or not VERSION.match(version):
        return None
    return db.session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))


def get(version: str) -> PolicyVersion:
    """A version by its name; NotFound when there is none."""
    row = find(version)
    if row is None:
        raise NotFound(problem("policy_version_missing", version=version))
    return row


def list_versions(today: date) -> list[PolicySummary]:
    """Every version, the latest effective first, with the one in force marked."""
    rows = db.session.scalars(
        select(PolicyVersion).order_by(PolicyVersion.effective_from.desc(), PolicyVersion.id.desc())
    ).all()
    current = current_version(today)
    return [PolicySummary(r.version, r.name, r.effective_from, current is not None and r.id == current.id,
                          r.created_at, r.comment) for r in rows]


def rule_table(row: PolicyVersion, today: date) -> dict[str, Any]:
    """A version with its rules, as the API returns it."""
    current = current_version(today)
    return {"version": row.version, "name": row.name, "effective_from": row.effective_from,
            "current": current is not None and current.id == row.id, "comment": row.comment,
            "created_at": row.created_at, "rules": copy.deepcopy(row.rules)}


def suggest_version(today: date) -> str:
    """The next free version name of the year, e.g. 2026.2 after 2026.1."""
    prefix = f"{today.year}."
    names = db.session.scalars(select(PolicyVersion.version).where(PolicyVersion.version.like(f"{prefix}%")))
    minors = [int(n[len(prefix):]) for n in names if n[len(prefix):].isascii() and n[len(prefix):].isdigit()]
    return f"{prefix}{max(minors, default=0) + 1}"


def _check_header(values: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    version = values.get("version")
    if not isinstance(version, str) or not VERSION.match(version):
        errors["version"] = [problem("policy_version_chars")]
    elif find(version) is not None:
        errors["version"] = [problem("policy_version_exists")]
    name = values.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
        errors["name"] = [problem("required_max", max=128)]
    if not isinstance(values.get("effective_from"), date):
        errors["effective_from"] = [problem("date")]
    comment = values.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 1000):
        errors["comment"] = [problem("at_most_chars", max=1000)]
    for key in ("name", "comment"):
        if key not in errors and isinstance(values.get(key), str) and first_unwritable(values[key]):
            errors[key] = [problem("unwritable_text", char=first_unwritable(values[key]))]
    return errors


def check_version(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The normalised rules of a would-be version and the problems of every field (empty when valid)."""
    errors = _check_header(values)
    try:
        rules = validate_rules(values.get("rules"))
    except InvalidInput as exc:
        errors.update(exc.fields)
        rules = {}
    return rules, errors


def create_version(actor: Actor, values: dict[str, Any], now: datetime, *, based_on: str | None = None,
                   commit: bool = True) -> PolicyVersion:
    """Store a new version (version, name, effective_from, rules, comment); stored versions never change."""
    rules, errors = check_version(values)
    if errors:
        raise InvalidInput(problem("policy_invalid"), errors)
    row = PolicyVersion(version=values["version"], name=values["name"].strip(),
                        effective_from=values["effective_from"], rules=rules,
                        comment=(values.get("comment") or "").strip() or None, created_at=now,
                        created_by_id=actor.id)
    if commit:
        with transaction():
            _add(actor, row, based_on, now)
    else:
        _add(actor, row, based_on, now)
    return row


def _add(actor: Actor, row: PolicyVersion, based_on: str | None, now: datetime) -> None:
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "policy.created", "policy_version", row.version, at=now,
                 after={"version": row.version, "name": row.name, "effective_from": row.effective_from,
                        "based_on": based_on})


def ensure_default(actor: Actor, now: datetime) -> PolicyVersion | None:
    """Add the default version (DOMAIN.md's table) when no version exists; in the caller's transaction."""
    if db.session.scalar(select(func.count()).select_from(PolicyVersion)):
        return None
    values = {"version": defaults.DEFAULT_VERSION, "name": defaults.DEFAULT_NAME,
              "effective_from": date.fromisoformat(defaults.DEFAULT_EFFECTIVE_FROM),
              "rules": defaults.default_rules(), "comment": "DOMAIN.md defaults"}
    return create_version(actor, values, now, commit=False)


def _pick(version: str | None, today: date, now: datetime) -> PolicyVersion:
    if version is not None:
        row = find(version)
        if row is None:
            raise InvalidInput(problem("policy_unknown"),
                               {"policy_version": [problem("policy_version_missing", version=version)]})
        return row
    row = current_version(today)
    if row is None and not db.session.scalar(select(func.count()).select_from(PolicyVersion)):
        with transaction():
            ensure_default(Actor.system(), now)
        row = current_version(today)
    if row is None:
        raise InvalidInput(problem("policy_none_in_force"), {"policy_version": [problem("policy_name_one")]})
    return row


def preview(data: HouseholdInput, version: str | None, today: date, now: datetime) -> dict[str, Any]:
    """The calculation under the requested version or the one in force: {policy_version, items, total}."""
    row = _pick(version, today, now)
    result = calculate(row.rules, data)
    return {"policy_version": row.version, "items": list(result.items), "total": result.total}


def threshold(today: date) -> Decimal:
    """The tracking-audit threshold of the rule table in force."""
    return Decimal(current_rules(today)["tracking_audit_threshold"])
