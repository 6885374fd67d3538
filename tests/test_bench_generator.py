"""The bench's generator on a handful of cases: copies of the template cases are real cases (their steps can
be completed), the audit chain stays valid, and the worker pass over them writes the notices it predicts."""
from __future__ import annotations

import random
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Household, HumanTask, Notification, ProcessInstance, User, utcnow
from bench import generate, people, templates, workers
from bench.settings import Settings
from services import audit, definitions, escalation, runtime
from services.context import Actor
from services.tx import transaction

CASES = 12


def _complete_one_of_each_step(app: Flask, office: people.Office, template_ids: set[int]) -> list[str]:
    """Complete one open step of each kind among the generated cases, as the bench's own choice of person
    for it (the assignee, else the first of the role who reaches the household) would."""
    rng, done = random.Random(7), []
    open_steps = db.session.execute(select(HumanTask.id, HumanTask.bpmn_id).where(
        HumanTask.status == "ready", HumanTask.household_id.not_in(template_ids)).order_by(HumanTask.id)).all()
    for task_id, bpmn_id in open_steps:
        if bpmn_id in done:
            continue
        with app.test_request_context():
            row = db.session.get(HumanTask, task_id)
            user = db.session.get(User, row.assignee_id or office.acting(row.project_id, row.role, row.work_group_id))
            household = db.session.get(Household, row.household_id)
            templates._scan(user, household, bpmn_id, utcnow())
            data = templates._data(rng, templates.PLANS[0], row, household, household.head_name, utcnow())
            runtime.complete_task(Actor(user), row.id, data, now=utcnow())
            done.append(bpmn_id)
        db.session.remove()
    return done


def test_generated_cases_are_real_cases_with_a_valid_audit_chain(ctx, database_url, tmp_path):
    settings = Settings.small(cases=CASES, projects=2, url=database_url, overdue_share=0.5)
    ctx.config["UPLOAD_DIR"] = str(tmp_path)
    with transaction():  # as the bench's `flask bpmn load` does
        definitions.load_shipped(definitions.SHIPPED_DIR, Actor.system(), utcnow())
    office = people.build(settings)
    templated = templates.run(ctx, office, seed=3)
    now = utcnow()
    generated = generate.generate(settings, office, templated, now)

    assert generated.cases == CASES and generated.rows["households"] == CASES
    assert db.session.scalar(select(func.count()).select_from(Household)) == CASES + len(templated.households)
    states = {s.rows["process_instances"][0]["state"] for s in templated.snapshots}
    copied = set(db.session.scalars(select(ProcessInstance.state)
                                    .where(ProcessInstance.household_id.not_in(templated.households))))
    assert copied and copied <= states  # the stored state is the engine's own, copied
    open_steps = db.session.scalar(select(func.count()).where(
        HumanTask.status == "ready", HumanTask.household_id.not_in(templated.households)))
    assert open_steps == generated.open_steps and all(db.session.scalars(
        select(HumanTask.due_at).where(HumanTask.status == "ready")))
    count, broken = audit.verify()
    assert broken is None and count > CASES

    # the worker pass writes, once, what the generator and the bench's own count from the tables predict
    held, expected = workers.expected_notices(now)
    assert held and len(held) == generated.overdue_steps and expected == generated.expected_notices
    db.session.execute(update(HumanTask).where(*workers.HELD).values(next_escalation_at=HumanTask.due_at))
    db.session.commit()
    before = db.session.scalar(select(func.max(Notification.id)))
    written = escalation.run(now + timedelta(seconds=1))
    assert written >= expected
    assert db.session.scalar(select(func.count()).where(
        Notification.id > before, Notification.task_id.in_(held),
        Notification.kind.in_(("overdue", "escalated")))) == expected
    assert escalation.run(now + timedelta(seconds=2)) == 0

    done = _complete_one_of_each_step(ctx, office, set(templated.households))
    assert len(done) >= 3, done
    assert audit.verify()[1] is None
