"""The web tier of the bench: gunicorn with several worker processes on the bench database, and their memory."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.settings import ROOT, Settings


class Gunicorn:
    """gunicorn wsgi:app started for the run, stopped at its end."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.log = settings.work_dir / "bench-gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start gunicorn and wait until it answers with all its workers."""
        s = self.settings
        worker_class = "gthread" if s.web_threads > 1 else "sync"
        command = [sys.executable, "-m", "gunicorn", "--workers", str(s.web_workers), "--threads",
                   str(s.web_threads), "--worker-class", worker_class, "--bind", f"127.0.0.1:{s.port}",
                   "--backlog", "256", "--timeout", "120", "wsgi:app"]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=s.app_env(), stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.workers()) == s.web_workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within a minute")

    def workers(self) -> list[int]:
        """The worker processes' ids (children of the master)."""
        if self.proc is None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker, in MB (VmRSS of /proc/<pid>/status)."""
        out = {}
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[pid] = round(int(line.split()[1]) / 1024, 1)
            except OSError:
                continue
        return out

    def cpu_seconds(self) -> float:
        """CPU time the workers have used so far (user + system)."""
        return sum(cpu_seconds(pid) for pid in self.workers())

    def stop(self) -> None:
        """Stop gunicorn (its process group: the master and its workers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, from /proc/<pid>/stat (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
