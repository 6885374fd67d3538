"""`make bench`: generate the data set, then measure the engine, the reads, the worker pass and completions
over HTTP; print the table and write bench/results.json."""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Household, ProcessInstance, utcnow
from bench import database, engine_bench, generate, latency, people, report, templates, throughput, workers
from bench.appctx import make_app
from bench.server import Gunicorn
from bench.settings import Settings

PHASES = ("generate", "engine", "latency", "worker", "http")


def _args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--small", action="store_true", help="2,000 cases: a run of about two minutes")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--cases", type=int, help="how many cases to generate")
    parser.add_argument("--only", default="", help=f"comma-separated phases of {', '.join(PHASES)}")
    parser.add_argument("--reuse", action="store_true", help="keep the bench database generated before")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker")
    parser.add_argument("--verify-audit", action="store_true", help="walk the audit chain at the end "
                        "(always with --small; minutes on the full data set)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"db": args.db}
    if args.cases:
        overrides["cases"] = args.cases
    if args.workers:
        overrides["web_workers"] = args.workers
    if args.threads:
        overrides["web_threads"] = args.threads
    if args.verify_audit:
        overrides["verify_audit"] = True
    settings = Settings.small(**overrides) if args.small else Settings(**overrides)
    settings.only = {p for p in args.only.split(",") if p}
    if args.reuse:
        settings.only.discard("generate")
        settings.only = settings.only or set(PHASES) - {"generate"}
    return settings


def _data_summary(dialect: str) -> dict[str, Any]:
    tables = ("households", "process_instances", "human_tasks", "task_events", "module_records", "module_revisions",
              "persons", "buildings", "attachments", "notifications", "audit_log")
    counts = {t: db.session.scalar(text(f'SELECT count(*) FROM "{t}"')) for t in tables}  # noqa: S608
    open_steps = db.session.scalar(text("SELECT count(*) FROM human_tasks WHERE status = 'ready'"))
    overdue = db.session.scalar(text("SELECT count(*) FROM human_tasks WHERE status = 'ready' AND due_at < :now"),
                                {"now": utcnow()})
    size = db.session.scalar(text("SELECT pg_database_size(current_database())")) if dialect == "postgresql" else None
    return {"rows": counts, "open_steps": open_steps, "overdue_steps": overdue,
            "database_mb": round(size / 1024 / 1024) if size else None}


def _state_sizes() -> dict[str, Any]:
    sizes = sorted(db.session.scalars(select(func.length(ProcessInstance.state))))
    return {"median_bytes": int(statistics.median(sizes)), "p95_bytes": sizes[int(0.95 * (len(sizes) - 1))],
            "max_bytes": sizes[-1], "instances": len(sizes)}


def _data(settings: Settings, results: dict[str, Any], started: float):
    """A fresh generated database (or the one kept from before): the app on it, its office, the templates."""
    if settings.wants("generate"):
        print(f"bench: a fresh {settings.db} database, migrations, diagrams, policy", flush=True)
        database.recreate(settings)
        database.migrate(settings)
    app = make_app(settings)
    with app.app_context():
        if settings.wants("generate"):
            office = people.build(settings)
            print("bench: template cases through the engine, one step at a time", flush=True)
            templated = templates.run(app, office, settings.seed)
            template_ids = set(templated.households)
            print(f"bench: {settings.cases} cases in bulk", flush=True)
            generated = generate.generate(settings, office, templated, utcnow())
            results["generated"] = {"seconds": round(generated.seconds, 1), "open_steps": generated.open_steps,
                                    "overdue_steps": generated.overdue_steps,
                                    "expected_notices": generated.expected_notices, "by_open_step": generated.stages}
        else:
            office = people.load()
            template_ids = set(db.session.scalars(select(Household.id).where(Household.code.like("TPL-%"))))
        results["data"] = _data_summary(settings.db)
        results["state"] = _state_sizes()
        db.session.remove()
    print(f"bench: data ready after {time.perf_counter() - started:.0f} s: {results['data']}", flush=True)
    return app, office, template_ids


def _web_phases(settings: Settings, app: Any, office: people.Office, template_ids: set[int],
                results: dict[str, Any]) -> None:
    """gunicorn up; read latencies, the worker pass, completions; the web workers' memory throughout."""
    server = Gunicorn(settings)
    server.start()
    rss: dict[str, Any] = {"start": sorted(server.rss_mb().values())}
    try:
        if settings.wants("latency"):
            print("bench: read latencies", flush=True)
            with app.app_context():
                results["latency"] = latency.run(settings, office)
        rss["warm"] = sorted(server.rss_mb().values())
        if settings.wants("worker"):
            print("bench: worker pass, two workers", flush=True)
            results["worker"] = workers.run(settings, app)
        if settings.wants("http"):
            print(f"bench: completions over HTTP, {settings.clients} clients", flush=True)
            results["http"] = throughput.run(settings, app, office, server, template_ids)
        rss["end"] = sorted(server.rss_mb().values())
    finally:
        server.stop()
    warm, end = statistics.mean(rss["warm"]), statistics.mean(rss["end"])
    rss["growth_pct"] = round((end - warm) / warm * 100, 1)
    results["rss"] = rss


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the bench as the command line asks; print the table, write and return the results."""
    settings, started = _args(argv), time.perf_counter()
    results: dict[str, Any] = {"machine": report.machine(), "database": settings.db, "cases": settings.cases,
                               "started_at": utcnow().isoformat(timespec="seconds") + "Z"}
    app, office, template_ids = _data(settings, results, started)
    if settings.wants("engine"):
        results["engine"] = engine_bench.run(settings.engine_repeats)
        print(f"bench: engine alone {results['engine']['mean_step_ms']:.2f} ms per step", flush=True)
    if any(settings.wants(p) for p in ("latency", "worker", "http")):
        _web_phases(settings, app, office, template_ids, results)
    engine, http = results.get("engine"), results.get("http")
    if engine and http and http.get("steps_per_s"):
        results["ratios"] = {
            "latency_to_engine": round(http["latency"]["p50_ms"] / engine["mean_step_ms"], 1),
            "throughput_cost_to_engine": round((1000 / http["steps_per_s"]) / engine["mean_step_ms"], 2)}
    if settings.verify_audit:
        began = time.perf_counter()
        try:
            output = database.flask(settings, "audit", "verify", timeout=3600).strip()
        except RuntimeError as exc:  # a broken chain exits 1: report it with the rest
            output = str(exc).strip()
        results["audit_verify"] = {"output": output, "seconds": round(time.perf_counter() - began, 1)}
        print(f"bench: {results['audit_verify']['output']}", flush=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_at_end"] = report.load()
    report.write(results, settings.results_path)
    print()
    print(report.table(results))
    print(f"\nbench: {results['seconds']:.0f} s in all; results in {settings.results_path}")
    return results
