"""What the set-up services share: the problems they report, input loading, the administrators' check and the
lookups of a project and its parts."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validate
from marshmallow import fields as f
from sqlalchemy import func, select

from app.extensions import db
from app.models import Project, User
from services.access import require_role
from services.context import Actor
from services.errors import Conflict, InvalidInput, NotFound
from services.forms.registry import flatten_messages
from services.problems import N_, CodedSchema, Problem, problem
from services.problems import register as register_problems
from services.text import writable
from services.tx import locked

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
    "reopen_not_closed": N_("only a closed project can be reopened"),
    "part_in_use": N_("%(households)s households still belong to it: it cannot be removed"),
    "group_has_open_steps": N_("%(steps)s open steps still belong to this work group: it cannot be removed"),
    "batch_has_selections": N_("the choice of an appraisal firm for this batch is on record: it cannot be removed"),
})


def _text(max_len: int, required: bool = False) -> f.String:
    rules = [validate.Length(min=1 if required else 0, max=max_len), writable]
    return f.String(required=required, validate=rules) if required else f.String(allow_none=True, validate=rules)


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


def _project(project_id: int, *, lock: bool = False) -> Project:
    """A project by id (locked for a change with `lock`), or NotFound."""
    project = _get(Project, project_id, lock) if isinstance(project_id, int) else None
    if project is None:
        raise NotFound(problem("project_not_found"))
    return project


def _changeable(project: Project) -> Project:
    if project.status == "archived":
        raise Conflict(problem("project_archived"), code="project_archived")
    return project


def _get(model: type, row_id: int, lock: bool) -> Any:
    return locked(model, row_id) if lock else db.session.get(model, row_id)


def _of(model: type, row_id: int, code: str, *, lock: bool = False) -> Any:
    row = _get(model, row_id, lock) if isinstance(row_id, int) else None
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

