"""The bulk data set: template snapshots copied into many cases over several projects, with due times (a
share of the open steps overdue), escalation state as a running worker would have left it, notifications,
and the audit trail continued as one valid hash chain."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import delete, insert, select

from app.extensions import db
from app.models import AgreementCounter, User
from bench import clone
from bench.auditchain import Chain, dumps
from bench.bulk import Background, Writer
from bench.people import Office
from bench.settings import Settings
from bench.templates import Snapshot, TemplateSet
from services import escalation, notifications
from services.roles import SIGNERS, scope_of

PLAN_WEIGHTS = (0.40, 0.15, 0.10, 0.15, 0.20)
PROJECT_WEIGHTS = (0.40, 0.30, 0.20, 0.10, 0.05, 0.05)
STAGE_DECAY = 0.84         # later steps hold fewer cases
CLOSED_SHARE = 0.08
CLAIMED_SHARE = 0.35       # open steps someone has claimed
READ_SHARE = 0.70          # old notifications already read
CHUNK = 1000               # cases per COPY batch
SUPERVISOR_AFTER = timedelta(days=1)
REMINDER_LEAD = timedelta(hours=24)


@dataclass
class Generated:
    """What was generated, and what the worker pass over it must write."""

    cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    open_steps: int = 0
    overdue_steps: int = 0
    expected_notices: int = 0
    seconds: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)


@dataclass
class _Shot:
    compiled: clone.Compiled
    open_at: datetime | None
    due_after: timedelta | None
    end_at: datetime
    open_roles: list[str]


def _template_tokens(templates: TemplateSet, shot: Snapshot) -> dict[str, str]:
    home = templates.households[shot.household_id]
    tokens = {"C": home["code"], "H": home["head_name"], "A": home["address"], "P": home["phone"] or "",
              "S": home["section"] or ""}
    numbers = [a["number"] for s in templates.snapshots if s.household_id == shot.household_id
               for a in s.rows["agreements"]]
    if numbers:
        tokens["N"] = numbers[0]
    return tokens


def _prepare(templates: TemplateSet, office: Office) -> list[list[_Shot]]:
    template_project = office.projects[0]
    template_users = {uid: (u.username, u.display_name) for uid, u in (
        (u.id, u) for u in db.session.scalars(select(User)))
        if office.user_role().get(uid, (None,))[0] == template_project}
    compiler = clone.Compiler(templates.tables, template_users, set(office.groups[template_project]))
    plans: dict[int, list[_Shot]] = {}
    for shot in templates.snapshots:
        compiled = compiler.compile(shot, _template_tokens(templates, shot))
        open_tasks = shot.open_tasks
        latest = max(open_tasks, key=lambda t: t["created_at"]) if open_tasks else None
        instance = shot.rows["process_instances"][0]
        plans.setdefault(shot.plan, []).append(_Shot(
            compiled, latest["created_at"] if latest else None,
            (latest["due_at"] - latest["created_at"]) if latest else None,
            instance["completed_at"] or instance["updated_at"], [t["role"] for t in open_tasks]))
    return [plans[i] for i in sorted(plans)]


class _Team:
    """Per project and work group: the users a case's template users become (for a group-bound role people
    of the case's group, its leader for the group leader's), and their names as markers."""

    def __init__(self, office: Office):
        self.office = office
        names = {u.id: (u.username, u.display_name) for u in db.session.scalars(select(User))}
        template_project = office.projects[0]
        self.maps: dict[tuple[int, int], tuple[dict[int, int], dict[str, str]]] = {}
        for project in office.projects:
            for g, group in enumerate(office.groups[project]):
                users, tokens = {}, {}
                for (pid, role), ids in office.users.items():
                    if pid != template_project:
                        continue
                    targets = office.users[(project, role)]
                    reach = office.pool(project, role, group) if scope_of(role) == "group" else []
                    for k, uid in enumerate(ids):
                        new = reach[k % len(reach)] if reach else targets[(k + g) % len(targets)]
                        users[uid] = new
                        tokens[f"u{uid}"], tokens[f"d{uid}"] = names[new]
                self.maps[(project, g)] = (users, tokens)


def generate(settings: Settings, office: Office, templates: TemplateSet, now: datetime) -> Generated:
    """Write settings.cases generated cases into the bench database."""
    started = time.perf_counter()
    plans = _prepare(templates, office)
    writer = Writer(settings.database_url)
    next_id = [writer.max_id(t) + 1 if "id" in templates.tables[t].c else 0 for t in clone.TABLES]
    chain = Chain.continuing(db.session.connection())
    numbers = _agreement_numbers(office, now)
    result = Generated(rows={t: 0 for t in clone.TABLES})
    copier = _Copier(settings, office, plans, now, next_id, chain, numbers, result)
    db.session.rollback()  # no transaction of ours may stay open: VACUUM could not mark the pages all-visible
    background = Background(writer)
    try:
        with force_locale("zh"):  # the reminders' texts, as the worker writes them
            while result.cases < settings.cases:
                batch = [copier.case() for _ in range(min(CHUNK, settings.cases - result.cases))]
                background.put(_batch(plans[0][0].compiled, batch, result))
                print(f"  generated {result.cases}/{settings.cases} cases ({time.perf_counter() - started:.0f} s)",
                      flush=True)
    finally:
        background.close()
    writer.finish(clone.TABLES)
    _save_agreement_numbers(numbers, now)
    result.seconds = time.perf_counter() - started
    return result


def _batch(any_compiled: clone.Compiled, cases: list[list[list[list[Any]]]], result: Generated) -> list:
    out = []
    for i, table in enumerate(any_compiled.tables):
        rows = [row for case in cases for row in case[i]]
        result.rows[table.name] += len(rows)
        out.append((table.name, table.columns, rows))
    return out


class _Copier:
    """Makes one generated case after another: which snapshot, project, group, names and times."""

    def __init__(self, settings: Settings, office: Office, plans: list[list[_Shot]], now: datetime,
                 next_id: list[int], chain: Chain, numbers: dict[int, int], result: Generated):
        self.settings, self.office, self.plans, self.now = settings, office, plans, now
        self.next_id, self.chain, self.numbers, self.result = next_id, chain, numbers, result
        self.rng = random.Random(settings.seed)
        self.team = _Team(office)
        self.project_weights = [PROJECT_WEIGHTS[i % len(PROJECT_WEIGHTS)] for i in range(len(office.projects))]
        self.template_groups = office.groups[office.projects[0]]

    def _pick(self) -> _Shot:
        rng = self.rng
        shots = self.plans[rng.choices(range(len(self.plans)), PLAN_WEIGHTS[:len(self.plans)])[0]]
        if rng.random() < CLOSED_SHARE:
            return shots[-1]
        return rng.choices(shots[:-1], [STAGE_DECAY ** i for i in range(len(shots) - 1)])[0]

    def case(self) -> list[list[list[Any]]]:
        """The rows of the next generated case, per table."""
        rng, office, now, result = self.rng, self.office, self.now, self.result
        shot = self._pick()
        project = rng.choices(office.projects, self.project_weights)[0]
        g = rng.randrange(len(office.groups[project]))
        group = office.groups[project][g]
        overdue = shot.open_at is not None and rng.random() < self.settings.overdue_share
        if shot.open_at is None:
            delta = now - timedelta(days=rng.uniform(1, 60)) - shot.end_at
        else:  # overdue by 1–20 or 28–72 hours: clear of the supervisor's one-day mark when the pass runs
            late = timedelta(hours=rng.choice((rng.uniform(1, 20), rng.uniform(28, 72))))
            age = shot.due_after + late if overdue else shot.due_after * rng.uniform(0.0, 0.98)
            delta = now - age - shot.open_at
        users, user_tokens = self.team.maps[(project, g)]
        code = office.project_codes[project]
        tokens = {**user_tokens, "C": f"{code}-{result.cases + 1:06d}", "H": _name(rng),
                  "A": f"{code}片区{rng.randint(1, 30)}组{rng.randint(1, 200)}号",
                  "P": f"139{rng.randint(10**7, 10**8 - 1)}", "S": f"{rng.randint(1, 6)}号片区"}
        if shot.compiled.counts[clone.INDEX["agreements"]]:
            self.numbers[project] += 1
            tokens["N"] = f"{code}-{now.year}-{self.numbers[project]:04d}"
        ctx = clone.Context(list(self.next_id), project, dict.fromkeys(self.template_groups, group), users, tokens,
                            delta)
        for i, count in enumerate(shot.compiled.counts):
            self.next_id[i] += count
        rows = clone.build(shot.compiled, ctx)
        n_notif = clone.INDEX["notifications"]
        extra = _escalation_state(rng, shot, rows, ctx, office, project, group, now, overdue, result,
                                  set(office.supervisors), self.next_id, n_notif)
        _age_notifications(rng, shot.compiled, rows[n_notif])
        rows[n_notif].extend(extra)
        _chain(shot.compiled, rows[clone.INDEX["audit_log"]], self.chain)
        result.cases += 1
        stage = ",".join(sorted({t["bpmn_id"] for t in shot.compiled.snapshot.open_tasks})) or "closed"
        result.stages[stage] = result.stages.get(stage, 0) + 1
        return rows


def _escalation_state(rng: random.Random, shot: _Shot, rows: list, ctx: clone.Context, office: Office,
                      project: int, group: int, now: datetime, overdue: bool, result: Generated,
                      supervisors: set[int], next_id: list[int], n_notif: int) -> list[list[Any]]:
    """Claim some open steps; set their escalation as the worker would have; the reminders it sent."""
    table = shot.compiled.tables[clone.INDEX["human_tasks"]]
    c = {name: table.col(name) for name in ("id", "status", "role", "assignee_id", "claimed_at", "created_at",
                                             "due_at", "escalation_level", "next_escalation_at", "name", "bpmn_id")}
    notif = shot.compiled.tables[n_notif]
    code = ctx.tokens["C"]
    instance_id = ctx.start[clone.INDEX["process_instances"]]
    extra = []
    for row in rows[clone.INDEX["human_tasks"]]:
        if row[c["status"]] != "ready":
            continue
        role = row[c["role"]]
        pool = set(office.pool(project, role, group)) or supervisors
        if row[c["assignee_id"]] is None and rng.random() < CLAIMED_SHARE:
            bound = SIGNERS.get(row[c["bpmn_id"]], ("", ""))[1] == "leader" and office.leaders.get(group)
            row[c["assignee_id"]] = bound or rng.choice(sorted(pool))  # a leader's signature: the leader's claim
            row[c["claimed_at"]] = row[c["created_at"]] + timedelta(hours=1)
        holders = {row[c["assignee_id"]]} if row[c["assignee_id"]] else pool
        created, due = row[c["created_at"]], row[c["due_at"]]
        reminder_at = due - min(REMINDER_LEAD, (due - created) / 2)
        result.open_steps += 1
        if now < reminder_at:
            row[c["escalation_level"]], row[c["next_escalation_at"]] = 0, reminder_at
            continue
        row[c["escalation_level"]] = 1
        if overdue:  # falls due for the worker pass when the bench sets next_escalation_at (see worker phase)
            row[c["next_escalation_at"]] = None
            result.overdue_steps += 1
            result.expected_notices += len(holders | {office.leaders[group]})
            if now - due >= SUPERVISOR_AFTER:
                result.expected_notices += len(supervisors)
        else:
            row[c["next_escalation_at"]] = due
        params = {"household": code, "step": row[c["name"]], "due": due.replace(microsecond=0).isoformat() + "Z"}
        message = notifications.render("reminder", params)  # in generate()'s force_locale("zh")
        for uid in sorted(holders):
            values = {"id": next_id[n_notif], "user_id": uid, "kind": "reminder", "message": message,
                      "params": dumps(params), "task_id": row[c["id"]], "instance_id": instance_id,
                      "dedupe_key": escalation.dedupe_key(row[c["id"]], due, 1, uid), "created_at": reminder_at,
                      "read_at": reminder_at + timedelta(hours=2) if rng.random() < READ_SHARE else None,
                      "email_status": "sent", "emailed_at": reminder_at + timedelta(minutes=1), "email_attempts": 1}
            next_id[n_notif] += 1
            extra.append([values.get(name) for name in notif.columns])
    return extra


def _age_notifications(rng: random.Random, compiled: clone.Compiled, rows: list[list[Any]]) -> None:
    table = compiled.tables[clone.INDEX["notifications"]]
    created, read, status, emailed = (table.col(n) for n in ("created_at", "read_at", "email_status", "emailed_at"))
    for row in rows:
        if rng.random() < READ_SHARE:
            row[read] = row[created] + timedelta(hours=3)
        if row[status] is not None:
            row[status], row[emailed] = "sent", row[created] + timedelta(minutes=1)


def _chain(compiled: clone.Compiled, rows: list[list[Any]], chain: Chain) -> None:
    table = compiled.tables[clone.INDEX["audit_log"]]
    names = ("at", "actor_id", "actor_name", "action", "target_type", "target_id", "household_id", "before",
             "after", "ip")
    cols = [table.col(n) for n in names]
    prev, own = table.col("prev_hash"), table.col("hash")
    for row in rows:
        row[prev], row[own] = chain.link(*(row[i] for i in cols))


def _agreement_numbers(office: Office, now: datetime) -> dict[int, int]:
    last = dict(db.session.execute(select(AgreementCounter.project_id, AgreementCounter.last)
                                   .where(AgreementCounter.year == now.year)).all())
    return {p: last.get(p, 0) for p in office.projects}


def _save_agreement_numbers(numbers: dict[int, int], now: datetime) -> None:
    db.session.execute(delete(AgreementCounter).where(AgreementCounter.year == now.year))
    db.session.execute(insert(AgreementCounter), [{"project_id": p, "year": now.year, "last": n}
                                                  for p, n in numbers.items()])
    db.session.commit()


SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ("建华", "秀英", "桂兰", "志强", "国庆", "美玲", "德明", "春梅", "永福", "丽娟", "海涛", "玉珍", "长生", "金凤",
         "小军", "淑芬", "保国", "红霞", "振兴", "翠花", "立新", "文斌", "雪梅", "宏伟")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)
