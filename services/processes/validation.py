"""Everything that keeps a diagram from running here, each problem tied to the element it is about.

The checks run on untrusted bytes (the API's validate endpoint takes any body),
so every step is bounded: the hardened XML parse refuses DTDs, entities and
oversized documents; the element count is capped before SpiffWorkflow's
parser (whose lookups grow with the square of the elements) sees the
document; and any failure inside the parser becomes a problem, never an error.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from services import durations, expressions
from services import problems as coded
from services.engine import MAX_XML_BYTES, PARSE_FAILURES, EngineError, get_engine, parse_xml
from services.forms import get_form
from services.problems import N_
from services.problems import register as register_problems
from services.processes import graph, model
from services.roles import resolve_role

register_problems({
    "bpmn_empty": N_("the body must be a BPMN XML document; it is empty"),
    "bpmn_not_utf8": N_("the document is not UTF-8 text; save the diagram as UTF-8"),
    "bpmn_encoding": N_("the document declares an encoding other than UTF-8; save it as UTF-8"),
    "bpmn_root": N_("this is not a BPMN 2.0 document: its root must be <definitions> in the namespace %(namespace)s"),
    "bpmn_xinclude": N_("XInclude is not allowed in a diagram"),
    "bpmn_not_executable": N_('process \'%(process)s\' is not executable: mark it executable (isExecutable="true")'),
    "bpmn_several_executable": N_("the diagram has several executable processes (%(names)s); keep exactly one "
                                  "executable"),
    "bpmn_too_many": N_("the diagram has %(count)s elements; at most %(max)s are allowed"),
    "bpmn_process_id": N_("the process id must be a name of at most 64 letters, digits, '_', '-' or '.'"),
    "condition_empty": N_('the condition is empty: write one (e.g. decision == "approve") or remove it'),
    "script_refused": N_("script refused: %(reason)s"),
    "timer_refused": N_("timer expression refused: %(reason)s"),
    "expression_refused": N_("expression refused: %(reason)s"),
    "timer_unquoted": N_('timer expressions are Python: quote the duration, "%(duration)s"'),
    "unsupported_service_task": N_("'%(element)s': service tasks are not supported here; use a user task or a "
                                   "script task"),
    "unsupported_rule_task": N_("'%(element)s': business rule (DMN) tasks are not supported here; use a script "
                                "task or a gateway"),
    "unsupported_send_task": N_("'%(element)s': send tasks are not supported here"),
    "unsupported_receive_task": N_("'%(element)s': receive tasks are not supported here"),
    "step_id_long": N_("step '%(step)s': its id may have at most %(max)s characters"),
    "step_no_lane": N_("step '%(step)s' is not in a lane: put it in the lane of the role that does it"),
    "step_lane_no_role": N_("step '%(step)s' is in a lane without a role: set the lane's role"),
    "step_lane_unknown_role": N_("step '%(step)s' is in the lane '%(lane)s', which names no known role: set "
                                 "the lane's role"),
    "step_no_form": N_("step '%(step)s' names no form: choose its form"),
    "step_form_unknown": N_("step '%(step)s' names the form '%(form)s', which is not registered"),
    "step_due_invalid": N_("step '%(step)s': due '%(due)s' is not an ISO 8601 duration such as P3D"),
    "step_return_target": N_("step '%(step)s': return target '%(target)s' is not a step of this process"),
    "bpmn_no_executable": N_("the diagram has no executable process"),
    "more_problems": N_("and %(n)s more problems"),
})

log = logging.getLogger(__name__)

Problem = dict[str, Any]

MAX_ELEMENTS = 1500
MAX_ID_LENGTH = 64
MAX_PROBLEMS = 200
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
_NAMESPACES = {"bpmn": model.BPMN_NS, "spiffworkflow": model.SPIFF_NS}
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# (where the expression sits, how it is checked)
_EXPRESSIONS: list[tuple[str, str]] = [
    ("//bpmn:sequenceFlow/bpmn:conditionExpression", "condition"),
    ("//bpmn:conditionalEventDefinition/bpmn:condition", "condition"),
    ("//bpmn:timerEventDefinition/*", "timer"),
    ("//bpmn:scriptTask/bpmn:script", "script"),
    ("//bpmn:extensionElements/spiffworkflow:preScript", "script"),
    ("//bpmn:extensionElements/spiffworkflow:postScript", "script"),
    ("//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", "expression"),
    ("//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition", "condition"),
    ("//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "condition"),
    ("//spiffworkflow:payloadExpression", "expression"),
    ("//spiffworkflow:messagePayload", "expression"),
    ("//spiffworkflow:processVariableCorrelation/spiffworkflow:expression", "expression"),
]
_UNSUPPORTED = {
    "serviceTask": "unsupported_service_task", "businessRuleTask": "unsupported_rule_task",
    "sendTask": "unsupported_send_task", "receiveTask": "unsupported_receive_task",
}


def problem(element_id: str | None, message: str) -> Problem:
    """One problem, in the shape the API answers with."""
    return {"element_id": element_id or None, "message": message}


def validate(xml: Any) -> list[Problem]:
    """Every problem that keeps a diagram from running here; an empty list when it is valid."""
    root, problems = read_document(xml)
    if root is None:
        return problems
    processes = model.read(root)
    problems += _check_processes(root, processes)
    main = _main_process(processes)
    if main is None or problems and _too_big(problems):
        return _finish(problems)
    problems += _check_expressions(root)
    problems += _check_steps(main)
    problems += graph.check(main)
    spiff = spiff_problem(xml)
    if spiff is not None:
        problems.append(spiff)
    return _finish(problems)


def parse_problems(xml: Any) -> list[Problem]:
    """The problems that keep a diagram from being stored at all: it must parse, as SpiffWorkflow reads it."""
    root, problems = read_document(xml)
    if root is None:
        return problems
    processes = model.read(root)
    problems = [p for p in _check_processes(root, processes) if p.get("fatal")]
    if problems:
        return _finish(problems)
    spiff = spiff_problem(xml)
    return [spiff] if spiff is not None else []


def read_document(xml: Any) -> tuple[Any, list[Problem]]:
    """The parsed root of a BPMN document, or None with the reason it is not one."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8", "surrogatepass")
    if not isinstance(xml, bytes) or not xml.strip():
        return None, [problem(None, coded.problem("bpmn_empty"))]
    if len(xml) > MAX_XML_BYTES:
        return None, [problem(None, coded.problem("bpmn_too_large", kb=MAX_XML_BYTES // 1024))]
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError:
        return None, [problem(None, coded.problem("bpmn_not_utf8"))]
    declared = _DECLARED_ENCODING.match(xml.lstrip(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower().replace(b"-", b"").replace(b"_", b"") != b"utf8":
        return None, [problem(None, coded.problem("bpmn_encoding"))]
    try:
        root = parse_xml(xml)
    except EngineError as exc:
        return None, [problem(None, coded.carried(exc))]
    except (etree.LxmlError, ValueError, RecursionError, MemoryError) as exc:
        return None, [problem(None, coded.problem("xml_malformed", reason=exc.__class__.__name__))]
    if root.tag != model.bpmn("definitions"):
        return None, [problem(None, coded.problem("bpmn_root", namespace=model.BPMN_NS))]
    if next(root.iter(f"{{{XINCLUDE_NS}}}*"), None) is not None:
        return None, [problem(None, coded.problem("bpmn_xinclude"))]
    return root, []


def _check_processes(root: Any, processes: list[model.Process]) -> list[Problem]:
    problems: list[Problem] = []
    executable = [p for p in processes if p.executable]
    if not processes:
        problems.append(_fatal(None, coded.problem("bpmn_no_process")))
    elif not executable:
        for process in processes:
            problems.append(_fatal(process.id, coded.problem("bpmn_not_executable",
                                                             process=process.name or process.id)))
    elif len(executable) > 1:
        names = ", ".join(p.id for p in executable)
        for process in executable[1:]:
            problems.append(_fatal(process.id, coded.problem("bpmn_several_executable", names=names)))
    count = sum(1 for element in root.iter() if model.local(element) in model.FLOW_NODES or
                model.local(element) == "sequenceFlow")
    if count > MAX_ELEMENTS:
        problems.append(_fatal(None, coded.problem("bpmn_too_many", count=count, max=MAX_ELEMENTS),
                               too_big=True))
    main = _main_process(processes)
    if main is not None and not re.fullmatch(r"[A-Za-z_][\w.-]{0,63}", main.id):
        problems.append(_fatal(main.id, coded.problem("bpmn_process_id")))
    return problems


def _fatal(element_id: str | None, message: str, *, too_big: bool = False) -> Problem:
    found = problem(element_id, message)
    found["fatal"] = True
    if too_big:
        found["too_big"] = True
    return found


def _too_big(problems: list[Problem]) -> bool:
    return any(p.get("too_big") for p in problems)


def _main_process(processes: list[model.Process]) -> model.Process | None:
    executable = [p for p in processes if p.executable]
    return executable[0] if executable else None


def _owner_id(node: Any) -> str | None:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _check_expressions(root: Any) -> list[Problem]:
    problems = []
    for path, kind in _EXPRESSIONS:
        for node in root.xpath(path, namespaces=_NAMESPACES):
            text = (node.text or "").strip()
            if not text and kind != "condition":
                continue
            message = _expression_problem(text, kind)
            if message:
                problems.append(problem(_owner_id(node.getparent()), message))
    return problems


def _expression_problem(text: str, kind: str) -> str | None:
    if kind == "condition" and not text:
        return coded.problem("condition_empty")
    try:
        if kind == "script":
            expressions.parse_script(text)
            return None
        tree = expressions.parse_expression(text)
    except expressions.ExpressionError as exc:
        refused = {"script": "script_refused", "timer": "timer_refused"}.get(kind, "expression_refused")
        return coded.problem(refused, reason=coded.carried(exc))
    if kind == "timer":
        return _timer_problem(tree.body)
    return None


def _timer_problem(body: Any) -> str | None:
    import ast

    if isinstance(body, ast.Name) and re.fullmatch(r"R?\d*/?P[\dYMWDTHS.]*|\d{4}-\d\d-\d\d.*", body.id):
        return coded.problem("timer_unquoted", duration=body.id)
    if isinstance(body, ast.Constant) and isinstance(body.value, str) and body.value.startswith("P"):
        try:
            durations.parse(body.value)
        except durations.DurationError as exc:
            return coded.carried(exc)
    return None


def _check_steps(process: model.Process) -> list[Problem]:
    problems = []
    steps = {n.id for n in process.nodes.values() if n.kind in model.USER_TASKS}
    for node in process.nodes.values():
        label = node.name or node.id
        if node.kind in _UNSUPPORTED:
            problems.append(problem(node.id, coded.problem(_UNSUPPORTED[node.kind], element=label)))
        if node.kind not in model.USER_TASKS:
            continue
        if len(node.id) > MAX_ID_LENGTH:
            problems.append(problem(node.id, coded.problem("step_id_long", step=label, max=MAX_ID_LENGTH)))
        if node.lane_id is None:
            problems.append(problem(node.id, coded.problem("step_no_lane", step=label)))
        elif not node.lane:
            problems.append(problem(node.id, coded.problem("step_lane_no_role", step=label)))
        elif resolve_role(node.lane) is None:
            problems.append(problem(node.id, coded.problem("step_lane_unknown_role", step=label, lane=node.lane)))
        form = node.properties.get("form")
        if not form:
            problems.append(problem(node.id, coded.problem("step_no_form", step=label)))
        elif get_form(form) is None:
            problems.append(problem(node.id, coded.problem("step_form_unknown", step=label, form=form)))
        due = node.properties.get("due")
        if due and not durations.is_valid(due):
            problems.append(problem(node.id, coded.problem("step_due_invalid", step=label, due=due)))
        for target in model.return_targets(node):
            if target not in steps:
                problems.append(problem(node.id, coded.problem("step_return_target", step=label, target=target)))
    return problems


def spiff_problem(xml: bytes | str) -> Problem | None:
    """Why SpiffWorkflow refuses the diagram, or None when it builds a spec from it.

    The spec is built by the engine (cached: storing or deploying the diagram next parses nothing again).
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        try:
            get_engine().parse(data)
        except EngineError as refused:
            if refused.__cause__ is None:
                raise
            raise refused.__cause__ from None
    except ValidationException as exc:
        element = getattr(exc, "id", None) or _element_at_line(data, getattr(exc, "line_number", None))
        return problem(element, coded.problem("spiff_refuses", reason=_first_line(exc)))
    except EngineError as exc:
        return problem(None, coded.carried(exc))
    except PARSE_FAILURES as exc:
        return problem(None, coded.problem("spiff_unreadable", reason=f"{exc.__class__.__name__}: {_first_line(exc)}"))
    except Exception as exc:  # noqa: BLE001  (hostile bytes must never become a server error)
        log.warning("unexpected failure parsing a diagram: %r", exc)
        return problem(None, coded.problem("spiff_unreadable", reason=exc.__class__.__name__))
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else exc.__class__.__name__


def _element_at_line(data: bytes, line: Any) -> str | None:
    if not isinstance(line, int) or line <= 0:
        return None
    try:
        root = parse_xml(data)
    except EngineError:
        return None
    for element in root.iter():
        if element.sourceline == line and element.get("id"):
            return element.get("id")
    return None


def _finish(problems: list[Problem]) -> list[Problem]:
    seen, unique = set(), []
    for found in problems:
        key = (found["element_id"], found["message"])
        if key not in seen:
            seen.add(key)
            unique.append(problem(found["element_id"], found["message"]))
    if len(unique) > MAX_PROBLEMS:
        hidden = len(unique) - MAX_PROBLEMS
        unique = unique[:MAX_PROBLEMS] + [problem(None, coded.problem("more_problems", n=hidden))]
    return unique
