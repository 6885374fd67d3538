"""Read latencies over HTTP against the big data set: inbox (API and page), case page, supervisor overview,
stuck-case API, progress report (API and page) — p50/p95 of sequential requests after a warm-up."""
from __future__ import annotations

import random
import statistics
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Household, HumanTask
from bench.httpclient import Client
from bench.people import Office
from bench.settings import PASSWORD, Settings
from services.roles import scope_of


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2), "n": len(ordered)}


def busy_inbox(office: Office) -> tuple[str, int, str, int]:
    """The user whose role has the most open steps within its reach (a group-bound role: one work group's
    households; a project-wide role: the project's): (username, project, role, open steps)."""
    counts: dict[tuple[int, str, int | None], int] = {}
    for project, role, group, count in db.session.execute(
            select(HumanTask.project_id, HumanTask.role, HumanTask.work_group_id, func.count())
            .where(HumanTask.status == "ready", HumanTask.role != "supervisor")
            .group_by(HumanTask.project_id, HumanTask.role, HumanTask.work_group_id)):
        key = (project, role, group if scope_of(role) == "group" else None)
        counts[key] = counts.get(key, 0) + count
    (project, role, group), count = max(counts.items(), key=lambda item: item[1])
    uid = office.pool(project, role, group)[0] if group else office.users[(project, role)][0]
    return office.usernames[uid], project, role, count


def _measure(client: Client, paths: list[str], samples: int, workers: int) -> dict[str, Any]:
    # untimed warm-up: every path twice per gunicorn worker (statement caches, templates, translations are per
    # process; which worker answers is the kernel's choice)
    for path in paths[:8] * (2 * workers):
        client.request("GET", path)
    times, statuses, by_path = [], {}, {}
    for i in range(samples):
        path = paths[i % len(paths)]
        status, _, elapsed = client.request("GET", path)
        statuses[status] = statuses.get(status, 0) + 1
        times.append(elapsed)
        by_path.setdefault(path, []).append(elapsed)
    per_path = {path: round(statistics.median(t) * 1000, 1) for path, t in list(by_path.items())[:8]}
    return {**percentiles(times), "statuses": statuses, "p50_ms_by_path": per_path}


def run(settings: Settings, office: Office) -> dict[str, Any]:
    """Every read endpoint of the brief, each measured on its own."""
    rng = random.Random(settings.seed)
    username, project, role, open_steps = busy_inbox(office)
    supervisor = office.usernames[office.supervisors[0]]
    filters = ["", "overdue=true", "assigned=unassigned", f"project_id={project}&page=3", "returned=true",
               f"role={role}&assigned=me", f"project_id={project}&overdue=true&assigned=unassigned"]
    page_filters = [f.replace("=true", "=1") for f in filters]
    max_id = db.session.scalar(select(func.max(Household.id)))
    cases = [f"/cases/{rng.randint(1, max_id)}" for _ in range(settings.latency_samples)]
    db.session.rollback()

    api, page, boss_api, boss_page = (Client(settings.port) for _ in range(4))
    api.issue_token(username, PASSWORD)
    page.sign_in(username, PASSWORD)
    boss_api.issue_token(supervisor, PASSWORD)
    boss_page.sign_in(supervisor, PASSWORD)
    n, heavy = settings.latency_samples, settings.heavy_samples
    plan: list[tuple[str, Client, list[str], int]] = [
        ("inbox_api", api, [f"/api/v1/tasks?per_page=50&{f}" for f in filters], n),
        ("inbox_page", page, [f"/inbox?{f}" for f in page_filters], n),
        ("case_page", boss_page, cases, n),
        ("supervisor_overview", boss_page, ["/supervisor?days=3", f"/supervisor?days=7&project_id={project}",
                                            "/supervisor?days=3&page=2"], heavy),
        ("supervisor_stuck_api", boss_api, ["/api/v1/supervisor/stuck?days=3",
                                            f"/api/v1/supervisor/stuck?days=7&project_id={project}"], heavy),
        ("progress_report", boss_api, ["/api/v1/reports/progress", f"/api/v1/reports/progress?project_id={project}"],
         heavy),
        ("reports_page", boss_page, ["/supervisor/reports", f"/supervisor/reports?project_id={project}"], heavy),
    ]
    out: dict[str, Any] = {"busy_inbox": {"username": username, "role": role, "project_id": project,
                                          "open_steps": open_steps}}
    for name, client, paths, count in plan:
        out[name] = _measure(client, paths, count, settings.web_workers)
        print(f"  {name:22} p50 {out[name]['p50_ms']:8.1f} ms   p95 {out[name]['p95_ms']:8.1f} ms", flush=True)
    for client in (api, page, boss_api, boss_page):
        client.close()
    return out


