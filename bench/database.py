"""The bench's own database: created afresh, migrated with `flask db upgrade heads`, the diagrams loaded."""
from __future__ import annotations

import shutil
import subprocess
import sys

from sqlalchemy import create_engine, text

from bench.settings import PG_ADMIN_URL, ROOT, Settings


def recreate(settings: Settings) -> None:
    """Drop the bench database (and its uploads) and create it empty."""
    shutil.rmtree(settings.upload_dir, ignore_errors=True)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    if settings.db == "sqlite":
        path = settings.work_dir / "bench.sqlite"
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = 'bench' AND pid <> pg_backend_pid()"))
        conn.execute(text('DROP DATABASE IF EXISTS "bench"'))
        conn.execute(text('CREATE DATABASE "bench"'))
    admin.dispose()


def flask(settings: Settings, *args: str, timeout: float = 600) -> str:
    """Run a `flask --app wsgi` command against the bench database; its output."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=settings.app_env(), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def migrate(settings: Settings) -> None:
    """Apply every migration and deploy the shipped diagrams, as an operator would."""
    flask(settings, "db", "upgrade", "heads")
    flask(settings, "bpmn", "load")
    flask(settings, "policy", "load-default")
