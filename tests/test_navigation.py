"""Each role lands where its work is, and every page a role may use is in its navigation — only those."""
from __future__ import annotations

import re

import pytest

from services.roles import ROLES
from tests.factories import PASSWORD

LANDING = {"supervisor": "/supervisor", "process_owner": "/processes", "admin": "/admin"}
# navigation link → the roles that see it (None: everyone)
NAV = {
    "/inbox": None, "/cases": None, "/notifications": None, "/projects": None, "/processes": None,
    "/supervisor": {"supervisor", "admin", "group_leader"},
    "/supervisor/reports": {"reviewer"},  # the others reach it from the supervision pages
    "/trail": {"supervisor", "admin", "reviewer"},
    "/admin": {"admin"},
}


def nav_links(html: str) -> set[str]:
    nav = html[html.index('class="mainnav"'):html.index("</nav>", html.index('class="mainnav"'))]
    return set(re.findall(r'href="([^"]+)"', nav))


@pytest.mark.parametrize("role", ROLES)
def test_sign_in_and_home_land_where_the_role_works(world, client, role):
    response = client.post("/login", data={"username": role, "password": PASSWORD})
    expected = LANDING.get(role, "/inbox")
    assert response.status_code == 302 and response.headers["Location"].endswith(expected)
    assert client.get("/").headers["Location"].endswith(expected)
    assert client.get("/login").headers["Location"].endswith(expected)
    page = client.get(expected)
    assert page.status_code == 200
    links = nav_links(page.get_data(as_text=True))
    for url, roles in NAV.items():
        assert (url in links) == (roles is None or role in roles), (role, url)
    for url in links:  # every link of the navigation opens for the role
        assert client.get(url).status_code == 200, (role, url)


def test_a_next_page_wins_over_the_landing(world, client):
    response = client.post("/login?next=/cases", data={"username": "supervisor", "password": PASSWORD})
    assert response.headers["Location"].endswith("/cases")


def test_the_admin_page_links_what_the_admin_may_use(world, client):
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    html = client.get("/admin").get_data(as_text=True)
    assert "系统管理" in html
    tiles = html[html.index('data-testid="admin-links"'):]
    for url in ("/policies", "/trail", "/projects", "/processes", "/supervisor/deadlines", "/supervisor",
                "/account/tokens"):
        assert f'href="{url}"' in tiles, url
        assert client.get(url).status_code == 200, url
    client.post("/logout")
    client.post("/login", data={"username": "surveyor", "password": PASSWORD})
    assert client.get("/admin").status_code == 403


def test_the_roster_import_is_reachable_for_importers_only(world, client):
    client.post("/login", data={"username": "surveyor", "password": PASSWORD})
    html = client.get("/projects").get_data(as_text=True)
    assert f'href="/projects/{world.project.id}/import"' in html and "台账与花名册导入" in html
    assert f'href="/projects/{world.project.id}/ledger.xlsx"' in html
    assert f"/projects/{world.other_project.id}/" not in html  # only the user's projects
    client.post("/logout")
    client.post("/login", data={"username": "finance", "password": PASSWORD})
    html = client.get("/projects").get_data(as_text=True)
    assert "/import" not in html and f'href="/projects/{world.project.id}/ledger.xlsx"' in html


def test_the_deadlines_page_is_linked_from_the_processes_page(world, client):
    client.post("/login", data={"username": "surveyor", "password": PASSWORD})
    assert 'href="/supervisor/deadlines"' in client.get("/processes").get_data(as_text=True)
