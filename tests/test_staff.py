"""Staff administration: services, pages, API and command line; disabled users, temporary passwords, the last
administrator, the first administrator on an empty database, the all-or-nothing staff list import."""
from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditLog, Project, User, WorkGroup, utcnow
from services import staff
from services.context import Actor
from services.errors import Conflict, Forbidden, InvalidInput
from services.excel import staff as staff_list
from tests import factories
from tests.api_support import assert_error, fast_passwords  # noqa: F401

TEMP = "Temp-pass-4821"
NEW = "Own-choice-7319"


@pytest.fixture()
def groups(world: factories.World) -> dict[str, WorkGroup]:
    """Work groups made directly: one per project plus a name two projects share."""
    extra = WorkGroup(project_id=world.project.id, name="协调组")
    same = WorkGroup(project_id=world.other_project.id, name="协调组")
    db.session.add_all([extra, same])
    db.session.commit()
    first = db.session.scalar(select(WorkGroup).where(WorkGroup.name == "第一工作组"))
    return {"first": first, "extra": extra, "same": same}


def _admin(world: factories.World) -> Actor:
    return world.actor("admin")


def _sign_in(client, username: str, password: str = factories.PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def _actions(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# --- services -----------------------------------------------------------------------------------------------------

def test_create_edit_disable_enable_are_audited(world, groups, fast_passwords):  # noqa: F811
    admin = _admin(world)
    user = staff.create(admin, {"username": "li.ming", "display_name": "李明", "email": "li@example.gov.cn",
                                "roles": ["surveyor", "handler"], "group_ids": [groups["first"].id],
                                "password": TEMP}, now=utcnow())
    assert user.must_change_password and user.active and user.role_codes == {"surveyor", "handler"}
    created = _actions("staff.create")[-1]
    assert created.target_id == str(user.id)
    assert created.after["groups"] == ["北区三村 · 第一工作组"] and created.after["roles"] == ["handler", "surveyor"]

    staff.update(admin, user.id, {"display_name": "李明明", "roles": ["surveyor"],
                                  "group_ids": [groups["first"].id, groups["same"].id]}, now=utcnow())
    change = _actions("staff.update")[-1]
    assert change.before == {"display_name": "李明", "roles": ["handler", "surveyor"],
                             "groups": ["北区三村 · 第一工作组"]}
    assert change.after["groups"] == ["北区三村 · 第一工作组", "滨江路 · 协调组"]

    staff.set_active(admin, user.id, False, now=utcnow())
    assert not db.session.get(User, user.id).active
    staff.set_active(admin, user.id, True, now=utcnow())
    assert [r.action for r in _actions("staff.disable") + _actions("staff.enable")] == ["staff.disable",
                                                                                         "staff.enable"]


def test_create_refuses_taken_usernames_weak_passwords_and_unknown_groups(world, fast_passwords):  # noqa: F811
    admin = _admin(world)
    base = {"display_name": "王芳", "roles": ["surveyor"], "password": TEMP}
    with pytest.raises(InvalidInput) as taken:
        staff.create(admin, {**base, "username": "Surveyor"}, now=utcnow())  # any case
    assert taken.value.fields["username"][0].code == "username_taken"
    with pytest.raises(InvalidInput) as weak:
        staff.create(admin, {**base, "username": "wangfang", "password": "short"}, now=utcnow())
    assert {p.code for p in weak.value.fields["password"]} >= {"password_short"}
    with pytest.raises(InvalidInput) as group:
        staff.create(admin, {**base, "username": "wangfang", "group_ids": [999999]}, now=utcnow())
    assert group.value.fields["group_ids"][0].code == "group_unknown"
    with pytest.raises(InvalidInput) as shape:
        staff.create(admin, {**base, "username": "王 芳", "roles": ["king"]}, now=utcnow())
    assert set(shape.value.fields) == {"username", "roles.0"}


def test_only_admins_administer_staff(world):
    with pytest.raises(Forbidden):
        staff.list_staff(world.actor("supervisor"))
    with pytest.raises(Forbidden):
        staff.set_active(world.actor("supervisor"), world.users["surveyor"].id, False, now=utcnow())


def test_an_admin_cannot_disable_themself_nor_the_last_admin(world, fast_passwords):  # noqa: F811
    admin = _admin(world)
    with pytest.raises(Conflict) as own:
        staff.set_active(admin, admin.id, False, now=utcnow())
    assert own.value.code == "cannot_disable_self"
    with pytest.raises(Conflict) as last:  # the system (command line) is not the admin, still refused
        staff.set_active(Actor.system(), admin.id, False, now=utcnow())
    assert last.value.code == "last_admin"
    with pytest.raises(Conflict) as role:
        staff.update(admin, admin.id, {"roles": ["supervisor"]}, now=utcnow())
    assert role.value.code == "last_admin"
    second = staff.create(admin, {"username": "admin2", "display_name": "第二管理员", "roles": ["admin"],
                                  "password": TEMP}, now=utcnow())
    staff.set_active(Actor(db.session.get(User, second.id)), admin.id, False, now=utcnow())  # now there is one
    assert not db.session.get(User, admin.id).active


# --- sign-in, tokens, the forced change ---------------------------------------------------------------------------

def test_disabled_user_cannot_sign_in_and_their_token_is_refused(world, client, api):
    token = api.token("surveyor")
    assert api.get("/api/v1/me", as_="surveyor").status_code == 200
    staff.set_active(_admin(world), world.users["surveyor"].id, False, now=utcnow())
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401)
    assert response.get_json()["error"]["message"] == "account disabled"
    assert _sign_in(client, "surveyor").status_code == 401
    assert_error(client.post("/api/v1/auth/token", json={"username": "surveyor", "password": factories.PASSWORD}),
                 401)
    staff.set_active(_admin(world), world.users["surveyor"].id, True, now=utcnow())
    assert _sign_in(client, "surveyor").status_code == 302


def test_sign_in_and_token_exchange_record_the_last_sign_in(world, client):
    assert db.session.get(User, world.users["handler"].id).last_login_at is None
    _sign_in(client, "handler")
    db.session.expire_all()
    first = db.session.get(User, world.users["handler"].id).last_login_at
    assert first is not None
    assert client.post("/api/v1/auth/token", json={"username": "handler", "password": factories.PASSWORD}
                       ).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, world.users["handler"].id).last_login_at >= first


def test_reset_password_forces_a_change_on_pages_and_api(world, client, api):
    token = api.token("handler")
    user_id = world.users["handler"].id
    staff.reset_password(_admin(world), user_id, {"password": TEMP}, now=utcnow())
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)  # revoked
    refused = client.post("/api/v1/auth/token", json={"username": "handler", "password": TEMP})
    assert_error(refused, 403, "password_change_required")
    assert _actions("auth.token.password_change")
    assert _actions("staff.password_reset")[-1].after["tokens_revoked"] == 1

    assert _sign_in(client, "handler", TEMP).status_code == 302
    inbox = client.get("/inbox")
    assert inbox.status_code == 302 and inbox.headers["Location"].endswith("/account/password")
    page = client.get("/account/password")
    assert "系统管理员为您设置了临时密码" in page.get_data(as_text=True)
    changed = client.post("/account/password", data={"current_password": TEMP, "new_password": NEW,
                                                     "confirm": NEW})
    assert changed.status_code == 302 and "/account/password" not in changed.headers["Location"]
    assert client.get("/inbox").status_code == 200
    assert client.post("/api/v1/auth/token", json={"username": "handler", "password": NEW}).status_code == 200


def test_a_reset_password_must_meet_the_policy_and_not_be_ones_own(world):
    with pytest.raises(InvalidInput) as weak:
        staff.reset_password(_admin(world), world.users["handler"].id, {"password": "handler12345"}, now=utcnow())
    assert weak.value.fields["password"][0].code == "password_username"
    with pytest.raises(Conflict):
        staff.reset_password(_admin(world), world.users["admin"].id, {"password": TEMP}, now=utcnow())


# --- pages ---------------------------------------------------------------------------------------------------------

def test_pages_list_create_keep_input_and_reset(world, groups, client, fast_passwords):  # noqa: F811
    _sign_in(client, "admin")
    listing = client.get("/staff?role=handler").get_data(as_text=True)
    assert "经办人" in listing and "从未登录" in listing and "北区三村 · 第一工作组" in listing
    assert "handler" in listing and "surveyor user" not in listing
    assert "人员与角色" in client.get("/admin").get_data(as_text=True)
    bad = client.post("/staff/new", data={"username": "zhao", "display_name": "赵六", "email": "not-an-address",
                                          "roles": ["surveyor", "archivist"], "group_ids": [str(groups["extra"].id)],
                                          "password": TEMP})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'value="zhao"' in text and 'value="赵六"' in text and 'value="not-an-address"' in text
    assert re.search(r'value="archivist" checked', text) and re.search(rf'value="{groups["extra"].id}" checked', text)
    good = client.post("/staff/new", data={"username": "zhao", "display_name": "赵六", "roles": ["surveyor"],
                                           "group_ids": [str(groups["extra"].id)], "password": TEMP})
    assert good.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "zhao"))
    weak = client.post(f"/staff/{user.id}/password", data={"password": "abc"})
    assert weak.status_code == 422 and 'value="abc"' in weak.get_data(as_text=True)
    assert client.post(f"/staff/{user.id}/disable").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).active
    own = client.post(f"/staff/{world.users['admin'].id}/disable", follow_redirects=True)
    assert "不能停用自己的账号" in own.get_data(as_text=True)
    trail = client.get("/trail").get_data(as_text=True)
    assert "新建人员账号" in trail and "停用人员账号" in trail and ">staff." not in trail


def test_staff_pages_are_for_admins_only(world, client):
    _sign_in(client, "supervisor")
    assert client.get("/staff").status_code == 403


# --- API -----------------------------------------------------------------------------------------------------------

def test_api_creates_lists_updates_and_resets(world, groups, api, fast_passwords):  # noqa: F811
    created = api.post("/api/v1/staff", as_="admin", json={
        "username": "qian", "display_name": "钱七", "roles": ["finance"], "group_ids": [groups["first"].id],
        "password": TEMP})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["roles"] == ["finance"] and body["must_change_password"] and "password" not in body
    assert body["groups"] == [{"id": groups["first"].id, "name": "第一工作组", "project_id": world.project.id,
                               "project_name": "北区三村"}]
    staff_id = body["id"]
    assert_error(api.post("/api/v1/staff", as_="admin", json={"username": "qian", "display_name": "x",
                                                              "password": TEMP}), 422, fields={"username"})
    listed = api.get("/api/v1/staff?role=finance", as_="admin").get_json()["items"]
    assert {u["username"] for u in listed} == {"finance", "qian"}
    changed = api.call("PATCH", f"/api/v1/staff/{staff_id}", as_="admin", json={"email": "qian@example.gov.cn"})
    assert changed.get_json()["email"] == "qian@example.gov.cn" and changed.get_json()["roles"] == ["finance"]
    assert api.post(f"/api/v1/staff/{staff_id}/disable", as_="admin").get_json()["active"] is False
    assert api.post(f"/api/v1/staff/{staff_id}/enable", as_="admin").get_json()["active"] is True
    assert_error(api.post(f"/api/v1/staff/{staff_id}/reset-password", as_="admin", json={"password": "x"}), 422,
                 fields={"password"})
    assert api.post(f"/api/v1/staff/{staff_id}/reset-password", as_="admin",
                    json={"password": TEMP + "x"}).status_code == 200
    admin_id = world.users["admin"].id
    assert_error(api.post(f"/api/v1/staff/{admin_id}/disable", as_="admin"), 409, "cannot_disable_self")
    assert_error(api.call("PATCH", f"/api/v1/staff/{admin_id}", as_="admin", json={"roles": []}), 409,
                 "last_admin")
    assert_error(api.get("/api/v1/staff", as_="supervisor"), 403)
    assert_error(api.get("/api/v1/staff/999999", as_="admin"), 404)


# --- command line --------------------------------------------------------------------------------------------------

def test_create_admin_only_on_an_empty_database(ctx: Flask, fast_passwords):  # noqa: F811
    runner = ctx.test_cli_runner()
    weak = runner.invoke(args=["create-admin", "--username", "boss", "--display-name", "主任"],
                         input="short\nshort\n")
    assert weak.exit_code == 1 and "password" in weak.output
    first = runner.invoke(args=["create-admin", "--username", "boss", "--display-name", "主任"],
                          input=f"{NEW}\n{NEW}\n")
    assert first.exit_code == 0, first.output
    boss = db.session.scalar(select(User).where(User.username == "boss"))
    assert boss.role_codes == {"admin"} and not boss.must_change_password
    again = runner.invoke(args=["create-admin", "--username", "boss2", "--display-name", "副主任"],
                          input=f"{NEW}\n{NEW}\n")
    assert again.exit_code == 1 and "already has users" in again.output
    assert db.session.scalar(select(User).where(User.username == "boss2")) is None


def test_staff_commands_disable_enable_and_reset(ctx: Flask, world):
    runner = ctx.test_cli_runner()
    assert runner.invoke(args=["staff", "disable", "archivist"]).exit_code == 0
    db.session.expire_all()
    assert not world.users["archivist"].active
    assert runner.invoke(args=["staff", "enable", "archivist"]).exit_code == 0
    reset = runner.invoke(args=["staff", "reset-password", "archivist"], input=f"{TEMP}\n{TEMP}\n")
    assert reset.exit_code == 0, reset.output
    db.session.expire_all()
    assert world.users["archivist"].must_change_password
    last = runner.invoke(args=["staff", "disable", "admin"])
    assert last.exit_code == 1 and "administrator" in last.output
    assert runner.invoke(args=["staff", "disable", "nobody"]).exit_code == 1


# --- the .xlsx import ----------------------------------------------------------------------------------------------

HEADER = ("用户名", "姓名", "邮箱", "角色", "工作组")


def _workbook(rows: list[list[object]], header: tuple[str, ...] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = staff_list.SHEET
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_is_all_or_nothing_and_names_each_bad_cell(world, groups, client, fast_passwords):  # noqa: F811
    _sign_in(client, "admin")
    bad = _workbook([
        ["sun", "孙八", "", "调查员、经办人", "北区三村 · 第一工作组"],
        ["sun", "孙九", "bad-address", "国王", "协调组"],
        ["surveyor", "", "", "", "不存在组"],
    ])
    count = db.session.query(User).count()
    response = client.post("/staff/import", data={"file": (io.BytesIO(bad), "staff.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    cells = re.findall(r'<tr data-row="(\d+)"><td class="nowrap">([^<]+)</td><td class="nowrap">\d+</td>'
                       r'<td class="nowrap">([^<]+)</td>', text)
    assert {(row, column) for row, sheet, column in cells} == {
        ("3", "用户名"), ("3", "邮箱"), ("3", "角色"), ("3", "工作组"),
        ("4", "用户名"), ("4", "姓名"), ("4", "角色"), ("4", "工作组")}
    assert {sheet for _, sheet, _ in cells} == {"人员名单"}
    assert "与第 2 行重复" in text and "没有这个角色：国王" in text and "多个项目都有工作组" in text
    db.session.expire_all()
    assert db.session.query(User).count() == count  # nobody, not even the good first row

    good = _workbook([["sun", "孙八", "sun@example.gov.cn", "调查员、经办人", "北区三村 · 第一工作组、滨江路 · 协调组"],
                      ["zhou", "周九", None, "财务", None]])
    done = client.post("/staff/import", data={"file": (io.BytesIO(good), "staff.xlsx")},
                       content_type="multipart/form-data")
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    passwords = dict(re.findall(r'<tr data-username="(\w+)"><td translate="no">\w+</td><td>[^<]+</td>'
                                r'<td class="secret">([^<]+)</td>', page))
    assert set(passwords) == {"sun", "zhou"} and passwords["sun"] != passwords["zhou"]
    assert 'href="data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,' in page
    sun = db.session.scalar(select(User).where(User.username == "sun"))
    assert sun.must_change_password and sun.role_codes == {"surveyor", "handler"}
    assert sorted(g.name for g in sun.groups) == ["协调组", "第一工作组"]
    assert _actions("staff.import")[-1].after["created"] == 2
    assert not db.session.scalar(select(ApiToken).where(ApiToken.user_id == sun.id))
    client.post("/logout")
    assert _sign_in(client, "sun", passwords["sun"]).status_code == 302
    assert client.get("/inbox").headers["Location"].endswith("/account/password")


def test_import_refuses_a_missing_column_and_the_template_reads_back(world, groups, client):
    _sign_in(client, "admin")
    missing = client.post("/staff/import", data={"file": (io.BytesIO(_workbook([["a", "b"]], ("用户名", "姓名"))),
                                                          "s.xlsx")}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "角色" in missing.get_data(as_text=True)
    template = client.get("/staff/import-template.xlsx")
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.data))
    sheet = book[staff_list.SHEET]
    assert [c.value for c in sheet[1]] == ["用户名", "姓名", "邮箱", "角色", "工作组"]
    assert sheet["A2"].value == "zhangsan" and sheet["D2"].value == "调查员、经办人"
    assert any("调查员" in (v.formula1 or "") for v in sheet.data_validations.dataValidation)
    # the example row as it stands is a valid list (once its username is free)
    rows, problems = staff_list.check(staff_list.reader.read_table(template.data, sheet_title=staff_list.SHEET,
                                                                   max_rows=10))
    assert not problems and rows[0]["roles"] == ["surveyor", "handler"]


def test_import_needs_a_workbook(world, client):
    _sign_in(client, "admin")
    response = client.post("/staff/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要上传的人员名单文件" in response.get_data(as_text=True)
    assert db.session.scalar(select(Project).where(Project.code == "P1")) is not None
