"""The shape checks of a process: a start, an end, every element on a path between them, decisions decidable."""
from __future__ import annotations

from collections import defaultdict, deque

from services.problems import N_, name_param, problem
from services.problems import register as register_problems
from services.processes.model import Flow, Node, Process


def _scope_name(name: str, locale: str) -> str:
    """The process itself (no name) or a subprocess by its name."""
    if locale.startswith("en"):
        return f"subprocess '{name}'" if name else "the process"
    return f"子流程“{name}”" if name else "主流程"


name_param("where", _scope_name)
register_problems({
    "flow_dangling": N_("flow '%(flow)s' must connect two elements of %(where)s"),
    "boundary_unattached": N_("'%(element)s' is attached to no activity of %(where)s"),
    "no_start": N_("%(where)s has no start event"),
    "no_end": N_("%(where)s has no end event"),
    "unreachable": N_("'%(element)s' cannot be reached from the start of %(where)s"),
    "dead_end": N_("'%(element)s' never reaches an end event of %(where)s"),
    "flow_no_condition": N_("flow '%(flow)s' leaves the decision '%(decision)s' without a condition: give it "
                            "one or make it the default flow"),
})

Problem = dict[str, str | None]

_DECISIONS = frozenset({"exclusiveGateway", "inclusiveGateway"})


def _problem(element_id: str | None, message: str) -> Problem:
    return {"element_id": element_id or None, "message": message}


def check(process: Process) -> list[Problem]:
    """Problems of the process's graph and of each (sub)process inside it."""
    by_scope: dict[str, list[Node]] = defaultdict(list)
    for node in process.nodes.values():
        by_scope[node.scope].append(node)
    flows_by_scope: dict[str, list[Flow]] = defaultdict(list)
    for flow in process.flows.values():
        flows_by_scope[flow.scope].append(flow)
    problems: list[Problem] = []
    scopes = [process.id] + [n.id for n in process.nodes.values() if n.id in by_scope or n.kind == "subProcess"]
    for scope in scopes:
        owner = process.nodes.get(scope)
        if owner is not None and owner.kind == "adHocSubProcess":
            continue  # its activities run in any order, unconnected
        problems += _check_scope(process, scope, owner, by_scope.get(scope, []), flows_by_scope.get(scope, []))
    problems += _check_decisions(process)
    return problems


def _check_scope(process: Process, scope: str, owner: Node | None, nodes: list[Node], flows: list[Flow],
                 ) -> list[Problem]:
    problems: list[Problem] = []
    where = (owner.name or owner.id) if owner is not None else ""
    members = {n.id: n for n in nodes}
    checked = {i for i, n in members.items() if not n.triggered_by_event}  # event subprocesses start by themselves
    edges: dict[str, set[str]] = defaultdict(set)
    for flow in flows:
        if flow.source not in members or flow.target not in members:
            problems.append(_problem(flow.id, problem("flow_dangling", flow=flow.name or flow.id, where=where)))
            continue
        edges[flow.source].add(flow.target)
    for node in nodes:
        if node.attached_to:
            if node.attached_to in members:
                edges[node.attached_to].add(node.id)
            else:
                problems.append(_problem(node.id, problem("boundary_unattached", element=node.name or node.id,
                                                                  where=where)))
    catches: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        if node.kind == "intermediateCatchEvent" and node.link_name:
            catches[node.link_name].append(node.id)
    for node in nodes:
        if node.kind == "intermediateThrowEvent" and node.link_name:
            edges[node.id].update(catches.get(node.link_name, []))
    starts = [n.id for n in nodes if n.kind == "startEvent"]
    ends = [n.id for n in nodes if n.kind == "endEvent"]
    if not starts:
        problems.append(_problem(scope, problem("no_start", where=where)))
    if not ends:
        problems.append(_problem(scope, problem("no_end", where=where)))
    if not starts or not ends:
        return problems
    reached = _walk(starts, edges)
    back: dict[str, set[str]] = defaultdict(set)
    for source, targets in edges.items():
        for target in targets:
            back[target].add(source)
    finishing = _walk(ends, back)
    for node_id in sorted(checked, key=_order(nodes)):
        label = process.label(node_id)
        if node_id not in reached:
            problems.append(_problem(node_id, problem("unreachable", element=label, where=where)))
        elif node_id not in finishing:
            problems.append(_problem(node_id, problem("dead_end", element=label, where=where)))
    return problems


def _order(nodes: list[Node]):
    position = {n.id: i for i, n in enumerate(nodes)}
    return lambda node_id: position.get(node_id, 0)


def _walk(starts: list[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        current = queue.popleft()
        for following in edges.get(current, ()):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return seen


def _check_decisions(process: Process) -> list[Problem]:
    """Every way out of an exclusive or inclusive gateway with a choice has a condition, or is the default."""
    outgoing: dict[str, list[Flow]] = defaultdict(list)
    for flow in process.flows.values():
        outgoing[flow.source].append(flow)
    problems = []
    for node in process.nodes.values():
        flows = outgoing.get(node.id, [])
        if node.kind not in _DECISIONS or len(flows) < 2:
            continue
        for flow in flows:
            if not flow.condition and not flow.is_default:
                problems.append(_problem(flow.id, problem("flow_no_condition", flow=process.label(flow.id),
                                                          decision=node.name or node.id)))
    return problems
