"""The worker pass: two `flask worker` processes at once over every open step, of which the overdue ones fall
due together (as after a worker outage: the catch-up). Each notice must be written once, and each e-mail
copy sent once (to an SMTP sink)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Household, HumanTask, Notification, User, WorkGroup, group_members, user_roles, utcnow
from bench.database import flask
from bench.settings import ROOT, Settings
from services.roles import scope_of

SUPERVISOR_AFTER = timedelta(days=1)
HELD = (HumanTask.status == "ready", HumanTask.escalation_level == 1, HumanTask.next_escalation_at.is_(None))


def expected_notices(now) -> tuple[set[int], int]:
    """The held-back overdue steps and how many notices escalation must write for them (computed here from
    the tables, not by the application's code): the holders (assignee, else the role's users who reach the
    household: its work group's for a group-bound role, the project's otherwise) and the group's leader, plus
    the supervisors once a step is a day overdue."""
    rows = db.session.execute(select(HumanTask.id, HumanTask.role, HumanTask.project_id, HumanTask.assignee_id,
                                     HumanTask.due_at, Household.work_group_id)
                              .join(Household, Household.id == HumanTask.household_id).where(*HELD)).all()
    roles: dict[int, set[str]] = {}
    for uid, code in db.session.execute(select(user_roles.c.user_id, user_roles.c.role_code)
                                        .join(User, User.id == user_roles.c.user_id).where(User.active.is_(True))):
        roles.setdefault(uid, set()).add(code)
    projects: dict[int, set[int]] = {}
    groups: dict[int, set[int]] = {}
    for uid, pid, gid in db.session.execute(select(group_members.c.user_id, WorkGroup.project_id, WorkGroup.id)
                                            .join(WorkGroup, WorkGroup.id == group_members.c.group_id)):
        projects.setdefault(uid, set()).add(pid)
        groups.setdefault(uid, set()).add(gid)
    leaders = dict(db.session.execute(select(WorkGroup.id, WorkGroup.leader_id)).all())
    project_leaders: dict[int, set[int]] = {}
    for pid, leader in db.session.execute(select(WorkGroup.project_id, WorkGroup.leader_id)):
        if leader:
            project_leaders.setdefault(pid, set()).add(leader)
    sees_all = {u for u, r in roles.items() if r & {"supervisor", "admin"}}
    supervisors = {u for u, r in roles.items() if "supervisor" in r}
    expected = 0
    for _tid, role, pid, assignee, due, gid in rows:
        if scope_of(role) == "group" and gid:  # a group-bound role: the people of the household's group
            reach = {u for u in roles if gid in groups.get(u, ()) or (role == "group_leader" and leaders.get(gid) == u)}
        else:
            reach = {u for u in roles if pid in projects.get(u, ())}
        holders = {assignee} if assignee else {u for u, r in roles.items()
                                               if role in r and (u in reach or u in sees_all)}
        group_leaders = {leaders[gid]} if gid and leaders.get(gid) else project_leaders.get(pid, set())
        expected += len(holders | group_leaders)
        if now - due >= SUPERVISOR_AFTER:
            expected += len(supervisors)
    return {r[0] for r in rows}, expected


def _start_workers(settings: Settings, env: dict[str, str], log: Path) -> list[subprocess.Popen]:
    procs, ready = [], []
    for i in range(2):
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--interval", "0.1"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        event = threading.Event()
        threading.Thread(target=_follow, args=(proc, event, log.with_name(f"{log.stem}-{i + 1}.log")),
                         daemon=True).start()
        procs.append(proc)
        ready.append(event)
    for event in ready:
        if not event.wait(60):
            raise RuntimeError("a worker did not start")
    time.sleep(1.5)  # both have finished their first (catch-up) pass over what was due before
    return procs


def _follow(proc: subprocess.Popen, ready: threading.Event, log: Path) -> None:
    with log.open("w") as out:
        for line in proc.stdout:
            out.write(line)
            if "worker running" in line:
                ready.set()


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _settle() -> None:
    """Wait until the workers have mailed what was pending before the pass."""
    deadline = time.time() + 120
    while time.time() < deadline and _count(0, Notification.email_status == "pending"):
        time.sleep(0.1)
    time.sleep(0.3)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _count(before: int, *conditions) -> int:
    value = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.id > before,
                                                                                   *conditions))
    db.session.rollback()
    return int(value or 0)


def run(settings: Settings, app: Flask) -> dict[str, Any]:
    """Time the pass from the moment the overdue steps fall due until their notices (and mails) are out."""
    sink_file = settings.work_dir / "bench-smtp.txt"
    sink_file.unlink(missing_ok=True)
    sink = subprocess.Popen([sys.executable, "-m", "bench.smtp_sink", str(settings.smtp_port), str(sink_file)],
                            cwd=ROOT, env=settings.app_env(), stdout=subprocess.PIPE, text=True)
    sink.stdout.readline()
    env = {**settings.app_env(), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(settings.smtp_port)}
    procs: list[subprocess.Popen] = []
    try:
        with app.app_context():
            held, expected = expected_notices(utcnow())
            procs = _start_workers(settings, env, settings.work_dir / "bench-worker.log")
            _settle()
            before = db.session.scalar(select(func.max(Notification.id))) or 0
            earlier = len(_lines(sink_file))  # mails of notices written before the pass (sent at start-up)
            db.session.execute(update(HumanTask).where(*HELD).values(next_escalation_at=HumanTask.due_at))
            db.session.commit()
            t0 = time.perf_counter()
            notices_at = mails_at = None
            escalations = Notification.kind.in_(("overdue", "escalated"))
            while time.perf_counter() - t0 < 300:
                if notices_at is None and _count(before, escalations) >= expected:
                    notices_at = time.perf_counter() - t0
                if notices_at is not None and _count(before, Notification.email_status == "pending") == 0:
                    mails_at = time.perf_counter() - t0
                    break
                time.sleep(0.02)
            _stop(procs)
            new = db.session.execute(select(Notification.task_id, Notification.user_id, Notification.kind,
                                            Notification.email_status).where(Notification.id > before)).all()
        sink.terminate()
        sink.wait(timeout=30)
        lines = _lines(sink_file)[earlier:]
        again = flask(settings, "worker", "--once")
    finally:
        _stop(procs)
        if sink.poll() is None:
            sink.terminate()
    keys = Counter((t, u, k) for t, u, k, _ in new)
    written = sum(1 for t, _, k, _ in new if t in held and k in ("overdue", "escalated"))
    sent = sum(1 for *_, status in new if status == "sent")
    return {"overdue_steps": len(held), "expected_notices": expected, "notices_written": written,
            "notices_other": len(new) - written, "duplicates": sum(n - 1 for n in keys.values() if n > 1),
            "pass_s": round(notices_at, 3) if notices_at is not None else None,
            "mails_s": round(mails_at, 3) if mails_at is not None else None, "mails_sent": sent,
            "mails_received": len(lines), "mails_distinct": len(set(lines)), "second_pass": again.strip(),
            "workers": 2, "ok": written == expected and sent == len(lines) == len(set(lines))}
