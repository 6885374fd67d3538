"""The runtime services: starting, completing, returning, claiming — and their guards."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditLog, HumanTask, ModuleRecord, Notification, ProcessInstance, TaskEvent, utcnow
from services import runtime, store, tasks
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests import factories
from tests.factories import STEP_DATA, new_household


def open_row(instance_id: int, bpmn_id: str) -> HumanTask:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))


def complete(world, instance_id: int, bpmn_id: str, role: str, data=None, now=None):
    row = open_row(instance_id, bpmn_id)
    assert row is not None, bpmn_id
    return factories.complete_open_step(world, row, data, role=role, now=now)


def test_creating_a_household_starts_its_pipeline(world):
    household, instance = new_household(world)
    row = open_row(instance.id, "survey")
    assert row.role == "surveyor" and row.form_key == "survey" and row.name == "调查建档"
    assert row.due_at is not None and row.due_at - row.created_at == timedelta(days=7)
    actions = [e.action for e in db.session.scalars(select(TaskEvent).where(TaskEvent.instance_id == instance.id))]
    assert actions == ["started", "created"]
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "household.create", AuditLog.household_id == household.id)) == 1


def test_completing_writes_the_module_history_and_audit_and_opens_the_next_step(world):
    _, instance = new_household(world)
    complete(world, instance.id, "survey", "surveyor")
    record = db.session.scalar(select(ModuleRecord).where(ModuleRecord.module == "survey"))
    assert record.version == 1 and record.data["buildings"][0]["measured_area"] == "168.50"
    assert record.updated_by_id == world.users["surveyor"].id
    done = db.session.scalar(select(HumanTask).where(HumanTask.bpmn_id == "survey"))
    assert done.status == "completed" and done.completed_by_id == world.users["surveyor"].id
    assert done.assignee_id == world.users["surveyor"].id  # completing an unclaimed step claims it
    assert open_row(instance.id, "appraisal").role == "appraiser"
    audit = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "module.survey.write" in audit and "task.complete" in audit


def test_invalid_form_data_changes_nothing(world):
    _, instance = new_household(world)
    row = open_row(instance.id, "survey")
    with pytest.raises(InvalidInput) as caught:
        runtime.complete_task(world.actor("surveyor"), row.id, {"head_name": "", "persons": []}, now=utcnow())
    assert {"head_name", "persons", "buildings", "land_nature"} <= set(caught.value.fields)
    db.session.expire_all()
    assert open_row(instance.id, "survey").id == row.id
    assert db.session.scalar(select(func.count()).select_from(ModuleRecord)) == 0


def test_roles_and_projects_guard_every_action(world):
    _, instance = new_household(world)
    row = open_row(instance.id, "survey")
    with pytest.raises(Forbidden):
        runtime.complete_task(world.actor("accountant"), row.id, STEP_DATA["survey"], now=utcnow())
    from services.context import Actor
    with pytest.raises(NotFound):
        runtime.complete_task(Actor(world.outsider), row.id, STEP_DATA["survey"], now=utcnow())
    with pytest.raises(NotFound):
        tasks.claim(Actor(world.outsider), row.id, utcnow())


def test_a_claimed_step_belongs_to_its_claimant(world):
    _, instance = new_household(world)
    row = open_row(instance.id, "survey")
    other = world.users["admin"]
    other.roles.append(world.users["surveyor"].roles[0])
    db.session.commit()
    tasks.claim(world.actor("surveyor"), row.id, utcnow())
    from services.context import Actor
    with pytest.raises(Conflict) as caught:
        tasks.claim(Actor(other), row.id, utcnow())
    assert caught.value.code == "claimed"
    with pytest.raises(Conflict):
        runtime.complete_task(Actor(other), row.id, STEP_DATA["survey"], now=utcnow())
    with pytest.raises(Conflict):
        tasks.release(Actor(other), row.id, utcnow())
    tasks.release(world.actor("surveyor"), row.id, utcnow())
    tasks.claim(Actor(other), row.id, utcnow())


def test_returning_reopens_the_target_marked_with_the_reason_for_its_last_assignee(world):
    _, instance = new_household(world)
    for bpmn_id in ("survey", "appraisal", "rights", "calculation"):
        complete(world, instance.id, bpmn_id, {"survey": "surveyor", "appraisal": "appraiser",
                                               "rights": "rights_officer", "calculation": "accountant"}[bpmn_id])
    audit_row = open_row(instance.id, "calc_audit")
    with pytest.raises(InvalidInput) as caught:
        runtime.return_task(world.actor("calc_auditor"), audit_row.id, "calculation", "  ", now=utcnow())
    assert "reason" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        runtime.return_task(world.actor("calc_auditor"), audit_row.id, "payment", "wrong", now=utcnow())
    assert "to" in caught.value.fields
    runtime.return_task(world.actor("calc_auditor"), audit_row.id, "calculation", "装修单价有误", now=utcnow())
    reopened = open_row(instance.id, "calculation")
    assert reopened.returned and reopened.return_reason == "装修单价有误"
    assert reopened.returned_from == "核算审核"
    assert reopened.assignee_id == world.users["accountant"].id
    notified = db.session.scalars(select(Notification.user_id).where(Notification.kind == "returned")).all()
    assert notified == [world.users["accountant"].id]
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.action == "returned"))
    assert event.detail == {"to": "calculation", "to_name": "核算", "reason": "装修单价有误"}
    # the case flows forward again through every later step
    complete(world, instance.id, "calculation", "accountant")
    assert open_row(instance.id, "calc_audit") is not None


def test_a_step_that_cannot_return_refuses(world):
    _, instance = new_household(world)
    row = open_row(instance.id, "survey")
    with pytest.raises(InvalidInput) as caught:
        runtime.return_task(world.actor("surveyor"), row.id, "survey", "no", now=utcnow())
    assert caught.value.fields == {"to": ["this step cannot send the case back"]}


def test_a_stale_instance_version_is_a_conflict_not_a_lost_update(world, monkeypatch):
    _, instance = new_household(world)
    row = open_row(instance.id, "survey")
    instance_id = instance.id

    def lock_without_lock(task_id, *conditions):
        loaded = db.session.get(ProcessInstance, instance_id)
        # another writer saves the instance after this one read it
        with db.engine.begin() as conn:
            conn.execute(update(ProcessInstance.__table__).where(ProcessInstance.__table__.c.id == instance_id)
                         .values(lock_version=ProcessInstance.__table__.c.lock_version + 1))
        return loaded

    monkeypatch.setattr(store, "lock_for_step", lock_without_lock)
    with pytest.raises(Conflict) as caught:
        runtime.complete_task(world.actor("surveyor"), row.id, STEP_DATA["survey"], now=utcnow())
    assert caught.value.code == "stale"
    monkeypatch.undo()
    db.session.expire_all()
    assert open_row(instance_id, "survey").status == "ready"
    assert db.session.scalar(select(func.count()).select_from(ModuleRecord)) == 0


def test_two_sessions_completing_the_same_step_give_one_conflict(world, ctx):
    _, instance = new_household(world)
    task_id = open_row(instance.id, "survey").id
    user_id = world.users["surveyor"].id
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker():
        with ctx.app_context():
            from app.models import User
            from services.context import Actor
            actor = Actor(db.session.get(User, user_id))
            barrier.wait()
            try:
                runtime.complete_task(actor, task_id, STEP_DATA["survey"], now=utcnow())
                results.append("ok")
            except Conflict:
                results.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["conflict", "ok"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.bpmn_id == "appraisal")) == 1


def test_an_engine_error_marks_the_case_and_answers_409(world, monkeypatch):
    _, instance = new_household(world)
    row = open_row(instance.id, "survey")
    from services.engine import EngineError

    def broken(*args, **kwargs):
        raise EngineError("condition refused")

    monkeypatch.setattr("SpiffWorkflow.bpmn.workflow.BpmnWorkflow.do_engine_steps", broken)
    with pytest.raises(Conflict) as caught:
        runtime.complete_task(world.actor("surveyor"), row.id, STEP_DATA["survey"], now=utcnow())
    assert caught.value.code == "engine_error"
    db.session.expire_all()
    stored = db.session.get(ProcessInstance, instance.id)
    assert stored.status == "error" and "condition refused" in stored.error_message
    assert open_row(instance.id, "survey").status == "ready"
