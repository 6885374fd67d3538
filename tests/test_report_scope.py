"""Reports by work group: a group leader counts their own groups' households only, a project-wide role and the
supervisor the project's, and a supervisor narrows the report to one group — service, API, page and export agree,
the trend's closed days included."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import CompletionDay, HumanTask, TaskEvent, utcnow
from services import households, reports
from services.errors import InvalidInput
from tests.factories import PASSWORD, complete_open_step, new_household
from tests.test_supervision import drive_to_payment


def open_row(instance_id: int) -> HumanTask:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.status == "ready"))


@pytest.fixture()
def two_groups(world, api):
    """Group 1: one household signed (waiting for payment), one at the survey. Group 2: one at the appraisal,
    two at the survey."""
    _, signed = new_household(world, "G1-SIGNED")
    drive_to_payment(api, signed.id)
    _, waiting = new_household(world, "G1-SURVEY")
    moved = []
    for code in ("G2-APPRAISAL", "G2-SURVEY-A", "G2-SURVEY-B"):
        household, instance = new_household(world, code)
        if code == "G2-APPRAISAL":
            complete_open_step(world, open_row(instance.id))
        households.move(world.actor("supervisor"), household.id, {"work_group_id": world.second_group.id},
                        now=utcnow())
        moved.append(instance)
    db.session.expire_all()
    return signed, waiting, moved


GROUP1 = {"households": 2, "signed": 1, "steps": {"survey": 1, "payment": 1}}
GROUP2 = {"households": 3, "signed": 0, "steps": {"survey": 2, "appraisal": 1}}
PROJECT = {"households": 5, "signed": 1, "steps": {"survey": 3, "appraisal": 1, "payment": 1}}


def numbers(report: reports.ProjectProgress) -> dict:
    return {"households": report.total.households, "signed": report.total.signed,
            "steps": {k: v["open"] for k, v in report.steps.items()}}


def test_a_group_leader_counts_their_group_and_the_supervisor_the_project(world, two_groups):
    now = utcnow()
    leader, supervisor, reviewer = (world.actor(r) for r in ("group_leader", "supervisor", "reviewer"))
    [mine] = reports.progress(leader, world.project.id, now)
    assert numbers(mine) == GROUP1
    assert [g.name for g, _part in mine.groups] == ["第一工作组"]
    assert mine.total.agreed > 0 and mine.total.agreed == mine.groups[0][1].agreed
    [everything] = reports.progress(supervisor, world.project.id, now)
    assert numbers(everything) == PROJECT
    assert {g.name: part.households for g, part in everything.groups} == {"第一工作组": 2, "第二工作组": 3}
    assert numbers(reports.progress(reviewer, world.project.id, now)[0]) == PROJECT
    [narrowed] = reports.progress(supervisor, world.project.id, now, world.second_group.id)
    assert numbers(narrowed) == GROUP2 and narrowed.total.agreed == 0

    view = reports.report_scope(leader)
    assert view.kind == "groups" and [g.name for g in view.groups] == ["第一工作组"] and view.group_id is None
    assert reports.report_scope(reviewer).kind == "project"
    assert reports.report_scope(supervisor).kind == "all"
    assert [g.name for g in reports.report_scope(supervisor).choices] == ["第一工作组", "第二工作组", "拓宽组"]
    assert reports.report_scope(supervisor, world.second_group.id).kind == "group"
    with pytest.raises(InvalidInput) as refused:
        reports.report_scope(leader, world.second_group.id)
    assert set(refused.value.fields) == {"group_id"}

    # the trend: 11 steps completed and one agreement signed today in group 1, one step in group 2
    assert sum(reports.trend(leader, None, now)["completed_steps"]) == 11
    assert sum(reports.trend(supervisor, None, now)["completed_steps"]) == 12
    assert sum(reports.trend(reviewer, None, now)["completed_steps"]) == 12
    assert sum(reports.trend(supervisor, None, now, group_id=world.second_group.id)["completed_steps"]) == 1
    assert reports.trend(supervisor, None, now, group_id=world.second_group.id)["signed"][-1] == 0
    assert reports.trend(leader, None, now)["signed"][-1] == 1


def test_closed_days_are_counted_per_work_group(world, two_groups):
    signed, _waiting, moved = two_groups
    now = utcnow()
    three_days_ago = now - timedelta(days=3)
    db.session.add_all([TaskEvent(instance_id=signed.id, at=three_days_ago, action="completed", bpmn_id="survey"),
                        *[TaskEvent(instance_id=i.id, at=three_days_ago, action="completed", bpmn_id="survey")
                          for i in moved]])
    db.session.commit()
    day = -4  # three days ago among the last 30
    assert reports.trend(world.actor("group_leader"), None, now)["completed_steps"][day] == 1
    assert reports.trend(world.actor("supervisor"), None, now)["completed_steps"][day] == 4
    assert reports.trend(world.actor("supervisor"), world.project.id, now,
                         group_id=world.second_group.id)["completed_steps"][day] == 3
    stored = {(d.project_id, d.work_group_id): d.completed
              for d in db.session.scalars(select(CompletionDay).where(CompletionDay.day == three_days_ago.date()))}
    assert stored == {(0, None): 4, (world.project.id, world.group.id): 1,
                      (world.project.id, world.second_group.id): 3}


def sign_in(client, username: str) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302


def households_shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span>户数</span><b data-testid="households">(\d+)</b>', html)]


def test_api_page_and_export_agree(world, two_groups, api, client):
    second = world.second_group.id
    body = api.get(f"/api/v1/reports/progress?project_id={world.project.id}", as_="group_leader").get_json()
    [project] = body["projects"]
    assert (project["households"], project["signed"]) == (2, 1)
    assert [g["name"] for g in project["groups"]] == ["第一工作组"]
    assert {k: v["open"] for k, v in project["steps"].items()} == GROUP1["steps"]
    assert body["scope"]["kind"] == "groups" and [g["name"] for g in body["scope"]["groups"]] == ["第一工作组"]
    response = api.get(f"/api/v1/reports/progress?group_id={second}", as_="group_leader")
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"group_id"}
    body = api.get(f"/api/v1/reports/progress?group_id={second}", as_="supervisor").get_json()
    [project] = body["projects"]
    assert (project["households"], body["scope"]["kind"], body["scope"]["group_id"]) == (3, "group", second)
    assert api.get("/api/v1/reports/progress", as_="supervisor").get_json()["projects"][0]["households"] == 5

    sign_in(client, "group_leader")
    html = client.get("/supervisor/reports").get_data(as_text=True)
    assert "统计范围： 本工作组：第一工作组" in html and households_shown(html) == [2]
    assert 'name="group_id"' not in html  # one group: nothing to choose
    book = load_workbook(BytesIO(client.get("/supervisor/reports.xlsx").data))
    assert [row[2] for row in book["项目进度"].iter_rows(min_row=2, values_only=True)] == [2]
    assert [row[1] for row in book["工作组"].iter_rows(min_row=2, values_only=True)] == ["第一工作组"]
    assert book["统计范围"]["A2"].value == "本工作组：第一工作组"
    response = client.get(f"/supervisor/reports?group_id={second}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "报表不能按该工作组统计" in html and households_shown(html) == [2]

    sign_in(client, "supervisor")
    html = client.get(f"/supervisor/reports?project_id={world.project.id}").get_data(as_text=True)
    assert "统计范围： 全部工作组" in html and households_shown(html) == [5] and 'name="group_id"' in html
    html = client.get(f"/supervisor/reports?project_id={world.project.id}&group_id={second}").get_data(as_text=True)
    assert "统计范围： 工作组：第二工作组" in html and households_shown(html) == [3]
    assert f'value="{second}" selected' in html
    book = load_workbook(BytesIO(client.get(f"/supervisor/reports.xlsx?group_id={second}").data))
    assert [row[2] for row in book["项目进度"].iter_rows(min_row=2, values_only=True)] == [3]
    assert book["统计范围"]["A2"].value == "工作组：第二工作组"


def test_the_migration_recounts_the_counted_days_per_work_group(database_url, tmp_path):
    """0015 turns the per-project counts of the days already counted into per-group ones (and back)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app import create_app
    from app.config import TestConfig
    from tests import conftest, factories

    migrations = str(Path(__file__).resolve().parent.parent / "migrations")
    if database_url.startswith("postgresql"):
        own = conftest._postgres_database(os.environ["TEST_DATABASE_URL"])
        url = next(own)
    else:
        own, url = None, f"sqlite:///{tmp_path / 'migration.db'}"
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(tmp_path / "uploads"))
    application = create_app(config)
    try:
        with application.app_context():
            upgrade(directory=migrations, revision="heads")
            world = factories.build_world()
            _, first = new_household(world, "M-1")
            household, second = new_household(world, "M-2")
            households.move(world.actor("supervisor"), household.id, {"work_group_id": world.second_group.id},
                            now=utcnow())
            earlier = utcnow() - timedelta(days=2)
            db.session.add_all([TaskEvent(instance_id=i, at=earlier, action="completed", bpmn_id="survey")
                                for i in (first.id, second.id, second.id)])
            db.session.commit()
            reports.trend(world.actor("supervisor"), None, utcnow())
            project, groups = world.project.id, (world.group.id, world.second_group.id)
            db.session.remove()
            downgrade(directory=migrations, revision="0014_open_household_steps")
            rows = "SELECT project_id, completed FROM completion_days WHERE day = :day ORDER BY project_id"
            with db.engine.connect() as conn:
                assert conn.execute(text(rows), {"day": earlier.date()}).all() == [(0, 3), (project, 3)]
                conn.execute(text("DELETE FROM completion_days WHERE project_id <> 0"))  # recounted, not copied
                conn.commit()
            upgrade(directory=migrations, revision="heads")
            stored = {(d.project_id, d.work_group_id): d.completed for d in db.session.scalars(
                select(CompletionDay).where(CompletionDay.day == earlier.date()))}
            assert stored == {(0, None): 3, (project, groups[0]): 1, (project, groups[1]): 2}
            assert db.session.scalar(select(func.count()).select_from(CompletionDay).where(
                CompletionDay.project_id == 0)) == 29
            db.session.remove()
            db.engine.dispose()
    finally:
        if own is not None:
            next(own, None)
