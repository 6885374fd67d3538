"""Process definitions: versions of the BPMN in the database, their validation and deployment."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessDefinition, utcnow
from services import audit, durations, expressions
from services.context import Actor
from services.engine import Engine, EngineError, ParsedProcess, parse_xml
from services.errors import Conflict, InvalidInput, NotFound
from services.forms import get_form

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

_engine: Engine | None = None


def get_engine() -> Engine:
    """The engine of this process (specs are cached in it by hash)."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def parsed(definition: ProcessDefinition) -> ParsedProcess:
    """The parsed spec of a stored definition (parsed once per process)."""
    engine = get_engine()
    if engine.is_cached(definition.sha256):
        return engine.cached(definition.sha256)
    return engine.parse(definition.bpmn_xml.encode("utf-8"))


def current(key: str) -> ProcessDefinition:
    """The newest deployed version of a process; loads the shipped diagrams on first use."""
    definition = _newest_deployed(key)
    if definition is None:
        load_shipped(SHIPPED_DIR, Actor.system(), utcnow())
        definition = _newest_deployed(key)
    if definition is None:
        raise NotFound(f"no deployed process '{key}'")
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
        key=process.process_id, version=(newest or 0) + 1, name=process.name, bpmn_xml=xml,
        sha256=process.sha256, status="draft", comment=comment, created_at=now, created_by_id=actor.id,
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
    try:
        process = get_engine().parse(xml)
    except EngineError as exc:
        raise InvalidInput("the diagram does not parse", {"bpmn": [str(exc)]}) from None
    return _add_version(process, xml.decode("utf-8"), actor, now, comment)


def deploy(actor: Actor, definition_id: int, now: datetime) -> ProcessDefinition:
    """Deploy a draft: new cases start on it; running ones stay on their version."""
    definition = db.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound("process definition not found")
    if definition.status == "deployed":
        raise Conflict("this version is deployed already")
    problems = validate(definition.bpmn_xml.encode("utf-8"))
    if problems:
        raise InvalidInput("the diagram is not valid", {"bpmn": [p["message"] for p in problems]})
    _mark_deployed(definition, actor, now)
    return definition


def list_definitions() -> list[ProcessDefinition]:
    """Every version of every process, newest first."""
    return list(db.session.scalars(
        select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    ))


def validate(xml: Any) -> list[dict[str, Any]]:
    """Every problem that keeps a diagram from running here; an empty list when it is valid."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if not isinstance(xml, bytes) or not xml.strip():
        return [{"element_id": None, "message": "the body must be a BPMN XML document"}]
    try:
        root = parse_xml(xml)
    except EngineError as exc:
        return [{"element_id": None, "message": str(exc)}]
    problems = _check_expressions(root)
    try:
        process = get_engine().parse(xml)
    except EngineError as exc:
        return problems + [{"element_id": _element_of(str(exc)), "message": str(exc)}]
    problems += _check_user_tasks(process)
    return problems


def _check_expressions(root: Any) -> list[dict[str, Any]]:
    # (xpath to the expression, the check, how many levels up the owning element is)
    checks = [
        ("//bpmn:sequenceFlow/bpmn:conditionExpression", expressions.parse_expression, 1),
        ("//bpmn:timerEventDefinition/*", expressions.parse_expression, 2),
        ("//bpmn:scriptTask/bpmn:script", expressions.parse_script, 1),
    ]
    problems = []
    for path, check, levels in checks:
        for node in root.xpath(path, namespaces={"bpmn": BPMN_NS}):
            text = (node.text or "").strip()
            if not text:
                continue
            try:
                check(text)
            except expressions.ExpressionError as exc:
                owner = node
                for _ in range(levels):
                    owner = owner.getparent()
                problems.append({"element_id": owner.get("id"), "message": f"expression refused: {exc}"})
    return problems


def _check_user_tasks(process: ParsedProcess) -> list[dict[str, Any]]:
    problems = []
    ids = set(process.user_tasks)
    for info in process.user_tasks.values():
        if info.role is None:
            problems.append({"element_id": info.bpmn_id,
                             "message": f"user task '{info.name}' is not in a lane of a known role"})
        if get_form(info.form) is None:
            problems.append({"element_id": info.bpmn_id,
                             "message": f"user task '{info.name}' names no registered form ({info.form!r})"})
        if info.due and not durations.is_valid(info.due):
            problems.append({"element_id": info.bpmn_id,
                             "message": f"user task '{info.name}': due '{info.due}' is not an ISO 8601 duration"})
        for target in info.return_targets:
            if target not in ids:
                problems.append({"element_id": info.bpmn_id,
                                 "message": f"user task '{info.name}': return target '{target}' is not a user task"})
    return problems


def _element_of(message: str) -> str | None:
    marker = "Node: "
    if marker in message:
        return message.split(marker, 1)[1].split()[0].strip("'\",")
    return None
