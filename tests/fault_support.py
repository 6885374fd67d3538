"""The real stack for the fault-injection tests: a PostgreSQL of the test's own (restartable without harm to
anyone), gunicorn, `flask worker` processes and an SMTP sink that can stall, refuse and count."""
from __future__ import annotations

import asyncio
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


class OwnPostgres:
    """initdb into a temporary directory and a free port; restarted and stopped by the tests alone."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = off\nlog_lock_waits = on\ndeadlock_timeout = 200ms\nmax_connections = 60\n")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / tool), *args], check=True, capture_output=True,
                       timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")

    def restart(self, pause: float = 0.0) -> None:
        """A fast restart (every connection cut), optionally down for pause seconds."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        time.sleep(pause)
        self.start()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Sink:
    """An SMTP server that counts each message by its text; it can stall or refuse with 451."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.delay = 0.0
        self.stall_until = 0.0  # while time.time() is below: answer nothing for 30 s (the client times out)
        self.refuse_first = False  # refuse each text with 451 the first time it comes
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        import email

        text = email.message_from_bytes(envelope.content).get_payload(decode=True).decode("utf-8").strip()
        if time.time() < self.stall_until:
            await asyncio.sleep(30)
            return "451 4.4.2 timed out"
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse_first and not self.refused[text]:
                self.refused[text] += 1
                return "451 4.3.0 try again later"
            self.received[text] += 1
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


class Processes:
    """gunicorn and `flask worker` processes on the own database, each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.web: subprocess.Popen | None = None
        self.web_port = free_port()
        self.workers: list[subprocess.Popen] = []

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=(self.log_dir / log).open("ab"),
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_web(self) -> None:
        self.web = self._spawn([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", "4",
                                "--worker-class", "gthread", "--bind", f"127.0.0.1:{self.web_port}",
                                "--timeout", "60", "wsgi:app"], "gunicorn.log")
        wait_until(lambda: self.request("GET", "/healthz")[0] == 200, 60, "gunicorn")

    def start_worker(self) -> subprocess.Popen:
        proc = self._spawn([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker",
                            "--interval", "0.3"], "worker.log")
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self.workers.remove(proc)

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None,
                ) -> tuple[int, Any, dict]:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=30)
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            raw = response.read()
            conn.close()
        except OSError:
            return 0, None, {}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return response.status, parsed, dict(response.getheaders())

    def stop(self) -> None:
        for proc in [*self.workers, *([self.web] if self.web else [])]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, *([self.web] if self.web else [])]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.workers.clear()
