"""Setting up a project: particulars, villages, batches and work groups through the services, the API and the
command line; validation, the audit trail, and a closed project that takes no new households."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditLog, FirmSelection, Household, Project, WorkGroup, group_members, utcnow
from services import households, identity, setup
from services.errors import Conflict, Forbidden, InvalidInput
from services.tx import transaction
from tests import factories

PROJECT = {"code": "XQ-2026", "name": "西区棚改", "kind": "state", "decision_number": "区政征字〔2026〕3号",
           "announced_on": "2026-03-01", "signing_starts_on": "2026-03-10", "sign_deadline": "2026-06-30",
           "target_signed_on": "2026-06-30", "target_vacated_on": "2026-07-31",
           "target_demolished_on": "2026-09-30", "target_cleared_on": "2026-12-31",
           "description": "西区棚户区改造"}


@pytest.fixture()
def staff(world: factories.World) -> dict[str, str]:
    """Two leaders, a cadre and a few members with Chinese names."""
    people = {"leader_a": ("王组长", ["group_leader"]), "leader_b": ("李组长", ["group_leader"]),
              "cadre_x": ("赵村长", ["village_cadre"]), "member_1": ("钱调查", ["surveyor"]),
              "member_2": ("孙经办", ["handler"]), "member_3": ("周核算", ["accountant"])}
    with transaction():
        for username, (name, roles) in people.items():
            identity.create_user(username, factories.PASSWORD, name, roles)
    return {username: name for username, (name, _roles) in people.items()}


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_a_project_with_villages_batches_and_two_groups_through_the_services(world, staff):
    admin = world.actor("admin")
    now = utcnow()
    project = setup.create_project(admin, PROJECT, now=now)
    assert project.status == "active" and project.sign_deadline == date(2026, 6, 30)
    village = setup.create_village(admin, project.id, {"name": "东村", "cadre": "cadre_x"}, now=now)
    setup.create_village(admin, project.id, {"name": "一标段", "kind": "section"}, now=now)
    batch = setup.create_batch(admin, project.id, {"name": "第一批", "notes": "先行签约"}, now=now)
    first = setup.create_group(admin, project.id, {"name": "一组", "leader": "leader_a",
                                                   "members": ["leader_a", "member_1", "member_2"]}, now=now)
    second = setup.create_group(admin, project.id, {"name": "二组", "leader": "leader_b", "members": ["member_3"]},
                                now=now)
    setup.add_member(admin, second.id, {"username": "leader_b"}, now=now)
    member_2 = next(m for m in first.members if m.username == "member_2")
    setup.remove_member(admin, first.id, member_2.id, now=now)
    setup.update_village(admin, village.id, {"name": "东村（一片）", "notes": "含老街"}, now=now)
    setup.update_batch(admin, batch.id, {"name": "首批"}, now=now)
    setup.update_group(admin, second.id, {"name": "第二组"}, now=now)
    setup.update_project(admin, project.id, {"name": "西区棚户区改造", "target_cleared_on": "2027-01-31"}, now=now)

    db.session.expire_all()
    project = db.session.get(Project, project.id)
    assert [v.name for v in project.villages] == ["东村（一片）", "一标段"]
    assert project.villages[0].cadre.username == "cadre_x" and project.villages[1].kind == "section"
    assert [b.name for b in project.batches] == ["首批"]
    groups = {g.name: g for g in project.groups}
    assert groups["一组"].leader.username == "leader_a"
    assert sorted(m.username for m in groups["一组"].members) == ["leader_a", "member_1"]
    assert sorted(m.username for m in groups["第二组"].members) == ["leader_b", "member_3"]
    assert [r.households for r in setup.list_projects(admin) if r.project.id == project.id] == [0]
    assert _actions()[-14:] == [
        "project.create", "village.create", "village.create", "batch.create", "work_group.create",
        "work_group.member.add", "work_group.create", "work_group.member.add", "work_group.member.add",
        "work_group.member.remove", "village.update", "batch.update", "work_group.update", "project.update"]
    update = db.session.scalars(select(AuditLog).where(AuditLog.action == "project.update")).one()
    assert update.before == {"name": "西区棚改", "target_cleared_on": "2026-12-31"}
    assert update.after == {"name": "西区棚户区改造", "target_cleared_on": "2027-01-31"}


def test_validation_names_each_field(world, staff):
    admin = world.actor("admin")
    now = utcnow()
    with pytest.raises(InvalidInput) as caught:
        setup.create_project(admin, {**PROJECT, "code": "P1", "sign_deadline": "2026-03-01",
                                     "target_vacated_on": "2026-05-01", "policy_version": "1999.9"}, now=now)
    fields = caught.value.fields
    assert set(fields) == {"code", "sign_deadline", "target_vacated_on", "policy_version"}
    assert fields["sign_deadline"][0].code == "date_before"
    assert fields["sign_deadline"][0].params == {"earlier": "signing_starts_on"}
    project = setup.create_project(admin, PROJECT, now=now)
    setup.create_village(admin, project.id, {"name": "东村"}, now=now)
    with pytest.raises(InvalidInput) as caught:
        setup.create_village(admin, project.id, {"name": "东村", "cadre": "leader_a"}, now=now)
    assert set(caught.value.fields) == {"name", "cadre"}
    assert caught.value.fields["cadre"][0].code == "user_lacks_role"
    with pytest.raises(InvalidInput) as caught:
        setup.create_group(admin, project.id, {"name": "一组", "leader": "member_1", "members": ["nobody"]}, now=now)
    assert set(caught.value.fields) == {"leader", "members"}
    with pytest.raises(InvalidInput) as caught:
        setup.update_project(admin, project.id, {"signing_starts_on": "2026-07-01"}, now=now)
    assert set(caught.value.fields) == {"sign_deadline", "target_signed_on"}
    with pytest.raises(Forbidden):
        setup.create_project(world.actor("supervisor"), {**PROJECT, "code": "X2"}, now=now)


def test_a_closed_project_takes_no_households_and_an_archived_one_no_changes(world):
    admin = world.actor("admin")
    now = utcnow()
    factories.new_household(world, "C-001")
    setup.close_project(admin, world.project.id, now=now)
    with pytest.raises(InvalidInput) as caught:
        factories.new_household(world, "C-002")
    assert caught.value.code == "project_closed" and "project_id" in caught.value.fields
    setup.create_batch(admin, world.project.id, {"name": "补签"}, now=now)  # a closed project is still tended
    with pytest.raises(Conflict):
        setup.close_project(admin, world.project.id, now=now)
    setup.archive_project(admin, world.project.id, now=now)
    with pytest.raises(Conflict):
        setup.update_project(admin, world.project.id, {"name": "改名"}, now=now)
    project = db.session.get(Project, world.project.id)
    assert project.status == "archived" and project.closed_at is not None
    assert _actions()[-3:] == ["project.close", "batch.create", "project.archive"]


def test_the_api_sets_up_a_project_and_refuses_others(world, staff, api):
    created = api.post("/api/v1/projects", as_="admin", json=PROJECT)
    assert created.status_code == 201, created.get_json()
    project = created.get_json()
    assert project["kind"] == "state" and project["status"] == "active" and project["signing_starts_on"] == "2026-03-10"
    pid = project["id"]
    village = api.post(f"/api/v1/projects/{pid}/villages", as_="admin", json={"name": "东村", "cadre": "cadre_x"})
    assert village.status_code == 201 and village.get_json()["cadre"]["display_name"] == "赵村长"
    batch = api.post(f"/api/v1/projects/{pid}/batches", as_="admin", json={"name": "第一批"})
    assert batch.status_code == 201
    for name, leader, members in (("一组", "leader_a", ["member_1", "member_2"]), ("二组", "leader_b", ["member_3"])):
        group = api.post(f"/api/v1/projects/{pid}/groups", as_="admin",
                         json={"name": name, "leader": leader, "members": members})
        assert group.status_code == 201, group.get_json()
    gid = group.get_json()["id"]
    added = api.post(f"/api/v1/groups/{gid}/members", as_="admin", json={"username": "member_1"})
    assert sorted(m["username"] for m in added.get_json()["members"]) == ["member_1", "member_3"]
    member_id = api.user("member_3").id
    removed = api.call("DELETE", f"/api/v1/groups/{gid}/members/{member_id}", as_="admin")
    assert [m["username"] for m in removed.get_json()["members"]] == ["member_1"]
    renamed = api.call("PATCH", f"/api/v1/groups/{gid}", as_="admin", json={"name": "第二组", "leader": "leader_a"})
    assert renamed.get_json()["leader"]["username"] == "leader_a"
    assert api.call("PATCH", f"/api/v1/villages/{village.get_json()['id']}", as_="admin",
                    json={"kind": "section"}).get_json()["kind"] == "section"
    assert api.call("PATCH", f"/api/v1/batches/{batch.get_json()['id']}", as_="admin",
                    json={"notes": "先行"}).get_json()["notes"] == "先行"
    detail = api.get(f"/api/v1/projects/{pid}", as_="admin").get_json()
    assert [g["name"] for g in detail["groups"]] == ["一组", "第二组"]
    assert {m["display_name"] for m in detail["groups"][0]["members"]} == {"钱调查", "孙经办"}

    bad = api.call("PATCH", f"/api/v1/projects/{pid}", as_="admin",
                   json={"code": "P1", "target_cleared_on": "2026-01-01", "kind": "rural"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"code", "target_cleared_on", "kind"}
    dup = api.post(f"/api/v1/projects/{pid}/groups", as_="admin", json={"name": "一组"})
    assert dup.status_code == 422 and set(dup.get_json()["error"]["fields"]) == {"name"}
    assert api.post("/api/v1/projects", as_="admin", json={}).status_code == 422

    for user in ("surveyor", "supervisor", "group_leader"):
        assert api.post("/api/v1/projects", as_=user, json=PROJECT).status_code == 403
        assert api.get(f"/api/v1/projects/{pid}", as_=user).status_code == 403
        assert api.post(f"/api/v1/groups/{gid}/members", as_=user, json={"username": "member_2"}).status_code == 403

    closed = api.put(f"/api/v1/projects/{pid}/status", as_="admin", json={"status": "closed"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed" and closed.get_json()["closed_at"]
    assert api.put(f"/api/v1/projects/{pid}/status", as_="admin", json={"status": "closed"}).status_code == 409
    refused = api.post(f"/api/v1/projects/{pid}/households", as_="admin",
                       json={"code": "H-1", "kind": "shop", "address": "西区1号", "head_name": "吴明"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "project_closed"
    assert {"project.create", "village.create", "batch.create", "work_group.create", "work_group.member.add",
            "work_group.member.remove", "work_group.update", "village.update", "batch.update",
            "project.close"} <= set(_actions())


def test_the_command_line_sets_up_an_office(world, staff, app):
    runner = app.test_cli_runner()
    steps = [
        ["project", "create", "--code", "CLI-1", "--name", "南区改造", "--kind", "collective",
         "--signing-starts-on", "2026-04-01", "--sign-deadline", "2026-05-31", "--notes", "命令行建立"],
        ["project", "village", "CLI-1", "南村", "--cadre", "cadre_x"],
        ["project", "village", "CLI-1", "二标段", "--kind", "section"],
        ["project", "batch", "CLI-1", "第一批"],
        ["project", "group", "CLI-1", "南区一组", "--leader", "leader_a", "--member", "member_1",
         "--member", "member_2"],
    ]
    for args in steps:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    bad = runner.invoke(args=["project", "group", "CLI-1", "南区一组", "--leader", "member_1"])
    assert bad.exit_code != 0 and "leader" in bad.output
    listed = runner.invoke(args=["project", "list"])
    assert "CLI-1" in listed.output
    db.session.expire_all()
    group = db.session.scalars(select(WorkGroup).where(WorkGroup.name == "南区一组")).one()
    assert group.leader.username == "leader_a" and len(group.members) == 2
    assert runner.invoke(args=["project", "close", "CLI-1"]).exit_code == 0
    with pytest.raises(InvalidInput):
        households.create(world.actor("admin"), group.project_id,
                          {"code": "H-9", "kind": "shop", "address": "南区9号", "head_name": "郑华"}, now=utcnow())


def _sign_in(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 302


def test_the_pages_keep_what_was_typed_and_speak_chinese(world, staff, client):
    _sign_in(client, "admin")
    assert "项目与工作组" in client.get("/admin").get_data(as_text=True)
    typed = {**PROJECT, "code": "P1", "sign_deadline": "2026-03-01"}
    refused = client.post("/setup/projects/new", data=typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "已有项目使用此编号" in page and "不得早于签约开始日期" in page and "区政征字〔2026〕3号" in page
    created = client.post("/setup/projects/new", data=PROJECT)
    assert created.status_code == 302
    project_url = created.headers["Location"]
    page = client.get(project_url).get_data(as_text=True)
    assert "西区棚改" in page and "国有土地" in page and "进行中" in page
    pid = int(project_url.rstrip("/").split("/")[-1])
    dup = client.post(f"/setup/projects/{pid}/group", data={"name": "一组", "leader": "member_1",
                                                            "members": ["member_2", "member_3"]})
    page = dup.get_data(as_text=True)
    assert dup.status_code == 422 and "不具有“工作组负责人”角色" in page
    assert 'value="member_2" checked' in page and 'value="一组"' in page
    added = client.post(f"/setup/projects/{pid}/group", data={"name": "一组", "leader": "leader_a",
                                                              "members": ["member_2", "member_3"]})
    assert added.status_code == 302
    page = client.get(project_url).get_data(as_text=True)
    assert "王组长" in page and "孙经办" in page and "周核算" in page
    assert client.get("/setup/projects").status_code == 200
    assert client.get(f"/setup/projects/{pid}/edit").status_code == 200
    trail = client.get("/trail").get_data(as_text=True)
    assert "新建项目" in trail and "新建工作组" in trail and "加入工作组成员" in trail
    assert "孙经办" in trail and "王组长" in trail and "国有土地" in trail


REASON = "区政府批复补充征收，继续签约"


def test_a_closed_project_is_reopened_only_by_an_administrator_with_a_reason(world):
    admin = world.actor("admin")
    now = utcnow()
    pid = world.project.id
    with pytest.raises(Conflict) as caught:
        setup.reopen_project(admin, pid, {"reason": REASON}, now=now)  # still active
    assert caught.value.code == "reopen_not_closed"
    setup.close_project(admin, pid, now=now)
    for data in ({}, {"reason": "  太短了  "}, {"reason": " " * 12}):
        with pytest.raises(InvalidInput) as caught:
            setup.reopen_project(admin, pid, data, now=now)
        assert set(caught.value.fields) == {"reason"}
    with pytest.raises(Forbidden):
        setup.reopen_project(world.actor("supervisor"), pid, {"reason": REASON}, now=now)
    assert db.session.get(Project, pid).status == "closed"

    project = setup.reopen_project(admin, pid, {"reason": f" {REASON} "}, now=now)
    assert project.status == "active" and project.closed_at is None
    factories.new_household(world, "R-001")  # it takes households again
    row = db.session.scalars(select(AuditLog).where(AuditLog.action == "project.reopen")).one()
    assert row.after == {"name": world.project.name, "reopen_reason": REASON} and row.before["closed_at"]

    setup.close_project(admin, pid, now=now)
    setup.archive_project(admin, pid, now=now)
    with pytest.raises(Conflict) as caught:
        setup.reopen_project(admin, pid, {"reason": REASON}, now=now)
    assert caught.value.code == "project_archived" and db.session.get(Project, pid).status == "archived"


def test_reopening_through_the_api_the_command_line_and_the_page(world, api, app, client):
    pid = world.project.id
    setup.close_project(world.actor("admin"), pid, now=utcnow())
    url = f"/api/v1/projects/{pid}/reopen"
    assert api.post(url, as_="supervisor", json={"reason": REASON}).status_code == 403
    short = api.post(url, as_="admin", json={"reason": "太短"})
    assert short.status_code == 422 and set(short.get_json()["error"]["fields"]) == {"reason"}
    done = api.post(url, as_="admin", json={"reason": REASON})
    assert done.status_code == 200 and done.get_json()["status"] == "active" and done.get_json()["closed_at"] is None
    again = api.post(url, as_="admin", json={"reason": REASON})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "reopen_not_closed"

    runner = app.test_cli_runner()
    code = world.project.code
    assert runner.invoke(args=["project", "close", code]).exit_code == 0
    refused = runner.invoke(args=["project", "reopen", code, "--reason", "短"])
    assert refused.exit_code != 0 and "reason" in refused.output
    reopened = runner.invoke(args=["project", "reopen", code, "--reason", REASON])
    assert reopened.exit_code == 0, reopened.output
    db.session.expire_all()
    assert db.session.get(Project, pid).status == "active"

    setup.close_project(world.actor("admin"), pid, now=utcnow())
    _sign_in(client, "admin")
    page = client.get(f"/setup/projects/{pid}").get_data(as_text=True)
    assert "重新开启项目" in page
    refused_page = client.post(f"/setup/projects/{pid}/reopen", data={"reason": "补充征收"})
    text = refused_page.get_data(as_text=True)
    assert refused_page.status_code == 422 and "补充征收</textarea>" in text and "请输入 10 至 500 个字" in text
    assert client.post(f"/setup/projects/{pid}/reopen", data={"reason": REASON}).status_code == 302
    assert "项目已重新开启" in client.get(f"/setup/projects/{pid}").get_data(as_text=True)
    trail = client.get("/trail").get_data(as_text=True)
    assert "重新开启项目" in trail and REASON in trail and "重新开启理由" in trail
    assert [a for a in _actions() if a.startswith("project.")][-6:] == [
        "project.close", "project.reopen", "project.close", "project.reopen", "project.close", "project.reopen"]


def test_a_village_batch_or_group_is_removed_only_when_nothing_uses_it(world, staff, api, client):
    admin = world.actor("admin")
    now = utcnow()
    pid = world.project.id
    village = setup.create_village(admin, pid, {"name": "西村"}, now=now)
    batch = setup.create_batch(admin, pid, {"name": "第二批"}, now=now)
    empty = setup.create_group(admin, pid, {"name": "备用组", "leader": "leader_a",
                                            "members": ["member_1", "member_2"]}, now=now)
    household, _instance = factories.new_household(world, "D-001")
    with transaction():
        household.village_id, household.batch_id = village.id, batch.id
    factories.new_household(world, "D-002")
    used_group = household.work_group_id
    assert used_group is not None

    for remove, row_id, count in ((setup.delete_village, village.id, 1), (setup.delete_batch, batch.id, 1),
                                  (setup.delete_group, used_group, 2)):
        with pytest.raises(Conflict) as caught:
            remove(admin, row_id, now=now)
        assert caught.value.code == "part_in_use" and caught.value.message.params == {"households": count}
    with pytest.raises(Forbidden):
        setup.delete_batch(world.actor("supervisor"), batch.id, now=now)
    answer = api.call("DELETE", f"/api/v1/batches/{batch.id}", as_="admin")
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "part_in_use"
    _sign_in(client, "admin")
    client.post(f"/setup/village/{village.id}/delete")
    page = client.get(f"/setup/projects/{pid}").get_data(as_text=True)
    assert "仍有 1 户被征收户属于它，不能删除" in page and 'data-village="西村"' in page

    # a group whose households moved on but whose open step still names it stays too
    with transaction():
        db.session.execute(update(Household).where(Household.work_group_id == used_group)
                           .values(work_group_id=empty.id))
    with pytest.raises(Conflict) as caught:
        setup.delete_group(admin, used_group, now=now)
    assert caught.value.code == "group_has_open_steps" and caught.value.message.params == {"steps": 2}

    with transaction():
        household.village_id = household.batch_id = None
        db.session.execute(update(Household).where(Household.work_group_id == empty.id)
                           .values(work_group_id=used_group))
    chosen = setup.create_batch(admin, pid, {"name": "第三批"}, now=now)  # its appraisal firm's choice is on record
    with transaction():
        db.session.add(FirmSelection(project_id=pid, batch_id=chosen.id, method="lottery", held_on=date(2026, 11, 2),
                                     candidates=["甲评估"], chosen_firm="甲评估"))
    with pytest.raises(Conflict) as caught:
        setup.delete_batch(admin, chosen.id, now=now)
    assert caught.value.code == "batch_has_selections"
    assert client.post(f"/setup/village/{village.id}/delete").status_code == 302
    assert api.call("DELETE", f"/api/v1/batches/{batch.id}", as_="admin").status_code == 200
    left = api.call("DELETE", f"/api/v1/groups/{empty.id}", as_="admin").get_json()
    assert "备用组" not in [g["name"] for g in left["groups"]]
    db.session.expire_all()
    project = db.session.get(Project, pid)
    assert "西村" not in [v.name for v in project.villages] and "第二批" not in [b.name for b in project.batches]
    assert db.session.scalar(select(func.count()).select_from(group_members)
                             .where(group_members.c.group_id == empty.id)) == 0
    removed = db.session.scalars(select(AuditLog).where(AuditLog.action == "work_group.delete")).one()
    assert removed.before["name"] == "备用组" and sorted(removed.before["members"]) == ["member_1", "member_2"]
    assert [a for a in _actions() if a.endswith(".delete")] == ["village.delete", "batch.delete",
                                                                 "work_group.delete"]
    trail = client.get("/trail").get_data(as_text=True)
    assert "删除村、片区" in trail and "删除批次" in trail and "删除工作组" in trail and "备用组" in trail
