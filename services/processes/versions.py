"""The versions of each process as process owners manage them: list, save a draft, deploy, retire."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import MAX_ID, ProcessDefinition, ProcessInstance, User
from services import audit, definitions
from services.access import require_role
from services.context import Actor
from services.errors import Conflict, InvalidInput, NotFound
from services.problems import N_, problem
from services.problems import register as register_problems
from services.text import first_unwritable
from services.tx import take_write_lock, transaction

register_problems({
    "comment_invalid": N_("the comment is not valid"),
    "text_unicode": N_("must be valid Unicode text"),
    "comment_long": N_("the comment is too long"),
    "already_retired": N_("this version is retired already"),
    "retire_not_deployed": N_("only a deployed version can be retired"),
    "last_deployed": N_("this is the only deployed version of the process; deploy another one first"),
})

EDITOR_ROLES = ("process_owner", "admin")
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Version:
    """One version with who made it and how many cases run on it."""

    definition: ProcessDefinition
    created_by: str | None
    deployed_by: str | None
    running: int
    instances: int
    current: bool


def find(definition_id: int) -> ProcessDefinition:
    """A stored version by id, or NotFound (ids outside the column's range name nothing)."""
    valid = isinstance(definition_id, int) and 0 < definition_id <= MAX_ID
    definition = db.session.get(ProcessDefinition, definition_id) if valid else None
    if definition is None:
        raise NotFound(problem("definition_not_found"))
    return definition


def can_edit(user: User | None) -> bool:
    """True when the user may save, deploy and retire versions and move cases between them."""
    return user is not None and user.has_role(*EDITOR_ROLES)


def list_versions(definition_id: int | None = None) -> list[Version]:
    """Every version of every process (or just one), newest first, with their case counts."""
    creator, deployer = aliased(User), aliased(User)
    counts = (select(ProcessInstance.definition_id, func.count().label("instances"),
                     func.count().filter(ProcessInstance.status == "running").label("running"))
              .group_by(ProcessInstance.definition_id).subquery())
    query = (select(ProcessDefinition, creator.username, deployer.username, counts.c.running, counts.c.instances)
             .outerjoin(creator, creator.id == ProcessDefinition.created_by_id)
             .outerjoin(deployer, deployer.id == ProcessDefinition.deployed_by_id)
             .outerjoin(counts, counts.c.definition_id == ProcessDefinition.id)
             .order_by(ProcessDefinition.key, ProcessDefinition.version.desc()))
    if definition_id is not None:
        query = query.where(ProcessDefinition.id == definition_id)
    rows = db.session.execute(query).all()
    newest: dict[str, int] = {}
    for definition, *_ in rows:
        if definition.status == "deployed":
            newest[definition.key] = max(newest.get(definition.key, 0), definition.version)
    return [Version(d, made, deployed, int(running or 0), int(total or 0), newest.get(d.key) == d.version)
            for d, made, deployed, running, total in rows]


def get_version(definition_id: int) -> Version:
    """One version with its counts, or NotFound."""
    return list_versions(find(definition_id).id)[0]


def bpmn_xml(definition_id: int) -> str:
    """The stored XML of a version."""
    return find(definition_id).bpmn_xml


def clean_comment(comment: Any) -> str | None:
    """A version's comment: trimmed text without NUL, at most 2000 characters; None when empty."""
    if comment is None:
        return None
    if not isinstance(comment, str) or "\x00" in comment:
        raise InvalidInput(problem("comment_invalid"), {"comment": [problem("text_nul")]})
    try:
        comment.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(problem("comment_invalid"), {"comment": [problem("text_unicode")]}) from None
    if first_unwritable(comment) is not None:
        raise InvalidInput(problem("comment_invalid"),
                           {"comment": [problem("unwritable_text", char=first_unwritable(comment))]})
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(problem("comment_long"), {"comment": [problem("at_most_chars", max=MAX_COMMENT)]})
    return comment or None


def save_draft(actor: Actor, xml: bytes, comment: Any, now: datetime) -> ProcessDefinition:
    """Store a diagram as the process's next version, a draft (process owners and administrators)."""
    require_role(actor.user, *EDITOR_ROLES)
    text = clean_comment(comment)
    with transaction():
        draft = definitions.create_draft(actor, xml, text, now)
    return draft


def deploy(actor: Actor, definition_id: int, now: datetime) -> ProcessDefinition:
    """Deploy a version after validating it: new cases start on it, running ones keep theirs."""
    require_role(actor.user, *EDITOR_ROLES)
    with transaction():
        _lock_key(definition_id)
        deployed = definitions.deploy(actor, definition_id, now)
    return deployed


def retire(actor: Actor, definition_id: int, now: datetime) -> ProcessDefinition:
    """Retire a deployed version: no new case starts on it; its running cases go on undisturbed."""
    require_role(actor.user, *EDITOR_ROLES)
    with transaction():
        definition = _lock_key(definition_id)
        if definition.status == "retired":
            raise Conflict(problem("already_retired"), code="already_retired")
        if definition.status != "deployed":
            raise Conflict(problem("retire_not_deployed"), code="not_deployed")
        others = db.session.scalar(select(func.count()).where(
            ProcessDefinition.key == definition.key, ProcessDefinition.status == "deployed",
            ProcessDefinition.id != definition.id))
        if not others:
            raise Conflict(problem("last_deployed"),
                           code="last_deployed")
        definition.status = "retired"
        audit.record(actor, "definition.retire", "process_definition", definition.id,
                     after={"key": definition.key, "version": definition.version}, at=now)
    return definition


def _lock_key(definition_id: int) -> ProcessDefinition:
    """The version, with every version of its process locked, so deploys and retirements queue up."""
    take_write_lock()
    definition = find(definition_id)
    db.session.execute(select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key)
                       .with_for_update())
    db.session.refresh(definition)
    return definition
