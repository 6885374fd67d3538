"""Whose households: group-bound roles reach their work groups' households, project-wide roles the project's;
the four signers are bound to the household; state land signs with three; a household moves between groups."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Household, HumanTask, Project, Village, utcnow
from services import access, files, households, reassignment, runtime, tasks
from services.agreements.render import render
from services.context import Actor
from services.errors import Forbidden, InvalidInput, NotFound
from services.tx import transaction
from tests import factories
from tests.test_agreements import text_of_docx

SIGNERS = ("sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer")
GROUP2_ROLES = ["surveyor", "handler", "group_leader"]


def open_row(instance_id: int, bpmn_id: str) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))


def open_ids(instance_id: int) -> set[str]:
    return set(db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                                  HumanTask.status == "ready")))


def to_signing(world: factories.World, instance_id: int) -> None:
    """Complete the steps before the signatures, each as its role of group 1."""
    while not open_ids(instance_id) & set(SIGNERS):
        rows = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.status == "ready")))
        assert rows, "the case stopped before signing"
        factories.complete_open_step(world, rows[0])


def sign(world: factories.World, instance_id: int, bpmn_id: str, user=None) -> None:
    row = open_row(instance_id, bpmn_id)
    role = factories.ROLE_OF_STEP[bpmn_id]
    runtime.complete_task(Actor(user or world.users[role]), row.id, factories.STEP_DATA[bpmn_id], now=utcnow())


def test_a_user_of_group_2_does_not_reach_group_1_households(world):
    stranger = world.add_to_second_group("group2", GROUP2_ROLES, leads=True)
    household, instance = factories.new_household(world, "G1-001")
    assert household.work_group_id == world.group.id
    row = open_row(instance.id, "survey")
    assert row.work_group_id == world.group.id
    actor = Actor(stranger)
    with pytest.raises(NotFound):
        access.get_household(stranger, household.id)
    with pytest.raises(NotFound):
        tasks.get_task(stranger, row.id)
    with pytest.raises(NotFound):
        runtime.complete_task(actor, row.id, factories.STEP_DATA["survey"], now=utcnow())
    with pytest.raises(NotFound):
        tasks.claim(actor, row.id, utcnow())
    with pytest.raises(NotFound):
        files.list_for(actor, household.id)
    found, total = households.search(actor, households.CaseQuery())
    assert total == 0 and not found
    rows, total = tasks.list_tasks(stranger, tasks.TaskQuery(), utcnow())
    assert total == 0 and not rows
    # their own group's household is theirs
    own, own_instance = households.create(actor, world.project.id, {
        "code": "G2-001", "kind": "collective_house", "address": "北区三村2组1号", "head_name": "李四",
        "work_group_id": world.second_group.id}, now=utcnow())
    assert access.get_household(stranger, own.id).id == own.id
    assert [r.household_id for r in tasks.list_tasks(stranger, tasks.TaskQuery(), utcnow())[0]] == [own.id]
    # and group 1's people do not reach it
    with pytest.raises(NotFound):
        access.get_household(world.users["surveyor"], own.id)


def test_project_wide_roles_see_both_groups(world):
    world.add_to_second_group("group2", GROUP2_ROLES, leads=True)
    first, _ = factories.new_household(world, "G1-001")
    with transaction():
        second = Household(project_id=world.project.id, work_group_id=world.second_group.id, code="G2-001",
                           kind="collective_house", address="北区三村2组1号", head_name="李四")
        loose = Household(project_id=world.project.id, work_group_id=None, code="G0-001",
                          kind="collective_house", address="北区三村3组1号", head_name="王五")
        db.session.add_all([second, loose])
    for role in ("calc_auditor", "policy_reviewer", "reviewer", "finance", "archivist", "village_cadre",
                 "supervisor", "admin"):
        user = world.users[role]
        seen = {h.code for h, _i in households.search(Actor(user), households.CaseQuery())[0]}
        assert {"G1-001", "G2-001", "G0-001"} <= seen, role
    surveyor = world.users["surveyor"]
    assert {h.code for h, _i in households.search(Actor(surveyor), households.CaseQuery())[0]} == {"G1-001"}
    with pytest.raises(NotFound):  # a household with no group: project-wide roles only
        access.get_household(surveyor, loose.id)
    assert access.get_household(world.users["reviewer"], first.id).id == first.id


def test_a_user_of_both_kinds_acts_on_a_step_by_its_role_scope(world):
    """A calc_auditor (project-wide) who is also a surveyor (group-bound) of group 2 sees group 1's case but
    does not survey it."""
    both = world.add_to_second_group("both", ["surveyor", "calc_auditor"])
    household, instance = factories.new_household(world, "G1-001")
    row = open_row(instance.id, "survey")
    assert access.get_household(both, household.id).id == household.id
    assert tasks.get_task(both, row.id).id == row.id
    with pytest.raises(Forbidden) as refused:
        runtime.complete_task(Actor(both), row.id, factories.STEP_DATA["survey"], now=utcnow())
    assert refused.value.message.code == "task_other_group"
    assert tasks.list_tasks(both, tasks.TaskQuery(), utcnow())[1] == 0


def test_only_the_groups_leader_signs_for_it(world):
    member = world.add_to_second_group("leader2", ["group_leader"], leads=True)
    with transaction():  # a group leader who is a member of group 1 without leading it
        from services import identity

        deputy = identity.create_user("deputy", factories.PASSWORD, "副组长", ["group_leader", "handler"])
        db.session.get(type(world.group), world.group.id).members.append(deputy)
    household, instance = factories.new_household(world, "S-001")
    to_signing(world, instance.id)
    row = open_row(instance.id, "sign_group_leader")
    with pytest.raises(Forbidden) as refused:
        sign(world, instance.id, "sign_group_leader", deputy)
    assert refused.value.message.code == "signer_not_leader"
    with pytest.raises(NotFound):  # the other group's leader does not even see it
        sign(world, instance.id, "sign_group_leader", member)
    ids = {r.id for r in tasks.list_tasks(deputy, tasks.TaskQuery(), utcnow())[0]}
    assert row.id not in ids and open_row(instance.id, "sign_handler").id in ids  # the deputy hands, not leads
    leader_ids = {r.id for r in tasks.list_tasks(world.users["group_leader"], tasks.TaskQuery(), utcnow())[0]}
    assert row.id in leader_ids
    pool = reassignment.pools([row])[row.id]
    assert [c.id for c in reassignment.candidates({pool})[pool]] == [world.users["group_leader"].id]
    sign(world, instance.id, "sign_group_leader")
    assert open_row(instance.id, "sign_group_leader") is None


def test_the_villages_cadre_signs_when_it_has_one(world):
    with transaction():
        from services import identity

        other_cadre = identity.create_user("cadre2", factories.PASSWORD, "另一村委", ["village_cadre"])
        db.session.get(type(world.group), world.group.id).members.append(other_cadre)
        village = Village(project_id=world.project.id, name="北区三村", cadre_id=world.users["village_cadre"].id)
        db.session.add(village)
    household, instance = factories.new_household(world, "V-001")
    with transaction():
        db.session.get(Household, household.id).village_id = village.id
    to_signing(world, instance.id)
    with pytest.raises(Forbidden) as refused:
        sign(world, instance.id, "sign_village_cadre", other_cadre)
    assert refused.value.message.code == "signer_not_cadre"
    row = open_row(instance.id, "sign_village_cadre")
    assert row.id not in {r.id for r in tasks.list_tasks(other_cadre, tasks.TaskQuery(), utcnow())[0]}
    sign(world, instance.id, "sign_village_cadre")


def test_state_land_signs_with_three_and_prints_three_lines(world):
    household, instance = factories.new_household(world, "ST-001", kind="state_house")
    to_signing(world, instance.id)
    assert open_ids(instance.id) == {"sign_handler", "sign_group_leader", "sign_reviewer"}
    for bpmn_id in ("sign_handler", "sign_group_leader", "sign_reviewer"):
        sign(world, instance.id, bpmn_id)
    assert not open_ids(instance.id) & set(SIGNERS)
    text = text_of_docx(render(household.id))
    assert "村干部" not in text
    assert "本协议经甲方工作组负责人、经办人、审核人员签字" in text
    for title in ("工作组负责人", "经办人", "审核人员"):
        assert f"{title} | " in text


def test_a_state_project_signs_without_a_cadre_and_a_signer_can_still_return(world):
    with transaction():
        db.session.get(Project, world.project.id).kind = "state"
    household, instance = factories.new_household(world, "ST-002", kind="collective_house")
    to_signing(world, instance.id)
    assert "sign_village_cadre" not in open_ids(instance.id)
    row = open_row(instance.id, "sign_reviewer")
    runtime.return_task(world.actor("reviewer"), row.id, "agreement_draft", "金额有误", now=utcnow())
    assert open_ids(instance.id) == {"agreement_draft"}
    to_signing(world, instance.id)
    assert open_ids(instance.id) == {"sign_handler", "sign_group_leader", "sign_reviewer"}


def test_collective_land_keeps_four_signers(world):
    _household, instance = factories.new_household(world, "C-001")
    to_signing(world, instance.id)
    assert open_ids(instance.id) == set(SIGNERS)


def test_moving_a_household_takes_its_steps_along(world):
    newcomer = world.add_to_second_group("group2", GROUP2_ROLES, leads=True)
    household, instance = factories.new_household(world, "M-001")
    row = open_row(instance.id, "survey")
    with pytest.raises(Forbidden):
        households.move(world.actor("group_leader"), household.id, {"work_group_id": world.second_group.id},
                        now=utcnow())
    with pytest.raises(InvalidInput) as wrong:
        other_group = world.outsider.groups[0]
        households.move(world.actor("admin"), household.id, {"work_group_id": other_group.id}, now=utcnow())
    assert set(wrong.value.fields) == {"work_group_id"}
    households.move(world.actor("supervisor"), household.id, {"work_group_id": world.second_group.id},
                    now=utcnow())
    db.session.expire_all()
    assert db.session.get(HumanTask, row.id).work_group_id == world.second_group.id
    assert db.session.get(Household, household.id).work_group_id == world.second_group.id
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "household.move", AuditLog.household_id == household.id)) == 1
    with pytest.raises(NotFound):  # the old group loses it
        tasks.get_task(world.users["surveyor"], row.id)
    with pytest.raises(NotFound):
        access.get_household(world.users["surveyor"], household.id)
    assert row.id in {r.id for r in tasks.list_tasks(newcomer, tasks.TaskQuery(), utcnow())[0]}
    runtime.complete_task(Actor(newcomer), row.id, factories.STEP_DATA["survey"], now=utcnow())
    assert open_row(instance.id, "appraisal").work_group_id == world.second_group.id


def test_moving_through_the_api(world, api):
    household, _instance = factories.new_household(world, "M-002")
    url = f"/api/v1/households/{household.id}/move"
    assert api.post(url, json={"work_group_id": world.second_group.id}, as_="surveyor").status_code == 403
    wrong = api.post(url, json={"work_group_id": world.outsider.groups[0].id}, as_="admin")
    assert wrong.status_code == 422 and "work_group_id" in wrong.get_json()["error"]["fields"]
    moved = api.post(url, json={"work_group_id": world.second_group.id}, as_="admin")
    assert moved.status_code == 200 and moved.get_json()["work_group_id"] == world.second_group.id
    assert api.get(f"/api/v1/households/{household.id}", as_="surveyor").status_code == 404
