"""Bulk import of earlier survey and appraisal work: every cell checked and named, all or nothing, once per file."""
from __future__ import annotations

import io
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Batch, Building, BulkImport, Household, HumanTask, Person, TaskEvent, Village, \
    utcnow
from bench.imports import appraisal_rows, id_number, survey_rows, workbook
from services.excel import bulk
from tests.api_support import fast_passwords  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def run(world, data: bytes, kind: str = "survey", role: str = "surveyor", name: str = "import.xlsx"):
    from flask import current_app

    return bulk.run(world.actor(role), world.project.id, kind, data, name, now=utcnow(),
                    upload_dir=current_app.config["UPLOAD_DIR"])


def test_survey_import_of_200_households_lands_all_at_the_appraisal_step(world):
    started = time.perf_counter()
    data = workbook(survey_rows(200))
    report = run(world, data)
    assert (len(report.households), report.persons, report.buildings) == (200, 800, 400)
    assert (count(Household), count(Person), count(Building)) == (200, 800, 400)
    waiting = db.session.scalars(select(HumanTask.form_key).where(HumanTask.status == "ready")).all()
    assert set(waiting) == {"appraisal"} and len(waiting) == 200
    marked = db.session.scalars(select(TaskEvent.detail).where(TaskEvent.action == "completed")).all()
    assert len(marked) == 200 and all(d and d.get("imported") for d in marked)
    files = db.session.scalars(select(Attachment.category)).all()
    assert files == ["survey_form"] * 200
    print("200 households", time.perf_counter() - started)
