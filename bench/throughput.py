"""Completed steps per second over HTTP: several clients complete open steps of the big data set through
POST /api/v1/tasks/<id>/complete, against gunicorn's worker processes. Each round the current open step(s)
of a fixed set of households are completed; their data (and the scans a step files) is prepared in-process
before the round and is not timed."""
from __future__ import annotations

import queue
import random
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Household, HumanTask, User, utcnow
from bench import templates
from bench.httpclient import Client
from bench.latency import percentiles
from bench.people import Office
from bench.server import Gunicorn, cpu_seconds
from bench.settings import PASSWORD, Settings


@dataclass
class Work:
    """One step to complete: as whom, with what data."""

    task_id: int
    username: str
    data: dict[str, Any]


def _database_backends() -> list[int]:
    """The PostgreSQL server processes of the bench database (to count their CPU time); none on SQLite."""
    if db.engine.dialect.name != "postgresql":
        return []
    pids = list(db.session.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid()")))
    db.session.rollback()
    return pids


def _households(settings: Settings, template_ids: set[int]) -> list[int]:
    rows = db.session.scalars(select(HumanTask.household_id).where(HumanTask.status == "ready")
                              .group_by(HumanTask.household_id).order_by(func.random())
                              .limit(settings.http_households + len(template_ids)))
    return [h for h in rows if h not in template_ids][:settings.http_households]


def _prepare(app: Flask, office: Office, households: list[int], rng: random.Random) -> list[Work]:
    """The data to complete each open step of the households with (uploading the scans it needs first)."""
    work = []
    now = utcnow()
    with app.test_request_context():
        rows = db.session.scalars(select(HumanTask).where(HumanTask.household_id.in_(households),
                                                          HumanTask.status == "ready").order_by(HumanTask.id)).all()
        for row in rows:
            uid = row.assignee_id or office.acting(row.project_id, row.role, row.work_group_id)
            user = db.session.get(User, uid)
            household = db.session.get(Household, row.household_id)
            templates._scan(user, household, row.bpmn_id, now)
            data = templates._data(rng, templates.PLANS[0], row, household, household.head_name, now)
            work.append(Work(row.id, user.username, data))
        db.session.commit()
    db.session.remove()
    return work


def _tokens(settings: Settings, usernames: set[str], tokens: dict[str, str]) -> None:
    missing = queue.Queue()
    for name in sorted(usernames - set(tokens)):
        missing.put(name)

    def issue() -> None:
        client = Client(settings.port)
        while True:
            try:
                name = missing.get_nowait()
            except queue.Empty:
                break
            tokens[name] = client.issue_token(name, PASSWORD)
        client.close()

    threads = [threading.Thread(target=issue) for _ in range(settings.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _complete_all(settings: Settings, work: list[Work], tokens: dict[str, str]) -> tuple[float, list, dict]:
    todo: queue.Queue = queue.Queue()
    for item in work:
        todo.put(item)
    times: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def client_loop() -> None:
        client = Client(settings.port)
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                break
            client.token = tokens[item.username]
            status, body, elapsed = client.request("POST", f"/api/v1/tasks/{item.task_id}/complete",
                                                   {"data": item.data})
            with lock:
                times.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200 and len(errors) < 5:
                    errors.append(f"{status} {body[:300].decode('utf-8', 'replace')}")
        client.close()

    threads = [threading.Thread(target=client_loop) for _ in range(settings.clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, times, {"statuses": statuses, "errors": errors}


def run(settings: Settings, app: Flask, office: Office, server: Gunicorn, template_ids: set[int]) -> dict[str, Any]:
    """Rounds of completions; steps per second overall, latency, and the workers' memory after each round."""
    rng = random.Random(settings.seed + 1)
    with app.app_context():
        households = _households(settings, template_ids)
    tokens: dict[str, str] = {}
    rounds, all_times = [], []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    for number in range(settings.http_rounds):
        with app.app_context():
            work = _prepare(app, office, households, rng)
        if not work:
            break
        _tokens(settings, {w.username for w in work}, tokens)
        with app.app_context():
            backends = _database_backends()
        cpu_before = server.cpu_seconds(), sum(cpu_seconds(p) for p in backends)
        seconds, times, outcome = _complete_all(settings, work, tokens)
        cpu_web = server.cpu_seconds() - cpu_before[0]
        cpu_db = sum(cpu_seconds(p) for p in backends) - cpu_before[1]
        all_times += times
        for status, count in outcome["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
        errors += outcome["errors"]
        ok = outcome["statuses"].get(200, 0)
        rounds.append({"steps": len(work), "completed": ok, "seconds": round(seconds, 3),
                       "steps_per_s": round(ok / seconds, 1), "rss_mb": server.rss_mb(),
                       "web_cpu_ms_per_step": round(cpu_web / max(ok, 1) * 1000, 1),
                       "db_cpu_ms_per_step": round(cpu_db / max(ok, 1) * 1000, 1) if backends else None})
        print(f"  round {number + 1}: {ok}/{len(work)} steps in {seconds:.2f} s = {ok / seconds:.1f}/s", flush=True)
    completed = sum(r["completed"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    per_step = {key: round(sum(r[key] * r["completed"] for r in rounds) / completed, 1)
                for key in ("web_cpu_ms_per_step", "db_cpu_ms_per_step")
                if completed and all(r[key] is not None for r in rounds)}
    return {"households": len(households), "rounds": rounds, "completed": completed, "seconds": round(seconds, 3),
            "steps_per_s": round(completed / seconds, 1) if seconds else 0.0, "latency": percentiles(all_times),
            "mean_latency_ms": round(statistics.mean(all_times) * 1000, 2) if all_times else None,
            **per_step, "statuses": statuses, "errors": errors[:5], "clients": settings.clients,
            "web_workers": settings.web_workers, "web_threads": settings.web_threads}
