"""What a bench run generates and measures: sizes, databases, paths, and the targets it is held to."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "Bench-pass-2026!"  # every bench user's password (a throwaway database)

# (metric, target, comparison): "<=" the measurement must not exceed the target, ">=" must reach it
TARGETS: dict[str, tuple[float, str]] = {
    "http_steps_per_s": (200.0, ">="),
    "inbox_api_p95_ms": (20.0, "<="),
    "inbox_page_p95_ms": (20.0, "<="),
    "supervisor_overview_p95_ms": (200.0, "<="),
    "supervisor_stuck_api_p95_ms": (200.0, "<="),
    "progress_report_p95_ms": (200.0, "<="),
    "reports_page_p95_ms": (200.0, "<="),
    "worker_pass_s": (5.0, "<="),
    "state_median_bytes": (10240.0, "<="),
    "web_rss_growth_pct": (10.0, "<="),
}


@dataclass
class Settings:
    """One bench run."""

    cases: int = 100_000
    projects: int = 4
    groups_per_project: int = 3
    users_per_role: int = 3           # per project and working role
    overdue_share: float = 0.10       # of the open steps
    db: str = "postgresql"            # or "sqlite"
    seed: int = 2026
    web_workers: int = 4
    web_threads: int = 1
    clients: int = 8
    http_households: int = 600        # households driven forward over HTTP, one open step each per round
    http_rounds: int = 4
    latency_samples: int = 200
    heavy_samples: int = 60           # for the supervisor pages and reports
    engine_repeats: int = 30
    port: int = 5077
    smtp_port: int = 2577
    only: set[str] = field(default_factory=set)  # run only these phases (empty: all)
    url: str | None = None            # another database than the bench's own (the generator's smoke test)
    verify_audit: bool = False        # walk the audit chain with `flask audit verify` at the end

    @classmethod
    def small(cls, **overrides) -> Settings:
        """A run that finishes in about two minutes."""
        values = dict(cases=2_000, projects=3, http_households=150, http_rounds=3, latency_samples=80,
                      heavy_samples=30, engine_repeats=10, verify_audit=True)
        values.update(overrides)
        return cls(**values)

    @property
    def database_url(self) -> str:
        """The bench database (its own, unless url names another)."""
        if self.url:
            return self.url
        if self.db == "sqlite":
            return f"sqlite:///{self.work_dir / 'bench.sqlite'}"
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/bench"

    @property
    def work_dir(self) -> Path:
        """Where the SQLite database, uploads and logs of the run go (BENCH_DIR, else instance/)."""
        return Path(os.environ.get("BENCH_DIR", ROOT / "instance"))

    @property
    def upload_dir(self) -> Path:
        """UPLOAD_DIR of every process of the run."""
        return self.work_dir / "bench-uploads"

    @property
    def results_path(self) -> Path:
        """bench/results.json."""
        return ROOT / "bench" / "results.json"

    def wants(self, phase: str) -> bool:
        """True when the run includes this phase."""
        return not self.only or phase in self.only

    def app_env(self) -> dict[str, str]:
        """The environment of every process of the run (flask CLI, gunicorn, workers)."""
        env = dict(os.environ)
        env.update(DATABASE_URL=self.database_url, UPLOAD_DIR=str(self.upload_dir),
                   SECRET_KEY="bench-secret-" + "x" * 20, SESSION_COOKIE_SECURE="0",
                   PYTHONPATH=str(ROOT), FLASK_APP="wsgi", DEMO_PASSWORD=PASSWORD)
        env.pop("SMTP_HOST", None)
        return env
