"""A project's particulars and status: created, changed, closed and archived by administrators, audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import fields as f
from marshmallow import validate
from sqlalchemy import func, select

from app.extensions import db
from app.models import PROJECT_KINDS, Household, PolicyVersion, Project, Village, WorkGroup
from services import audit, fingerprint
from services.context import Actor
from services.errors import Conflict, InvalidInput, NotFound
from services.forms.values import BoundedDate
from services.problems import CodedSchema, Problem, Template, name_param, problem
from services.setup.common import _admin, _changeable, _load, _project, _refuse, _snapshot, _text
from services.text import writable
from services.tx import transaction

NEXT_STATUS = {"active": "closed", "closed": "archived"}

# the dates of a project in the order they must follow, with their names (中文, English) for the problems
DATE_TITLES: dict[str, tuple[str, str]] = {
    "announced_on": ("公告日期", "the announcement date"),
    "signing_starts_on": ("签约开始日期", "the start of signing"),
    "sign_deadline": ("签约截止日期", "the end of signing"),
    "target_signed_on": ("签约目标日期", "the signing target"),
    "target_vacated_on": ("腾空目标日期", "the vacating target"),
    "target_demolished_on": ("拆除目标日期", "the demolition target"),
    "target_cleared_on": ("清零目标日期", "the clearance target"),
}
# (earlier, later): the later may not come before the earlier
DATE_ORDER = (("announced_on", "signing_starts_on"), ("signing_starts_on", "sign_deadline"),
              ("signing_starts_on", "target_signed_on"), ("target_signed_on", "target_vacated_on"),
              ("target_vacated_on", "target_demolished_on"), ("target_demolished_on", "target_cleared_on"))


def _date_title(code: Any, locale: str) -> str:
    names = DATE_TITLES.get(str(code))
    if names is None:
        return str(code)
    return names[1] if locale.startswith("en") else names[0]


name_param("earlier", _date_title)


def _day() -> BoundedDate:
    return BoundedDate(back=30, ahead=30, allow_none=True)


class ProjectInput(CodedSchema):
    """A project's particulars (all but code and name may be left empty)."""

    code = f.String(required=True, validate=[validate.Length(min=1, max=32),
                                             validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
                                                             error=Template("code_chars"))])
    name = _text(128, required=True)
    kind = f.String(required=True, validate=validate.OneOf(PROJECT_KINDS),
                    metadata={"description": "collective (集体土地), state (国有土地) or mixed (混合)"})
    decision_number = _text(64)
    announced_on = _day()
    signing_starts_on = _day()
    sign_deadline = _day()
    target_signed_on = _day()
    target_vacated_on = _day()
    target_demolished_on = _day()
    target_cleared_on = _day()
    policy_version = f.String(allow_none=True, validate=validate.Length(max=32),
                              metadata={"description": "the number of the compensation policy version in force"})
    description = _text(1000)


class StatusInput(CodedSchema):
    """The status a project moves to: active → closed → archived."""

    status = f.String(required=True, validate=validate.OneOf(("closed", "archived")))


class ReopenInput(CodedSchema):
    """Why a closed project is opened again: the trail keeps it."""

    reason = f.String(required=True, validate=[validate.Length(min=10, max=500), writable])


@dataclass(frozen=True)
class ProjectRow:
    """A project of the list with its counts."""

    project: Project
    households: int
    groups: int
    villages: int


PROJECT_KEYS = ("code", "name", "kind", "decision_number", *DATE_TITLES, "description")


def _project_values(values: dict[str, Any], project: Project | None, fields: dict) -> dict[str, Any]:
    """The checked values of a project: its code unique, its dates in order, its policy version known."""
    code = values.get("code")
    if code is not None:
        stmt = select(func.count()).select_from(Project).where(Project.code == code)
        if project is not None:
            stmt = stmt.where(Project.id != project.id)
        if db.session.scalar(stmt):
            fields.setdefault("code", []).append(problem("project_code_exists"))
    dates = {key: values[key] if key in values else getattr(project, key, None) for key in DATE_TITLES}
    for earlier, later in DATE_ORDER:
        if dates[earlier] and dates[later] and dates[later] < dates[earlier] and later not in fields:
            fields.setdefault(later, []).append(problem("date_before", earlier=earlier))
    if "policy_version" in values:
        number = values.pop("policy_version")
        values["policy_version_id"] = None
        if number:
            found = db.session.scalar(select(PolicyVersion.id).where(PolicyVersion.version == number))
            if found is None:
                fields.setdefault("policy_version", []).append(problem("policy_version_unknown"))
            values["policy_version_id"] = found
    return values


def policy_number(project: Project) -> str | None:
    """The number of the policy version in force for the project."""
    if project.policy_version_id is None:
        return None
    return db.session.scalar(select(PolicyVersion.version).where(PolicyVersion.id == project.policy_version_id))


def _project_audit(project: Project) -> dict[str, Any]:
    """A project's particulars as the trail keeps them (its code under project_code: not a household's)."""
    values = _snapshot(project, PROJECT_KEYS)
    values["project_code"] = values.pop("code")
    return {**values, "policy_version": policy_number(project)}


PROJECT_ACTIONS = ("project.create", "project.update")  # the audited changes of a project's particulars


def project_fingerprint(project: Project) -> str:
    """The fingerprint of a project's particulars as they are now (its edit form and its API answer carry it)."""
    return fingerprint.of(_project_audit(project))


def list_projects(actor: Actor) -> list[ProjectRow]:
    """Every project, by code, with its number of households, work groups and villages."""
    _admin(actor)

    def counts(model: type) -> dict[int, int]:
        return dict(db.session.execute(select(model.project_id, func.count()).group_by(model.project_id)).all())

    households, groups, villages = counts(Household), counts(WorkGroup), counts(Village)
    return [ProjectRow(p, households.get(p.id, 0), groups.get(p.id, 0), villages.get(p.id, 0))
            for p in db.session.scalars(select(Project).order_by(Project.code))]


def get_project(actor: Actor, project_id: int) -> Project:
    """A project with its villages, batches and work groups (administrators)."""
    _admin(actor)
    return _project(project_id)


def project_by_code(actor: Actor, code: str) -> Project:
    """A project by its code (the command line names projects so)."""
    _admin(actor)
    project = db.session.scalar(select(Project).where(Project.code == code))
    if project is None:
        raise NotFound(problem("project_not_found"))
    return project


def create_project(actor: Actor, data: Any, *, now: datetime) -> Project:
    """A new active project."""
    with transaction():
        _admin(actor)
        fields: dict[str, list[Problem]] = {}
        values = _load(ProjectInput, data, fields)
        values = _project_values(values, None, fields)
        _refuse(fields)
        project = Project(**values, status="active", created_at=now, duty_rules_off={})
        db.session.add(project)
        db.session.flush()
        audit.record(actor, "project.create", "project", project.id, after=_project_audit(project), at=now)
    return project


def update_project(actor: Actor, project_id: int, data: Any, *, now: datetime) -> Project:
    """Change a project's particulars (the fields sent); an archived project is no longer changed, and a change
    made on a fingerprint the project no longer has is refused (409 stale_edit)."""
    data, sent = fingerprint.take(data)
    with transaction():
        _admin(actor)
        project = _changeable(_project(project_id, lock=True))
        fingerprint.check(sent, _project_audit(project), "project", project.id, PROJECT_ACTIONS)
        fields: dict[str, list[Problem]] = {}
        values = _load(ProjectInput, data, fields, partial=True)
        values = _project_values(values, project, fields)
        _refuse(fields)
        before = _project_audit(project)
        for key, value in values.items():
            setattr(project, key, value)
        db.session.flush()
        after = _project_audit(project)
        changed = [key for key in after if after[key] != before[key]]
        if changed:
            audit.record(actor, "project.update", "project", project.id, at=now,
                         before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return project


def set_status(actor: Actor, project_id: int, data: Any, *, now: datetime) -> Project:
    """Close an active project (it takes no new households) or archive a closed one."""
    with transaction():
        _admin(actor)
        project = _project(project_id)
        target = _load(StatusInput, data)["status"]
        if NEXT_STATUS.get(project.status) != target:
            raise Conflict(problem("status_step"), code="status_step")
        project.status = target
        if target == "closed":
            project.closed_at = now
        audit.record(actor, f"project.{'close' if target == 'closed' else 'archive'}", "project", project.id,
                     after={"name": project.name, "closed_at": project.closed_at}, at=now)
    return project


def close_project(actor: Actor, project_id: int, *, now: datetime) -> Project:
    """Close an active project."""
    return set_status(actor, project_id, {"status": "closed"}, now=now)


def archive_project(actor: Actor, project_id: int, *, now: datetime) -> Project:
    """Archive a closed project."""
    return set_status(actor, project_id, {"status": "archived"}, now=now)


def reopen_project(actor: Actor, project_id: int, data: Any, *, now: datetime) -> Project:
    """Open a closed project again, with a written reason (it takes new households once more); an archived
    project stays archived."""
    with transaction():
        _admin(actor)
        project = _changeable(_project(project_id))
        if project.status != "closed":
            raise Conflict(problem("reopen_not_closed"), code="reopen_not_closed")
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            data = {**data, "reason": data["reason"].strip()}
        reason = _load(ReopenInput, data)["reason"]
        before = {"name": project.name, "closed_at": project.closed_at}
        project.status, project.closed_at = "active", None
        audit.record(actor, "project.reopen", "project", project.id, before=before,
                     after={"name": project.name, "reopen_reason": reason}, at=now)
    return project


def ensure_open(project: Project) -> None:
    """Refuse new households for a project that is not active (422 naming the project)."""
    if project.status != "active":
        raise InvalidInput(problem("project_closed"), {"project_id": [problem("project_not_open")]},
                           code="project_closed")

