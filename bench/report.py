"""The results: a table of each measurement beside its target (pass/miss), and bench/results.json."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.settings import TARGETS


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                          if ln.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "system": platform.platform(), "load_at_start": load()}


def load() -> list[float]:
    """The machine's load average (1, 5, 15 minutes): other work on the machine shows in the figures."""
    return [round(x, 2) for x in os.getloadavg()]


def measurements(results: dict[str, Any]) -> dict[str, float | None]:
    """The figures the targets apply to, taken from the results."""
    lat = results.get("latency", {})
    http = results.get("http", {})
    worker = results.get("worker", {})
    state = results.get("state", {})
    rss = results.get("rss", {})

    def p95(name: str) -> float | None:
        return lat.get(name, {}).get("p95_ms")

    return {"http_steps_per_s": http.get("steps_per_s"), "inbox_api_p95_ms": p95("inbox_api"),
            "inbox_page_p95_ms": p95("inbox_page"), "supervisor_overview_p95_ms": p95("supervisor_overview"),
            "supervisor_stuck_api_p95_ms": p95("supervisor_stuck_api"),
            "progress_report_p95_ms": p95("progress_report"), "reports_page_p95_ms": p95("reports_page"),
            "worker_pass_s": worker.get("pass_s"), "state_median_bytes": state.get("median_bytes"),
            "web_rss_growth_pct": rss.get("growth_pct")}


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each measurement with its target and "pass", "miss" or "n/a"."""
    out = {}
    for name, value in measurements(results).items():
        target, op = TARGETS[name]
        ok = None if value is None else (value >= target if op == ">=" else value <= target)
        out[name] = {"value": value, "target": f"{op} {target:g}", "result": "n/a" if ok is None else
                     "pass" if ok else "miss"}
    return out


def table(results: dict[str, Any]) -> str:
    """The measurements beside their targets, plus the other figures worth reading."""
    lines = [f"{'measurement':32} {'value':>12}  {'target':>12}  result", "-" * 68]
    for name, v in verdicts(results).items():
        value = "-" if v["value"] is None else f"{v['value']:.1f}"
        lines.append(f"{name:32} {value:>12}  {v['target']:>12}  {v['result']}")
    lat = results.get("latency", {})
    lines.append("")
    lines.append(f"{'read latency':32} {'p50 ms':>12}  {'p95 ms':>12}")
    for name in ("inbox_api", "inbox_page", "case_page", "supervisor_overview", "supervisor_stuck_api",
                 "progress_report", "reports_page"):
        if name in lat:
            lines.append(f"{name:32} {lat[name]['p50_ms']:>12.1f}  {lat[name]['p95_ms']:>12.1f}")
    engine, http = results.get("engine"), results.get("http")
    if engine:
        lines.append("")
        lines.append(f"engine alone: {engine['mean_step_ms']:.2f} ms per step (restore+run+save), "
                     f"{engine['case_ms']:.1f} ms per case of {len(engine['steps'])} steps")
    if engine and http and http.get("steps_per_s"):
        lines.append(f"HTTP: {http['steps_per_s']:.1f} steps/s with {http['clients']} clients on "
                     f"{http['web_workers']} workers; {http['latency']['p50_ms']:.1f} ms p50 per completion = "
                     f"{results['ratios']['latency_to_engine']:.1f}x the engine's step; "
                     f"{results['ratios']['throughput_cost_to_engine']:.1f}x in machine time per step")
        if http.get("web_cpu_ms_per_step") is not None:
            database = f", PostgreSQL {http['db_cpu_ms_per_step']} ms" if http.get("db_cpu_ms_per_step") else ""
            lines.append(f"CPU per completed step: web workers {http['web_cpu_ms_per_step']} ms{database} "
                         f"(the engine's share: {engine['mean_step_ms']:.1f} ms)")
    worker = results.get("worker")
    if worker:
        lines.append(f"worker pass: {worker['notices_written']}/{worker['expected_notices']} notices for "
                     f"{worker['overdue_steps']} overdue steps in {worker['pass_s']} s, {worker['mails_received']} "
                     f"mails ({worker['mails_distinct']} distinct) by {worker['mails_s']} s, "
                     f"duplicates {worker['duplicates']}; again: {worker['second_pass']}")
    rss = results.get("rss")
    if rss:
        lines.append(f"web workers' RSS (MB): start {rss['start']}, warm {rss['warm']}, end {rss['end']}")
    if results.get("audit_verify"):
        lines.append(f"audit chain: {results['audit_verify']['output']} ({results['audit_verify']['seconds']} s)")
    data = results.get("data")
    if data:
        lines.append(f"data: {data['rows']['households']} cases, {data['rows']['task_events']} history rows, "
                     f"{data['open_steps']} open steps ({data['overdue_steps']} overdue), "
                     f"{data['rows']['notifications']} notifications, {data['rows']['audit_log']} audit rows, "
                     + (f"{data['database_mb']} MB" if data.get("database_mb") else "SQLite"))
    machine = results.get("machine", {})
    lines.append(f"machine: {machine.get('cpu')}, {machine.get('cores')} cores; load average at start "
                 f"{machine.get('load_at_start')}, at end {results.get('load_at_end')}")
    return "\n".join(lines)


def write(results: dict[str, Any], path: Path) -> None:
    """bench/results.json, verdicts included."""
    results["verdicts"] = verdicts(results)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
