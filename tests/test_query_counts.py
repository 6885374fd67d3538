"""Query discipline: the inbox (page and API), the case page and the supervisor's pages issue the same number
of SQL statements whatever the number of households — no statement per row, per assignee or per event; and
completing a step stays within a fixed number of statements."""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Household, HumanTask, ProcessInstance, User, WorkGroup, utcnow
from services import demo_data, identity, runtime, tasks
from services.context import Actor
from services.tx import transaction
from tests import factories

CLAIMANTS = 10  # extra surveyors, so that a larger world also has more distinct assignees


@contextmanager
def counting() -> Iterator[list[str]]:
    """The statements sent to the database inside the block (in an application context)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


class Visitor:
    """Signs in (page session and API token) and counts the statements of one request."""

    def __init__(self, app: Flask, username: str):
        self.app = app
        self.page = app.test_client()
        with app.app_context():
            response = self.page.post("/login", data={"username": username, "password": factories.PASSWORD})
            assert response.status_code == 302
            token = self.page.post("/api/v1/auth/token", json={"username": username,
                                                                "password": factories.PASSWORD})
            assert token.status_code == 200, token.get_json()
        self.token = token.get_json()["token"]
        self.statements("/api/v1/me")  # the token's first use is recorded once; later ones write nothing

    def statements(self, url: str) -> list[str]:
        client_kwargs = {"headers": {"Authorization": f"Bearer {self.token}"}} if url.startswith("/api/") else {}
        with self.app.app_context(), counting() as seen:  # a fresh context: nothing cached between calls
            response = self.page.get(url, **client_kwargs)
        assert response.status_code == 200, (url, response.status_code)
        return seen


def _claimants(world: factories.World) -> list[User]:
    with transaction():
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.project_id == world.project.id))
        people = [identity.create_user(f"surveyor{i}", factories.PASSWORD, f"调查员{i}", ["surveyor"])
                  for i in range(CLAIMANTS)]
        group.members.extend(people)
    return people


def _grow(world: factories.World, claimants: list[User], start: int, count: int) -> None:
    """Households start..start+count: a third surveyed, a third appraised too, most of the open steps claimed."""
    rng = random.Random(start)
    at = utcnow() - timedelta(days=20)
    for index in range(start, start + count):
        household, instance = factories.new_household(world, code=f"Q-{index:03d}", now=at)
        for bpmn_id in ("survey", "appraisal")[:index % 3]:
            row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                            HumanTask.status == "ready"))
            user = world.users[row.role]
            home = db.session.get(Household, household.id)
            runtime.complete_task(Actor(user), row.id, demo_data.step(rng, bpmn_id, home, at, home.head_name),
                                  now=at)
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == "ready"))
        if index % 4:
            who = claimants[index % CLAIMANTS] if row.role == "surveyor" else world.users[row.role]
            tasks.claim(Actor(who), row.id, at)


PAGES = {
    "surveyor": ["/inbox", "/inbox?overdue=1", "/inbox?assigned=unassigned", "/api/v1/tasks?per_page=50",
                 "/api/v1/tasks?per_page=50&overdue=true", "/api/v1/tasks?assigned=me"],
    "appraiser": ["/inbox", "/api/v1/tasks?per_page=50"],
    "supervisor": ["/supervisor?days=0", "/supervisor?days=3", "/api/v1/supervisor/stuck?days=0",
                   "/supervisor/reports", "/api/v1/reports/progress", "/cases/{surveyed}", "/cases/{claimed}",
                   "/api/v1/instances?per_page=50", "/api/v1/instances/{instance}"],
}


def _measure(visitors: dict[str, Visitor]) -> dict[str, list[str]]:
    ids = dict(db.session.execute(select(Household.code, Household.id)).all())
    instance = db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.household_id == ids["Q-002"]))
    known = {"surveyed": ids["Q-002"], "claimed": ids["Q-003"],  # two steps done; waiting at a claimed survey
             "instance": instance}
    counts = {}
    for role, urls in PAGES.items():
        for url in urls:
            visitors[role].statements(url.format(**known))  # the first report counts the closed days, once
            counts[f"{role} {url}"] = visitors[role].statements(url.format(**known))
    return counts


def test_pages_issue_as_many_statements_for_50_households_as_for_5(ctx, world):
    claimants = _claimants(world)
    _grow(world, claimants, 0, 5)
    visitors = {role: Visitor(ctx, role) for role in PAGES}
    small = _measure(visitors)
    _grow(world, claimants, 5, 45)
    large = _measure(visitors)
    grown = {page: (len(small[page]), len(large[page])) for page in small if len(large[page]) != len(small[page])}
    example = next(iter(grown), None)
    assert not grown, (f"statements per request changed with the data (5 → 50 households): {grown}; "
                       f"{example} with 50:\n" + "\n".join(s[:150] for s in large.get(example, [])))


# what completing a step may cost: the token, the step's instance under its lock with definition and
# household (only when the caller may act on the step), its open steps, the household's records and rows
# the form reads, the module record and its revision, one flush for the instance, the steps and their
# events, the next step's deadline, notices, the audit chain (lock, last hash, rows) and the answer (open
# steps, history); the appraisal and the signatures add their conflict-of-interest declaration (one insert that
# is made only when no conflict was declared)
COMPLETION_LIMIT = 20


def test_completing_a_step_issues_a_bounded_number_of_statements(ctx, world):
    household, instance = factories.new_household(world, code="C-001")
    survey = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                       HumanTask.status == "ready"))
    factories.complete_open_step(world, survey)
    visitor = Visitor(ctx, "appraiser")
    step = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                     HumanTask.bpmn_id == "appraisal", HumanTask.status == "ready"))
    factories.before_step(world.users["appraiser"], "appraisal", household.id)
    data = factories.step_data("appraisal", household.id)
    step_id = step.id
    db.session.remove()
    with ctx.app_context(), counting() as seen:
        response = visitor.page.post(f"/api/v1/tasks/{step_id}/complete", json={"data": data},
                                     headers={"Authorization": f"Bearer {visitor.token}"})
    assert response.status_code == 200, response.get_json()
    assert [t["bpmn_id"] for t in response.get_json()["instance"]["current_tasks"]] == ["rights"]
    assert len(seen) <= COMPLETION_LIMIT, "\n".join(s[:120] for s in seen)


def _counted(user: User, query: tasks.TaskQuery, now) -> int:
    stmt = tasks._inbox_base(user, now, query).subquery()
    return db.session.scalar(select(func.count()).select_from(stmt))


def test_inbox_totals_without_a_count_query_are_the_counted_ones(ctx, world):
    """The total is taken from the badge counts or the last page when they tell it; it is always the count."""
    claimants = _claimants(world)
    _grow(world, claimants, 0, 12)
    now = utcnow()
    steps = list(db.session.scalars(select(HumanTask).where(HumanTask.status == "ready").order_by(HumanTask.id)))
    steps[0].returned = True
    steps[1].due_at = now - timedelta(hours=1)
    db.session.commit()
    queries = [tasks.TaskQuery(per_page=per_page, page=page, **filters)
               for filters in ({}, {"overdue": True}, {"overdue": False}, {"returned": True}, {"returned": False},
                               {"assigned": "me"}, {"assigned": "unassigned"}, {"role": "surveyor"},
                               {"role": "appraiser"}, {"project_id": world.project.id}, {"q": "Q-00"},
                               {"overdue": True, "assigned": "me"}, {"role": "surveyor", "returned": True},
                               {"role": "surveyor", "project_id": world.project.id},
                               {"project_id": world.other_project.id},
                               {"role": "appraiser", "project_id": world.other_project.id})
               for per_page, page in ((50, 1), (3, 1), (3, 2), (3, 9))]
    for user in (claimants[0], world.users["surveyor"], world.users["appraiser"], world.users["supervisor"]):
        counts = tasks.inbox_counts(user, now, timedelta(hours=24))
        for query in queries:
            expected = _counted(user, query, now)
            known = tasks.total_from_counts(query, counts)
            rows, total = tasks.list_tasks(user, query, now, known_total=known)
            assert total == expected, (user.username, query, known)
            assert len(rows) == max(0, min(query.per_page, expected - (query.page - 1) * query.per_page))
