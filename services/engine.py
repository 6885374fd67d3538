"""The BPMN engine: parser, safe script engine, serializer and task-tree compaction.

One Engine object per process holds the parsed specs (cached by the sha256 of
their XML, the least recently used dropped beyond the cache's size). Workflows
are serialized without their spec — the spec is stored once, as the
definition's XML, and looked up by hash when a workflow loads. build_spec() is
the one way a diagram becomes a spec, for the engine and for validation alike.
"""
from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from services import expressions
from services.problems import N_, problem
from services.problems import register as register_problems
from services.roles import resolve_role

register_problems({
    "bpmn_no_process": N_("the diagram has no process"),
    "bpmn_too_large": N_("the diagram is larger than %(kb)s KB"),
    "xml_malformed": N_("not well-formed XML: %(reason)s"),
    "spiff_refuses": N_("SpiffWorkflow refuses the diagram: %(reason)s"),
    "spiff_unreadable": N_("SpiffWorkflow cannot read the diagram (%(reason)s)"),
    "xml_empty": N_("the document is empty"),
    "service_tasks": N_("service tasks are not supported"),
    "spec_not_loaded": N_("process spec %(sha)s is not loaded"),
    "bpmn_doctype": N_("a DOCTYPE (and with it entities) is not allowed in a diagram"),
})

ACTIVE_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED
DEFAULT_CACHE_SIZE = 64
# how SpiffWorkflow's parser fails on a diagram it cannot read (hostile bytes included)
PARSE_FAILURES = (ValidationException, SpiffWorkflowException, etree.LxmlError, ValueError, KeyError,
                  AttributeError, TypeError, IndexError, LookupError, RecursionError, NotImplementedError,
                  AssertionError)


class EngineError(Exception):
    """A diagram that cannot be parsed or a workflow that cannot run."""


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates conditions and runs scripts through services.expressions, never eval/exec."""

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        return expressions.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        expressions.run_script(script, context)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        raise expressions.ExpressionError(problem("service_tasks"))


class SafeScriptEngine(PythonScriptEngine):
    """The script engine attached to every workflow, new or loaded."""

    def __init__(self) -> None:
        super().__init__(environment=SafeEnvironment())

    def validate(self, expression: str) -> None:
        expressions.parse_expression(expression)


@dataclass(frozen=True)
class UserTaskInfo:
    """What the application reads from a user task of the diagram."""

    bpmn_id: str
    name: str
    lane: str | None
    role: str | None
    form: str | None
    due: str | None
    return_targets: tuple[str, ...]


@dataclass
class ParsedProcess:
    """A parsed diagram: the executable spec and the metadata of its user tasks."""

    sha256: str
    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)


def sha256_of(xml: bytes | str) -> str:
    """The hash that identifies a diagram's exact bytes."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return hashlib.sha256(data).hexdigest()


def _as_bytes(xml: bytes | str) -> bytes:
    return xml.encode("utf-8") if isinstance(xml, str) else xml


class _SpecRefConverter(BpmnWorkflowConverter):
    """Serializes a workflow with a reference to its spec instead of the spec itself."""

    engine: Engine

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_ref"] = workflow.definition_sha
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict) -> BpmnWorkflow:
        parsed = self.engine.cached(dct.pop("spec_ref"))
        workflow = self.target_class(parsed.spec, parsed.subprocess_specs, deserializing=True)
        workflow.definition_sha = parsed.sha256
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class Engine:
    """Parses diagrams, creates, saves and restores workflows."""

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        converter = _SpecRefConverter(BpmnWorkflow, registry)
        converter.engine = self
        self.serializer = BpmnWorkflowSerializer(registry)
        self.script_engine = SafeScriptEngine()
        self.cache_size = max(1, cache_size)
        self._cache: OrderedDict[str, ParsedProcess] = OrderedDict()
        self._lock = threading.Lock()
        self._loading = threading.local()

    # -- parsing ---------------------------------------------------------------
    def parse(self, xml: bytes | str) -> ParsedProcess:
        """Parse a diagram (cached by hash); raise EngineError, caused by SpiffWorkflow's own error, when it
        refuses the diagram."""
        data = _as_bytes(xml)
        sha = sha256_of(data)
        with self._lock:
            cached = self._cache.get(sha)
            if cached is not None:
                self._cache.move_to_end(sha)
                return cached
        try:
            pid, spec, subprocess_specs = build_spec(parse_xml(data))
        except PARSE_FAILURES as exc:
            raise EngineError(problem("spiff_refuses", reason=str(exc)) if isinstance(exc, ValidationException)
                              else problem("spiff_unreadable", reason=f"{exc.__class__.__name__}: {exc}")) from exc
        parsed = ParsedProcess(sha256=sha, process_id=pid, name=spec.description or pid, spec=spec,
                               subprocess_specs=subprocess_specs)
        for each in [spec, *subprocess_specs.values()]:
            for task_spec in each.task_specs.values():
                if getattr(task_spec, "manual", False) and hasattr(task_spec, "bpmn_id"):
                    parsed.user_tasks[task_spec.bpmn_id] = _user_task_info(task_spec)
        with self._lock:
            parsed = self._cache.setdefault(sha, parsed)
            self._cache.move_to_end(sha)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return parsed

    def cached(self, sha: str) -> ParsedProcess:
        """The parsed diagram of a hash: the one a workflow is being loaded with, or one parsed before."""
        pinned = getattr(self._loading, "parsed", None)
        if pinned is not None and pinned.sha256 == sha:
            return pinned
        with self._lock:
            found = self._cache.get(sha)
        if found is None:
            raise EngineError(problem("spec_not_loaded", sha=sha[:12]))
        return found

    def is_cached(self, sha: str) -> bool:
        """True when the diagram with this hash is parsed in this process."""
        return sha in self._cache

    # -- workflows ---------------------------------------------------------------
    def new_workflow(self, parsed: ParsedProcess, data: dict[str, Any] | None = None) -> BpmnWorkflow:
        """A fresh workflow of a parsed diagram with its starting variables, stepped to its first manual tasks."""
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(data or {})  # inherited by every task from the start event on
        workflow.definition_sha = parsed.sha256
        workflow.do_engine_steps()
        return workflow

    def dumps(self, workflow: BpmnWorkflow) -> bytes:
        """The workflow's state, compacted, as compressed JSON without the spec."""
        compact(workflow)
        text = self.serializer.serialize_json(workflow)
        return zlib.compress(text.encode("utf-8"), 6)

    def loads(self, state: bytes, parsed: ParsedProcess | None = None) -> BpmnWorkflow:
        """Restore a workflow saved by dumps() with its parsed spec (given, or still in the cache)."""
        text = zlib.decompress(state).decode("utf-8")
        self._loading.parsed = parsed
        try:
            workflow = self.serializer.deserialize_json(text)
        finally:
            self._loading.parsed = None
        workflow.script_engine = self.script_engine
        return workflow

    @staticmethod
    def spec_ref(state: bytes) -> str:
        """The hash of the spec a saved state refers to, without restoring it."""
        return json.loads(zlib.decompress(state))["spec_ref"]


_engine: Engine | None = None


def get_engine() -> Engine:
    """The engine of this process (specs are cached in it by hash)."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def configure(cache_size: int) -> None:
    """Bound the process's cache of parsed specs (the app factory does, from SPEC_CACHE_SIZE)."""
    get_engine().cache_size = max(1, cache_size)


MAX_XML_BYTES = 2 * 1024 * 1024
_local = threading.local()


def schema_validator() -> BpmnValidator:
    """The BPMN schema validator of this thread (loading the schema costs more than using it)."""
    validator = getattr(_local, "validator", None)
    if validator is None:
        validator = _local.validator = BpmnValidator()
    return validator


def build_spec(root: etree._Element) -> tuple[str, Any, dict]:
    """The one way a diagram becomes a spec: SpiffWorkflow's parser, schema-validated, builds the diagram's
    executable process (the first; validation allows one) with its subprocesses.

    Returns the process id, its spec and the subprocess specs; SpiffWorkflow's errors pass through.
    """
    parser = SpiffBpmnParser(validator=schema_validator())
    parser.add_bpmn_xml(root)
    executable = parser.get_process_ids()  # only the executable processes, in the document's order
    if not executable:
        raise EngineError(problem("bpmn_no_process"))
    return executable[0], parser.get_spec(executable[0]), parser.get_subprocess_specs(executable[0])


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size; EngineError otherwise."""
    if len(data) > MAX_XML_BYTES:
        raise EngineError(problem("bpmn_too_large", kb=MAX_XML_BYTES // 1024))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             dtd_validation=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise EngineError(problem("xml_malformed", reason=str(exc))) from None
    if root is None:
        raise EngineError(problem("xml_empty"))
    if root.getroottree().docinfo.doctype:
        raise EngineError(problem("bpmn_doctype"))
    return root


def _user_task_info(task_spec: Any) -> UserTaskInfo:
    props = (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}
    targets = tuple(t.strip() for t in (props.get("returnTargets") or "").split(",") if t.strip())
    return UserTaskInfo(
        bpmn_id=task_spec.bpmn_id,
        name=task_spec.bpmn_name or task_spec.bpmn_id,
        lane=task_spec.lane,
        role=resolve_role(task_spec.lane),
        form=props.get("form"),
        due=props.get("due"),
        return_targets=targets,
    )


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """Every READY manual task of the workflow, subprocesses included."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest time a waiting timer of the workflow is due, as naive UTC."""
    times = []
    for event in workflow.waiting_events():
        value = getattr(event, "value", None)
        if event.event_type.endswith("TimerEventDefinition") and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            times.append(moment)
    return min(times) if times else None


def compact(workflow: BpmnWorkflow) -> int:
    """Drop the finished history above the active part of the task tree; return how many tasks went.

    Every loop of the pipeline (a return for revision) deepens SpiffWorkflow's
    task tree, and past a depth of 1000 its iterators stop seeing tasks. The
    application keeps its own history, so the finished tasks above the lowest
    common ancestor of every active task are not needed: the ancestor's parent
    is re-attached to the root and everything else outside its subtree goes.
    Nothing is dropped while a join waits for branches or when any unfinished
    task lies outside that subtree.
    """
    tasks = workflow.tasks
    root = workflow.task_tree
    active = [t for t in tasks.values() if t.has_state(ACTIVE_STATES)]
    if not active:
        return 0
    if any(isinstance(t.task_spec, UnstructuredJoin) for t in active):
        return 0
    ancestor = _lowest_common_ancestor(active)
    if ancestor is None or ancestor is root or ancestor.parent is None or ancestor.parent is root:
        return 0
    keep: set[UUID] = set()
    stack = [ancestor]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    if any(not t.has_state(TaskState.FINISHED_MASK) and t.id not in keep for t in tasks.values()):
        return 0
    anchor = ancestor.parent
    keep.update({anchor.id, root.id})
    removed = [task_id for task_id in tasks if task_id not in keep]
    for task_id in removed:
        del tasks[task_id]
    anchor.children = [ancestor]
    anchor.parent = root
    root.children = [anchor]
    for task_id in [tid for tid in workflow.subprocesses if tid not in keep]:
        del workflow.subprocesses[task_id]
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return len(removed)


def _lowest_common_ancestor(tasks: list[Task]) -> Task | None:
    def path(task: Task) -> list[Task]:
        chain = []
        while task is not None:
            chain.append(task)
            task = task.parent
        return chain[::-1]

    paths = [path(t) for t in tasks]
    common = None
    for nodes in zip(*paths, strict=False):
        first = nodes[0]
        if all(n is first for n in nodes):
            common = first
        else:
            break
    return common
