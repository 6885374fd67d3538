"""Process definitions: versions of the BPMN in the database, their validation and deployment."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessDefinition
from services import audit
from services.context import Actor
from services.engine import EngineError, ParsedProcess, get_engine
from services.errors import Conflict, InvalidInput, NotFound
from services.problems import N_, carried, problem
from services.problems import register as register_problems
from services.processes import validation

register_problems({
    "process_not_deployed": N_("no deployed process '%(key)s'"),
    "bpmn_unparsable": N_("the diagram does not parse"),
    "already_deployed": N_("this version is deployed already"),
    "newer_deployed": N_("a newer version (v%(version)s) is deployed; save this diagram as a new draft to deploy it"),
    "bpmn_invalid": N_("the diagram is not valid"),
    "element_problem": N_("%(element)s: %(problem)s"),
})

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "bpmn"

def parsed(definition: ProcessDefinition) -> ParsedProcess:
    """The parsed spec of a stored definition (parsed once per process)."""
    engine = get_engine()
    if engine.is_cached(definition.sha256):
        return engine.cached(definition.sha256)
    return engine.parse(definition.bpmn_xml.encode("utf-8"))


def current(key: str) -> ProcessDefinition:
    """The newest deployed version of a process (the shipped diagrams are deployed by `flask bpmn load`)."""
    definition = _newest_deployed(key)
    if definition is None:
        raise NotFound(problem("process_not_deployed", key=key))
    return definition


def _newest_deployed(key: str) -> ProcessDefinition | None:
    return db.session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, ProcessDefinition.status == "deployed")
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


def load_shipped(directory: Path | str, actor: Actor, now: datetime) -> list[ProcessDefinition]:
    """Deploy each diagram of the folder whose process has no version in the database yet."""
    created = []
    for path in sorted(Path(directory).glob("*.bpmn")):
        xml = path.read_bytes()
        process = get_engine().parse(xml)
        exists = db.session.scalar(select(func.count()).where(ProcessDefinition.key == process.process_id))
        if exists:
            continue
        definition = _add_version(process, xml.decode("utf-8"), actor, now, f"shipped {path.name}")
        _mark_deployed(definition, actor, now)
        created.append(definition)
    db.session.flush()
    return created


def _add_version(process: ParsedProcess, xml: str, actor: Actor, now: datetime, comment: str | None,
                 ) -> ProcessDefinition:
    newest = db.session.scalar(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == process.process_id)
    )
    definition = ProcessDefinition(
        key=process.process_id, version=(newest or 0) + 1, name=(process.name or process.process_id)[:128],
        bpmn_xml=xml, sha256=process.sha256, status="draft", comment=comment, created_at=now, created_by_id=actor.id,
    )
    db.session.add(definition)
    db.session.flush()
    audit.record(actor, "definition.create", "process_definition", definition.id,
                 after={"key": definition.key, "version": definition.version, "sha256": definition.sha256},
                 at=now)
    return definition


def _mark_deployed(definition: ProcessDefinition, actor: Actor, now: datetime) -> None:
    definition.status = "deployed"
    definition.deployed_at = now
    definition.deployed_by_id = actor.id
    audit.record(actor, "definition.deploy", "process_definition", definition.id,
                 after={"key": definition.key, "version": definition.version}, at=now)


def create_draft(actor: Actor, xml: bytes, comment: str | None, now: datetime) -> ProcessDefinition:
    """Store a diagram as a new draft version; InvalidInput when it does not parse."""
    problems = validation.parse_problems(xml)
    if problems:
        raise InvalidInput(problem("bpmn_unparsable"), {"bpmn": [_worded(p) for p in problems]})
    try:
        process = get_engine().parse(xml)
    except EngineError as exc:
        raise InvalidInput(problem("bpmn_unparsable"), {"bpmn": [carried(exc)]}) from None
    return _add_version(process, xml.decode("utf-8"), actor, now, comment)


def _worded(found: dict[str, Any]) -> str:
    """A problem as one line of text, naming its element."""
    if found.get("element_id"):
        return problem("element_problem", element=found["element_id"], problem=found["message"])
    return found["message"]


def deploy(actor: Actor, definition_id: int, now: datetime) -> ProcessDefinition:
    """Deploy a draft: new cases start on it; running ones stay on their version."""
    definition = db.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(problem("definition_not_found"))
    if definition.status == "deployed":
        raise Conflict(problem("already_deployed"), code="already_deployed")
    newer = _newest_deployed(definition.key)
    if newer is not None and newer.version > definition.version:
        raise Conflict(problem("newer_deployed", version=newer.version), code="newer_deployed")
    problems = validate(definition.bpmn_xml.encode("utf-8"))
    if problems:
        raise InvalidInput(problem("bpmn_invalid"), {"bpmn": [_worded(p) for p in problems]})
    _mark_deployed(definition, actor, now)
    return definition


def list_definitions() -> list[ProcessDefinition]:
    """Every version of every process, newest first."""
    return list(db.session.scalars(
        select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    ))


def validate(xml: Any) -> list[dict[str, Any]]:
    """Every problem that keeps a diagram from running here; an empty list when it is valid."""
    return validation.validate(xml)
