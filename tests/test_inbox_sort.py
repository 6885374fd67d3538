"""The inbox's orders (due time, arrival, household, step — both ways — and returned first), kept through the
badges and the pager; every badge is a filter link."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, utcnow
from tests.factories import PASSWORD, new_household


@pytest.fixture()
def steps(world):
    """Four open survey steps whose due times, arrival, household codes, names and return flags disagree."""
    now = utcnow()
    rows = {}
    plan = {  # code: (due in hours or None, arrived hours ago, step name, returned)
        "Q-C": (5, 30, "环节1", False),
        "Q-A": (None, 10, "环节3", True),
        "Q-D": (-2, 20, "环节2", False),
        "Q-B": (50, 40, "环节3", True),
    }
    for code, (due, ago, name, returned) in plan.items():
        _, instance = new_household(world, code)
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == "ready"))
        row.due_at = now + timedelta(hours=due) if due is not None else None
        row.created_at = now - timedelta(hours=ago)
        row.name, row.returned = name, returned
        row.return_reason = "面积有误" if returned else None
        rows[code] = row.id
    db.session.commit()
    return rows


def order(client, url: str, steps: dict[str, int]) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200
    codes = {v: k for k, v in steps.items()}
    return [codes[int(i)] for i in re.findall(r'data-task-id="(\d+)"', page.get_data(as_text=True))]


def sign_in(client, username: str = "surveyor") -> None:
    client.post("/login", data={"username": username, "password": PASSWORD})


@pytest.mark.parametrize(("sort", "ascending"), [
    ("due", ["Q-D", "Q-C", "Q-B", "Q-A"]),  # overdue first, no due time last
    ("arrival", ["Q-B", "Q-C", "Q-D", "Q-A"]),
    ("household", ["Q-A", "Q-B", "Q-C", "Q-D"]),
    ("step", ["Q-C", "Q-D", "Q-B", "Q-A"]),  # by name, then due time
])
def test_each_key_sorts_both_ways(world, client, steps, sort, ascending):
    sign_in(client)
    assert order(client, f"/inbox?sort={sort}", steps) == ascending
    descending = order(client, f"/inbox?sort={sort}&dir=desc", steps)
    if sort == "due":  # missing due times stay last in both directions
        assert descending == ["Q-B", "Q-C", "Q-D", "Q-A"]
    elif sort == "step":
        assert descending == ["Q-B", "Q-A", "Q-D", "Q-C"]  # name descending, due times missing last
    else:
        assert descending == list(reversed(ascending))


def test_returned_first_and_unknown_orders(world, client, steps):
    sign_in(client)
    assert order(client, "/inbox?sort=returned", steps) == ["Q-B", "Q-A", "Q-D", "Q-C"]
    assert order(client, "/inbox?sort=nonsense&dir=sideways", steps) == order(client, "/inbox", steps)


def test_the_order_is_kept_through_paging_and_is_stable(world, client, steps, monkeypatch):
    from app.inbox import routes

    sign_in(client)
    original = routes.tasks.TaskQuery

    def small_pages(**kwargs):
        return original(**{**kwargs, "per_page": 2})

    monkeypatch.setattr(routes.tasks, "TaskQuery", small_pages)
    first = client.get("/inbox?sort=household&dir=desc").get_data(as_text=True)
    assert re.search(r'href="/inbox\?[^"]*sort=household[^"]*" rel="next"', first.replace("&amp;", "&"))
    assert re.search(r'href="/inbox\?[^"]*dir=desc[^"]*" rel="next"', first.replace("&amp;", "&"))
    pages = order(client, "/inbox?sort=household&dir=desc", steps) + \
        order(client, "/inbox?sort=household&dir=desc&page=2", steps)
    assert pages == ["Q-D", "Q-C", "Q-B", "Q-A"]


def test_every_badge_is_a_filter_link_that_keeps_the_order(world, client, steps):
    sign_in(client)
    page = client.get("/inbox?sort=arrival").get_data(as_text=True).replace("&amp;", "&")
    start = page.index('data-testid="inbox-counts"')
    badges = page[start:page.index("</nav>", start)]
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*data-testid="(filter-[\w-]+)"', badges))
    found = {name: url for url, name in links.items()}
    assert set(found) == {"filter-all", "filter-mine", "filter-unassigned", "filter-returned", "filter-due-soon",
                          "filter-overdue"}
    assert "<span class=\"counter" not in badges  # no counter is plain text
    assert all("sort=arrival" in url for url in found.values())
    assert sorted(order(client, found["filter-due-soon"], steps)) == ["Q-C"]  # due within the next hours
    assert sorted(order(client, found["filter-overdue"], steps)) == ["Q-D"]
    assert sorted(order(client, found["filter-returned"], steps)) == ["Q-A", "Q-B"]
    assert sorted(order(client, found["filter-unassigned"], steps)) == ["Q-A", "Q-B", "Q-C", "Q-D"]
    assert order(client, found["filter-mine"], steps) == []
    soon = client.get(found["filter-due-soon"]).get_data(as_text=True)
    assert re.search(r'<h1>[^<]*<small>共 1 项', soon)  # the total of the filter, from the badge's count


def test_column_heads_toggle_the_direction(world, client, steps):
    sign_in(client)
    page = client.get("/inbox?sort=household").get_data(as_text=True).replace("&amp;", "&")
    head = re.search(r'<a class="sort on" href="([^"]+)" data-testid="sort-household"', page)
    assert head and "dir=desc" in head.group(1)
    assert 'aria-sort="ascending"' in page
    other = re.search(r'href="([^"]+)" data-testid="sort-due"', page)
    assert other and "dir=desc" not in other.group(1) and "sort=due" in other.group(1)
