"""The engine alone: one case through every step of the pipeline, restored before and saved after each step,
as the runtime does it — no database, no web, no module data."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from services import definitions
from services.engine import Engine, ready_user_tasks
from services.runtime import kind_variables

# every step once: the hard case goes to the collective decision, the large agreement to tracking audit
PATH: tuple[tuple[str, dict[str, Any]], ...] = (
    ("survey", {}), ("appraisal", {}), ("rights", {}), ("calculation", {}), ("calc_audit", {}),
    ("policy_review", {"decision": "meeting"}), ("collective_decision", {}),
    ("agreement_draft", {"amount_band": "large"}), ("sign_handler", {}), ("sign_group_leader", {}),
    ("sign_village_cadre", {}), ("sign_reviewer", {}), ("tracking_audit", {}), ("payment", {}), ("archive", {}),
)


def _one_case(engine: Engine, process: Any) -> tuple[dict[str, tuple[float, float, float]], list[int]]:
    # a collective-land house: the village cadre signs (the diagram's gateway reads the start variables)
    state = engine.dumps(engine.new_workflow(process, kind_variables("collective_house", "collective")))
    times, sizes = {}, []
    for bpmn_id, data in PATH:
        t0 = time.perf_counter()
        workflow = engine.loads(state)
        t1 = time.perf_counter()
        task = next(t for t in ready_user_tasks(workflow) if t.task_spec.bpmn_id == bpmn_id)
        task.data.pop("return_to", None)
        task.data.update({"decision": "approve", **data})
        task.run()
        workflow.do_engine_steps()
        t2 = time.perf_counter()
        state = engine.dumps(workflow)
        t3 = time.perf_counter()
        times[bpmn_id] = (t1 - t0, t2 - t1, t3 - t2)
        sizes.append(len(state))
    if not engine.loads(state).is_completed():
        raise RuntimeError("the engine bench case did not complete")
    return times, sizes


def run(repeats: int) -> dict[str, Any]:
    """Per step: the median restore, run and save time over `repeats` cases (after one warm-up case)."""
    engine = Engine()
    process = engine.parse((Path(definitions.SHIPPED_DIR) / "relocation.bpmn").read_bytes())
    _one_case(engine, process)
    samples: dict[str, list[tuple[float, float, float]]] = {bpmn_id: [] for bpmn_id, _ in PATH}
    sizes: list[int] = []
    for _ in range(repeats):
        times, case_sizes = _one_case(engine, process)
        sizes += case_sizes
        for bpmn_id, split in times.items():
            samples[bpmn_id].append(split)
    steps = {}
    for bpmn_id, splits in samples.items():
        load, step, save = (statistics.median(s[i] for s in splits) * 1000 for i in range(3))
        steps[bpmn_id] = {"restore_ms": round(load, 3), "run_ms": round(step, 3), "save_ms": round(save, 3),
                          "total_ms": round(load + step + save, 3)}
    totals = [s["total_ms"] for s in steps.values()]
    return {"steps": steps, "mean_step_ms": round(statistics.mean(totals), 3),
            "case_ms": round(sum(totals), 3), "state_bytes_median": int(statistics.median(sizes)),
            "state_bytes_max": max(sizes), "repeats": repeats}
