"""What changed between two versions of a process, step by step and flow by flow, in readable terms."""
from __future__ import annotations

from typing import Any

from app.models import ProcessDefinition
from services.engine import EngineError, parse_xml
from services.errors import InvalidInput
from services.problems import N_, carried, problem
from services.problems import register as register_problems
from services.processes import model, versions
from services.roles import resolve_role

register_problems({
    "stored_unreadable": N_("the stored diagram cannot be read"),
    "stored_no_process": N_("the stored diagram has no process"),
})

STEP_FIELDS = ("name", "kind", "lane", "role", "form", "due", "return_targets", "subprocess", "attached_to", "events")
FLOW_FIELDS = ("name", "source", "target", "condition", "default")


def _process(definition: ProcessDefinition) -> model.Process:
    try:
        root = parse_xml(definition.bpmn_xml.encode("utf-8"))
    except EngineError as exc:
        raise InvalidInput(problem("stored_unreadable"), {"bpmn": [carried(exc)]}) from None
    processes = model.read(root)
    chosen = [p for p in processes if p.id == definition.key] or [p for p in processes if p.executable] or processes
    if not chosen:
        raise InvalidInput(problem("stored_no_process"), {"bpmn": [problem("bpmn_no_process")]})
    return chosen[0]


def _step(process: model.Process, node: model.Node) -> dict[str, Any]:
    user_task = node.kind in model.USER_TASKS
    return {
        "id": node.id, "name": node.name, "kind": node.kind, "lane": node.lane if user_task else None,
        "role": resolve_role(node.lane) if user_task else None,
        "form": node.properties.get("form") if user_task else None,
        "due": node.properties.get("due") if user_task else None,
        "return_targets": list(model.return_targets(node)) if user_task else [],
        "subprocess": node.scope if node.scope != process.id else None,
        "attached_to": node.attached_to, "events": list(node.events),
    }


def _flow(process: model.Process, flow: model.Flow) -> dict[str, Any]:
    return {"id": flow.id, "name": flow.name, "source": flow.source, "target": flow.target,
            "source_name": process.label(flow.source), "target_name": process.label(flow.target),
            "condition": flow.condition, "default": flow.is_default}


def _changes(before: dict[str, Any], after: dict[str, Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"field": f, "before": before[f], "after": after[f]} for f in fields if before[f] != after[f]]


def _compare(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], fields: tuple[str, ...],
             ) -> dict[str, list[dict[str, Any]]]:
    changed = []
    for key in old.keys() & new.keys():
        changes = _changes(old[key], new[key], fields)
        if changes:
            changed.append({**new[key], "changes": changes})
    order = list(new) + [k for k in old if k not in new]
    rank = {k: i for i, k in enumerate(order)}
    return {
        "added": [new[k] for k in new if k not in old],
        "removed": [old[k] for k in old if k not in new],
        "changed": sorted(changed, key=lambda item: rank[item["id"]]),
    }


def compare(before: model.Process, after: model.Process) -> dict[str, Any]:
    """The steps and flows added, removed and changed from one reading of a process to another."""
    steps = _compare({n.id: _step(before, n) for n in before.nodes.values()},
                     {n.id: _step(after, n) for n in after.nodes.values()}, STEP_FIELDS)
    flows = _compare({f.id: _flow(before, f) for f in before.flows.values()},
                     {f.id: _flow(after, f) for f in after.flows.values()}, FLOW_FIELDS)
    for flow in flows["changed"]:
        for change in flow["changes"]:
            if change["field"] in ("source", "target"):
                change["before_name"] = before.label(change["before"])
                change["after_name"] = after.label(change["after"])
    process = [{"field": field, "before": getattr(before, field), "after": getattr(after, field)}
               for field in ("id", "name") if getattr(before, field) != getattr(after, field)]
    return {"process": process, "steps": steps, "flows": flows,
            "summary": {part: len(steps[part]) + len(flows[part]) for part in ("added", "removed", "changed")}}


def _describe(definition: ProcessDefinition) -> dict[str, Any]:
    return {"id": definition.id, "key": definition.key, "version": definition.version, "status": definition.status,
            "name": definition.name}


def diff_versions(definition_id: int, other_id: int) -> dict[str, Any]:
    """How the second version differs from the first."""
    first, second = versions.find(definition_id), versions.find(other_id)
    result = compare(_process(first), _process(second))
    return {"from": _describe(first), "to": _describe(second), **result}


def steps_of(definition_id: int) -> list[dict[str, Any]]:
    """The steps (user tasks) of a version with their role, form, due duration and return targets."""
    process = _process(versions.find(definition_id))
    return [_step(process, n) for n in process.nodes.values() if n.kind in model.USER_TASKS]
