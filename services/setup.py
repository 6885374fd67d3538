"""Setting up the office's projects (administrators): a project's particulars and status, its villages and
sections, batches and work groups with their leaders and members — every change audited."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validate
from marshmallow import fields as f
from sqlalchemy import func, select

from app.extensions import db
from app.models import PROJECT_KINDS, Batch, Household, PolicyVersion, Project, User, Village, WorkGroup, group_members
from services import audit
from services.access import require_role
from services.context import Actor
from services.errors import Conflict, InvalidInput, NotFound
from services.forms.registry import flatten_messages
from services.forms.values import BoundedDate
from services.problems import N_, CodedSchema, Problem, Template, name_param, problem
from services.problems import register as register_problems
from services.text import writable
from services.tx import transaction

register_problems({
    "project_code_exists": N_("another project has this code"),
    "date_before": N_("must not be before %(earlier)s"),
    "name_taken_in_project": N_("already used in this project"),
    "user_unknown": N_("no active user with this username"),
    "user_lacks_role": N_("%(user)s does not hold the role %(role)s"),
    "policy_version_unknown": N_("no policy version with this number"),
    "project_closed": N_("the project is closed: it takes no new households"),
    "project_not_open": N_("closed projects take no new households"),
    "project_archived": N_("the project is archived and can no longer be changed"),
    "status_step": N_("only an active project can be closed, and only a closed one archived"),
    "village_not_found": N_("village or section not found"),
    "batch_not_found": N_("batch not found"),
    "group_not_found": N_("work group not found"),
    "member_not_found": N_("not a member of this work group"),
    "member_already": N_("already a member of this work group"),
})

VILLAGE_KINDS = ("village", "section")  # 村 / 片区、标段
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


def _text(max_len: int, required: bool = False) -> f.String:
    rules = [validate.Length(min=1 if required else 0, max=max_len), writable]
    return f.String(required=required, validate=rules) if required else f.String(allow_none=True, validate=rules)


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


class MemberInput(CodedSchema):
    """A member to add to a work group."""

    username = f.String(required=True, validate=validate.Length(min=1, max=64))


class StatusInput(CodedSchema):
    """The status a project moves to: active → closed → archived."""

    status = f.String(required=True, validate=validate.OneOf(("closed", "archived")))


@dataclass(frozen=True)
class ProjectRow:
    """A project of the list with its counts."""

    project: Project
    households: int
    groups: int
    villages: int


def _admin(actor: Actor) -> None:
    """Administrators only (the system, for the command line, too)."""
    if actor.user is not None:
        require_role(actor.user, "admin")


def _load(schema: type[CodedSchema], data: Any, fields: dict[str, list[Problem]] | None = None, *,
          partial: bool = False) -> dict[str, Any]:
    """The valid values of the input; its problems go to `fields` (so that the checks of content that follow
    add theirs, and all are told at once), or are raised at once without `fields`."""
    if not isinstance(data, dict):
        raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
    try:
        return schema(partial=partial).load(data)
    except ValidationError as exc:
        if fields is None or not isinstance(exc.valid_data, dict):
            raise InvalidInput(problem("has_errors"), flatten_messages(exc.messages)) from None
        fields.update(flatten_messages(exc.messages))
        return {key: value for key, value in exc.valid_data.items() if key not in fields}


def _refuse(fields: dict[str, list[Problem]]) -> None:
    if fields:
        raise InvalidInput(problem("has_errors"), fields)


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None:
        raise NotFound(problem("project_not_found"))
    return project


def _changeable(project: Project) -> Project:
    if project.status == "archived":
        raise Conflict(problem("project_archived"), code="project_archived")
    return project


def _of(model: type, row_id: int, code: str) -> Any:
    row = db.session.get(model, row_id) if isinstance(row_id, int) else None
    if row is None:
        raise NotFound(problem(code))
    return row


def _user(username: str | None, role: str, field: str, fields: dict[str, list[Problem]]) -> User | None:
    """The active user of that username holding the role; a problem under `field` otherwise."""
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        fields.setdefault(field, []).append(problem("user_unknown"))
    elif not user.has_role(role):
        fields.setdefault(field, []).append(problem("user_lacks_role", user=user.display_name, role=role))
        return None
    return user


def _unique_name(model: type, project_id: int, name: str, own_id: int | None, fields: dict) -> None:
    stmt = select(func.count()).select_from(model).where(model.project_id == project_id, model.name == name)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if db.session.scalar(stmt):
        fields.setdefault("name", []).append(problem("name_taken_in_project"))


def _snapshot(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: getattr(obj, key) for key in keys}


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
    """Change a project's particulars (the fields sent); an archived project is no longer changed."""
    with transaction():
        _admin(actor)
        project = _changeable(_project(project_id))
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


def ensure_open(project: Project) -> None:
    """Refuse new households for a project that is not active (422 naming the project)."""
    if project.status != "active":
        raise InvalidInput(problem("project_closed"), {"project_id": [problem("project_not_open")]},
                           code="project_closed")


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


PARTS = {
    "village": Part(Village, VillageInput, VILLAGE_KEYS, _village_values, "village_not_found"),
    "batch": Part(Batch, BatchInput, BATCH_KEYS, None, "batch_not_found"),
    "work_group": Part(WorkGroup, GroupInput, GROUP_KEYS, _group_values, "group_not_found"),
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


def _update_part(actor: Actor, kind: str, row_id: int, data: Any, now: datetime) -> Any:
    spec = PARTS[kind]
    with transaction():
        _admin(actor)
        row = _of(spec.model, row_id, spec.missing)
        values = _checked(spec.schema, spec.model, _changeable(row.project), row, data, spec.check)
        _save_part(actor, row, values, spec.keys, kind, kind, now, created=False)
    return row


def _member(username: str, fields: dict, field: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        fields.setdefault(field, []).append(problem("user_unknown"))
    return user


def _group_to_change(actor: Actor, group_id: int) -> WorkGroup:
    _admin(actor)
    group = _of(WorkGroup, group_id, "group_not_found")
    _changeable(group.project)
    return group


def add_member(actor: Actor, group_id: int, data: Any, *, now: datetime) -> WorkGroup:
    """Add a member (by username) to a work group: they then work on its project."""
    with transaction():
        group = _group_to_change(actor, group_id)
        fields: dict[str, list[Problem]] = {}
        user = _member(_load(MemberInput, data)["username"], fields, "username")
        if user is not None and user in group.members:
            fields["username"] = [problem("member_already")]
        _refuse(fields)
        group.members.append(user)
        db.session.flush()
        audit.record(actor, "work_group.member.add", "work_group", group.id, at=now,
                     after={"name": group.name, "members": [user.username]})
    return group


def remove_member(actor: Actor, group_id: int, user_id: int, *, now: datetime) -> WorkGroup:
    """Take a member out of a work group (the leader stays leader until another is set)."""
    with transaction():
        group = _group_to_change(actor, group_id)
        user = next((m for m in group.members if m.id == user_id), None)
        if user is None:
            raise NotFound(problem("member_not_found"))
        group.members.remove(user)
        db.session.flush()
        audit.record(actor, "work_group.member.remove", "work_group", group.id, at=now,
                     before={"name": group.name, "members": [user.username]}, after={"name": group.name})
    return group


def part(actor: Actor, model: type, row_id: int) -> Any:
    """A village, batch or work group (administrators)."""
    _admin(actor)
    return _of(model, row_id, next(spec.missing for spec in PARTS.values() if spec.model is model))


def candidates(role: str | None = None) -> list[User]:
    """Active users (holding the role, when given), by display name: whom the forms offer."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name, User.username)
    users = list(db.session.scalars(stmt))
    return [u for u in users if role is None or u.has_role(role)]


def member_ids(group_ids: list[int]) -> dict[int, list[int]]:
    """The member ids of several groups in one query."""
    result: dict[int, list[int]] = {g: [] for g in group_ids}
    rows = db.session.execute(select(group_members.c.group_id, group_members.c.user_id)
                              .where(group_members.c.group_id.in_(group_ids or [-1]))).all()
    for group_id, user_id in rows:
        result[group_id].append(user_id)
    return result
