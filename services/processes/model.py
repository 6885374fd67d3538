"""A plain reading of a BPMN document: flow nodes, sequence flows and lanes of its processes.

The validation's graph checks and the version diff work on this model, read
straight from the (already hardened-parsed) XML, so they also describe
diagrams that SpiffWorkflow refuses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
SCOPES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
USER_TASKS = frozenset({"userTask", "manualTask"})
PROPERTIES = ("form", "due", "returnTargets")


def bpmn(tag: str) -> str:
    """The Clark name of a BPMN element."""
    return f"{{{BPMN_NS}}}{tag}"


def local(element: Any) -> str | None:
    """The local name of a BPMN element; None for anything outside the BPMN namespace."""
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith(f"{{{BPMN_NS}}}"):
        return None
    return tag.split("}", 1)[1]


@dataclass(frozen=True)
class Node:
    """One flow node: a task, event, gateway or subprocess."""

    id: str
    kind: str
    name: str | None
    scope: str
    lane: str | None
    properties: dict[str, str]
    lane_id: str | None = None
    attached_to: str | None = None
    events: tuple[str, ...] = ()
    link_name: str | None = None
    triggered_by_event: bool = False


@dataclass(frozen=True)
class Flow:
    """One sequence flow, with its condition and whether it is its source's default."""

    id: str
    source: str
    target: str
    scope: str
    name: str | None
    condition: str | None
    is_default: bool


@dataclass
class Process:
    """One process of the document with everything inside it, subprocesses included."""

    id: str
    name: str | None
    executable: bool
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    lanes: dict[str, str | None] = field(default_factory=dict)

    def label(self, element_id: str) -> str:
        """A readable name of a node or flow: its name, else its id."""
        node = self.nodes.get(element_id)
        if node is not None:
            return node.name or node.id
        flow = self.flows.get(element_id)
        if flow is not None:
            return flow.name or f"{self.label(flow.source)} → {self.label(flow.target)}"
        return element_id


def read(root: Any) -> list[Process]:
    """The processes of a parsed <definitions> element, in document order."""
    lanes_of = _lane_of_nodes(root)
    processes = []
    for element in root.iterchildren(bpmn("process")):
        pid = element.get("id") or ""
        process = Process(id=pid, name=element.get("name"), executable=element.get("isExecutable") == "true")
        for lane in element.iter(bpmn("lane")):
            process.lanes[lane.get("id") or ""] = lane.get("name")
        _read_scope(element, pid, process, lanes_of)
        processes.append(process)
    return processes


def _lane_of_nodes(root: Any) -> dict[str, tuple[str | None, str | None]]:
    """Node id → (lane id, lane name); the innermost (last) lane naming a node wins, as SpiffWorkflow reads it."""
    lanes: dict[str, tuple[str | None, str | None]] = {}
    for ref in root.iter(bpmn("flowNodeRef")):
        if ref.text is not None:
            lane = ref.getparent()
            lanes[ref.text] = (lane.get("id"), lane.get("name"))
    return lanes


def _read_scope(container: Any, scope: str, process: Process,
                lanes_of: dict[str, tuple[str | None, str | None]]) -> None:
    # SpiffWorkflow gives the elements of a subprocess the subprocess's lane when it has a named one
    pending: list[tuple[Any, str, tuple[str | None, str | None] | None]] = [(container, scope, None)]
    while pending:
        element, scope_id, inherited = pending.pop()
        defaults = {}
        for child in element.iterchildren():
            kind = local(child)
            if kind in FLOW_NODES and child.get("default"):
                defaults[child.get("default")] = child.get("id")
        for child in element.iterchildren():
            kind = local(child)
            node_id = child.get("id") or ""
            if kind in FLOW_NODES:
                lane = inherited or lanes_of.get(node_id, (None, None))
                process.nodes[node_id] = _node(child, kind, scope_id, *lane)
                if kind in SCOPES:
                    pending.append((child, node_id, lane if lane[1] is not None else None))
            elif kind == "sequenceFlow":
                condition = child.find(bpmn("conditionExpression"))
                text = condition.text.strip() if condition is not None and condition.text else None
                process.flows[node_id] = Flow(
                    id=node_id, source=child.get("sourceRef") or "", target=child.get("targetRef") or "",
                    scope=scope_id, name=child.get("name"), condition=text,
                    is_default=defaults.get(node_id) == child.get("sourceRef"))


def _node(element: Any, kind: str, scope: str, lane_id: str | None, lane: str | None) -> Node:
    kinds = (local(c) or "" for c in element.iterchildren())
    events = tuple(sorted(k for k in kinds if k.endswith("EventDefinition")))
    link = element.find(bpmn("linkEventDefinition"))
    return Node(id=element.get("id") or "", kind=kind, name=element.get("name"), scope=scope, lane=lane,
                properties=properties(element), lane_id=lane_id, attached_to=element.get("attachedToRef"),
                events=events, link_name=link.get("name") if link is not None else None,
                triggered_by_event=element.get("triggeredByEvent") == "true")


def properties(element: Any) -> dict[str, str]:
    """The spiffworkflow:properties of an element (form, due, returnTargets …), by name."""
    found: dict[str, str] = {}
    extensions = element.find(bpmn("extensionElements"))
    if extensions is None:
        return found
    for group in extensions.iterchildren(f"{{{SPIFF_NS}}}properties"):
        for prop in group.iterchildren(f"{{{SPIFF_NS}}}property"):
            name = prop.get("name")
            if name:
                found[name] = prop.get("value") or ""
    return found


def return_targets(node: Node) -> tuple[str, ...]:
    """The steps a user task may send a case back to, as listed in its returnTargets property."""
    text = node.properties.get("returnTargets") or ""
    return tuple(t.strip() for t in text.split(",") if t.strip())
