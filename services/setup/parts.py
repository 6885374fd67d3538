"""A project's villages and sections, batches and work groups: created and changed by administrators, audited
with their names."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import fields as f
from marshmallow import validate
from sqlalchemy import func, select

from app.extensions import db
from app.models import Batch, FirmSelection, Household, HumanTask, Project, Village, WorkGroup
from services import audit, fingerprint
from services.context import Actor
from services.errors import Conflict, InvalidInput
from services.problems import CodedSchema, Problem, problem
from services.setup.common import (
    _admin,
    _changeable,
    _load,
    _of,
    _project,
    _refuse,
    _snapshot,
    _text,
    _unique_name,
    _user,
)
from services.setup.groups import _member
from services.tx import transaction

VILLAGE_KINDS = ("village", "section")  # 村 / 片区、标段


class VillageInput(CodedSchema):
    """A village or section of a project."""

    name = _text(64, required=True)
    kind = f.String(load_default="village", validate=validate.OneOf(VILLAGE_KINDS))
    cadre = f.String(allow_none=True, validate=validate.Length(max=64),
                     metadata={"description": "username of the village cadre (role village_cadre)"})
    notes = _text(500)


class BatchInput(CodedSchema):
    """A batch of households."""

    name = _text(64, required=True)
    notes = _text(500)


class GroupInput(CodedSchema):
    """A work group; members only when it is created (then one by one)."""

    name = _text(128, required=True)
    leader = f.String(allow_none=True, validate=validate.Length(max=64),
                      metadata={"description": "username of the leader (role group_leader)"})
    members = f.List(f.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=200),
                     metadata={"description": "usernames, on creation only (then add and remove one by one)"})


VILLAGE_KEYS = ("name", "kind", "cadre_id", "notes")
BATCH_KEYS = ("name", "notes")
GROUP_KEYS = ("name", "leader_id")


def _save_part(actor: Actor, obj: Any, values: dict[str, Any], keys: tuple[str, ...], action: str,
               kind: str, now: datetime, created: bool) -> None:
    """Apply the values to a village, batch or group and audit what changed (its name always named)."""
    before = _snapshot(obj, keys)
    for key, value in values.items():
        setattr(obj, key, value)
    db.session.add(obj)
    db.session.flush()
    after = _snapshot(obj, keys)
    if created:
        audit.record(actor, f"{action}.create", kind, obj.id, after={**after, "project_id": obj.project_id},
                     at=now)
        return
    changed = [key for key in after if after[key] != before[key]]
    if changed:
        audit.record(actor, f"{action}.update", kind, obj.id, at=now,
                     before={"name": before["name"], **{k: before[k] for k in changed}},
                     after={"name": after["name"], **{k: after[k] for k in changed}})


def _village_values(values: dict[str, Any], fields: dict) -> dict[str, Any]:
    if "cadre" in values:
        cadre = _user(values.pop("cadre"), "village_cadre", "cadre", fields)
        values["cadre_id"] = cadre.id if cadre else None
    return values


def create_village(actor: Actor, project_id: int, data: Any, *, now: datetime) -> Village:
    """A new village or section of a project."""
    return _create_part(actor, "village", project_id, data, now)


def update_village(actor: Actor, village_id: int, data: Any, *, now: datetime) -> Village:
    """Rename a village, set its kind, cadre or notes (the fields sent)."""
    return _update_part(actor, "village", village_id, data, now)


def create_batch(actor: Actor, project_id: int, data: Any, *, now: datetime) -> Batch:
    """A new batch of a project."""
    return _create_part(actor, "batch", project_id, data, now)


def update_batch(actor: Actor, batch_id: int, data: Any, *, now: datetime) -> Batch:
    """Rename a batch or change its notes."""
    return _update_part(actor, "batch", batch_id, data, now)


def _leader_values(values: dict[str, Any], fields: dict) -> dict[str, Any]:
    if "leader" in values:
        leader = _user(values.pop("leader"), "group_leader", "leader", fields)
        values["leader_id"] = leader.id if leader else None
    return values


def _checked(schema: type[CodedSchema], model: type, project: Project, row: Any, data: Any,
             check: Callable[[dict, dict], dict] | None = None) -> dict[str, Any]:
    """The input of a village, batch or group, validated: the name unique in the project, people in their
    roles; a new one needs every required field, a change only those sent."""
    fields: dict[str, list[Problem]] = {}
    values = _load(schema, data, fields, partial=row is not None)
    if "name" in values:
        _unique_name(model, project.id, values["name"], row.id if row is not None else None, fields)
    if check is not None:
        values = check(values, fields)
    _refuse(fields)
    return values


def _group_values(values: dict[str, Any], fields: dict) -> dict[str, Any]:
    values = _leader_values(values, fields)
    if "members" in values:
        found = [_member(name, fields, "members") for name in dict.fromkeys(values["members"])]
        values["members"] = [user for user in found if user is not None]
    return values


def create_group(actor: Actor, project_id: int, data: Any, *, now: datetime) -> WorkGroup:
    """A new work group of a project with its leader and members (by username)."""
    return _create_part(actor, "work_group", project_id, data, now)


def update_group(actor: Actor, group_id: int, data: Any, *, now: datetime) -> WorkGroup:
    """Rename a work group or set its leader (members: add_member, remove_member)."""
    _admin(actor)
    if isinstance(data, dict) and "members" in data:
        raise InvalidInput(problem("has_errors"), {"members": [problem("unknown_field")]})
    return _update_part(actor, "work_group", group_id, data, now)


@dataclass(frozen=True)
class Part:
    """A kind of a project's parts: its model, input, audited keys, the check of its people, the code when
    missing."""

    model: type
    schema: type[CodedSchema]
    keys: tuple[str, ...]
    check: Callable[[dict, dict], dict] | None
    missing: str
    households: Any  # the households' column that names it


PARTS = {
    "village": Part(Village, VillageInput, VILLAGE_KEYS, _village_values, "village_not_found", Household.village_id),
    "batch": Part(Batch, BatchInput, BATCH_KEYS, None, "batch_not_found", Household.batch_id),
    "work_group": Part(WorkGroup, GroupInput, GROUP_KEYS, _group_values, "group_not_found",
                       Household.work_group_id),
}


def _create_part(actor: Actor, kind: str, project_id: int, data: Any, now: datetime) -> Any:
    spec = PARTS[kind]
    with transaction():
        _admin(actor)
        project = _changeable(_project(project_id))
        values = _checked(spec.schema, spec.model, project, None, data, spec.check)
        row = spec.model(project_id=project.id)
        if kind == "batch":
            row.created_at = now
        _save_part(actor, row, values, spec.keys, kind, kind, now, created=True)
        if kind == "work_group" and row.members:
            audit.record(actor, "work_group.member.add", "work_group", row.id, at=now,
                         after={"name": row.name, "members": [m.username for m in row.members]})
    return row


def part_fingerprint(kind: str, row: Any) -> str:
    """The fingerprint of a village's, batch's or work group's particulars as they are now (its edit form and its
    API answer carry it)."""
    return fingerprint.of(_snapshot(row, PARTS[kind].keys))


def _update_part(actor: Actor, kind: str, row_id: int, data: Any, now: datetime) -> Any:
    """Change a part (the fields sent); a change made on a fingerprint it no longer has is refused (409)."""
    spec = PARTS[kind]
    data, sent = fingerprint.take(data)
    with transaction():
        _admin(actor)
        row = _of(spec.model, row_id, spec.missing, lock=True)
        fingerprint.check(sent, _snapshot(row, spec.keys), kind, row.id, (f"{kind}.create", f"{kind}.update"))
        values = _checked(spec.schema, spec.model, _changeable(row.project), row, data, spec.check)
        _save_part(actor, row, values, spec.keys, kind, kind, now, created=False)
    return row


def _count(model: type, *conditions: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def _refuse_if_used(kind: str, row: Any) -> None:
    """A part still named by a household — a work group also by an open step, a batch by the record of how its
    appraisal firm was chosen — is not removed (409, counting them)."""
    households = _count(Household, PARTS[kind].households == row.id)
    if households:
        raise Conflict(problem("part_in_use", households=households), code="part_in_use")
    if kind == "work_group":
        steps = _count(HumanTask, HumanTask.work_group_id == row.id, HumanTask.status == "ready")
        if steps:
            raise Conflict(problem("group_has_open_steps", steps=steps), code="group_has_open_steps")
    if kind == "batch" and _count(FirmSelection, FirmSelection.batch_id == row.id):
        raise Conflict(problem("batch_has_selections"), code="batch_has_selections")


def _delete_part(actor: Actor, kind: str, row_id: int, now: datetime) -> Project:
    """Remove a part nothing uses (a work group with its memberships); the trail keeps what it was."""
    spec = PARTS[kind]
    with transaction():
        _admin(actor)
        row = _of(spec.model, row_id, spec.missing)
        project = _changeable(row.project)
        _refuse_if_used(kind, row)
        before = {**_snapshot(row, spec.keys), "project_id": project.id}
        if kind == "work_group":
            before["members"] = [member.username for member in row.members]
        db.session.delete(row)
        db.session.flush()
        audit.record(actor, f"{kind}.delete", kind, row_id, before=before, after={"name": before["name"]}, at=now)
    db.session.expire(project)
    return project


def delete_village(actor: Actor, village_id: int, *, now: datetime) -> Project:
    """Remove a village or section no household belongs to; its project comes back."""
    return _delete_part(actor, "village", village_id, now)


def delete_batch(actor: Actor, batch_id: int, *, now: datetime) -> Project:
    """Remove a batch no household belongs to and no firm selection names; its project comes back."""
    return _delete_part(actor, "batch", batch_id, now)


def delete_group(actor: Actor, group_id: int, *, now: datetime) -> Project:
    """Remove a work group no household and no open step belongs to, its members with it; its project comes
    back."""
    return _delete_part(actor, "work_group", group_id, now)


def part(actor: Actor, model: type, row_id: int) -> Any:
    """A village, batch or work group (administrators)."""
    _admin(actor)
    return _of(model, row_id, next(spec.missing for spec in PARTS.values() if spec.model is model))

