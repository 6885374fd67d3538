"""The roster's village (村/片区), batch and work group columns: named by the project's names, offered as
dropdowns, every cell checked; the households and their open steps land where the rows say."""
from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Batch, Household, HumanTask, Village
from tests.api_support import fast_passwords  # noqa: F401
from tests.test_excel import TEMPLATE_HEADERS, Pages, cells, households_in, roster_error, upload, workbook_bytes

pytestmark = pytest.mark.usefixtures("fast_passwords")


def row(code: str, village: str | None = None, batch: str | None = None, group: str | None = None,
        section: str | None = None) -> list[Any]:
    """A roster line in the template's column order."""
    return [code, "企业", section, f"{code}号", f"户主{code}", None, None, village, batch, group, None]


@pytest.fixture()
def parts(world) -> dict[str, int]:
    """A village and a batch of the project, and its second work group, by what they are."""
    made = {"village": Village(project_id=world.project.id, name="北区三村"),
            "batch": Batch(project_id=world.project.id, name="第一批")}
    db.session.add_all(made.values())
    db.session.commit()
    return {**{key: item.id for key, item in made.items()}, "group": world.second_group.id}


def test_households_land_in_the_named_village_batch_and_group_with_their_open_steps(world, api, parts):
    rows = [row("V-1", "北区三村", "第一批", "第二工作组"), row("V-2", " 北区三村 ", section="二片区"), row("V-3")]
    data = workbook_bytes(rows, TEMPLATE_HEADERS)
    assert upload(api, world.project.id, data).get_json() == {"created": 3}
    db.session.rollback()
    landed = {h.code: (h.village_id, h.batch_id, h.work_group_id, h.section) for h in db.session.scalars(
        select(Household).where(Household.project_id == world.project.id))}
    assert landed == {"V-1": (parts["village"], parts["batch"], parts["group"], "北区三村"),
                      "V-2": (parts["village"], None, world.group.id, "二片区"),
                      "V-3": (None, None, world.group.id, None)}
    steps = {(h.code, t.work_group_id) for t, h in db.session.execute(
        select(HumanTask, Household).join(Household, HumanTask.household_id == Household.id)
        .where(Household.project_id == world.project.id, HumanTask.status == "ready"))}
    assert steps == {("V-1", parts["group"]), ("V-2", world.group.id), ("V-3", world.group.id)}
    # the same rows again: refused as before, every code named, nothing added
    assert cells(roster_error(upload(api, world.project.id, data))) == {(2, "code"), (3, "code"), (4, "code")}
    assert households_in(world.project.id) == 3


def test_an_unknown_name_is_refused_naming_its_row_and_column(app, world, api, parts):
    rows = [row("U-1"), row("U-2", group="第九工作组"), row("U-3", village="南区"), row("U-4", batch="第九批")]
    error = roster_error(upload(api, world.project.id, workbook_bytes(rows, TEMPLATE_HEADERS)))
    assert cells(error) == {(3, "work_group"), (4, "village"), (5, "batch")}
    assert households_in(world.project.id) == 0
    page = Pages(app, "surveyor").send(f"/projects/{world.project.id}/import", workbook_bytes(rows, TEMPLATE_HEADERS))
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and body.count("data-row=") == 3 and 'data-row="3"' in body
    assert all(words in body for words in ("工作组", "村/片区", "批次", "该工作组不属于本项目", "不是本项目的批次"))
    assert households_in(world.project.id) == 0


def test_the_template_offers_the_projects_villages_batches_and_groups(world, api, parts):
    response = api.get(f"/api/v1/projects/{world.project.id}/households/import-template.xlsx", as_="surveyor")
    workbook = load_workbook(io.BytesIO(response.data))
    sheet, choices = workbook["花名册"], workbook["选项"]
    assert [c.value for c in sheet[1]] == TEMPLATE_HEADERS and choices.sheet_state == "hidden"
    offered = {}
    for rule in sheet.data_validations.dataValidation:
        column = sheet[str(rule.sqref).split(":")[0]].column
        if rule.formula1.startswith("'选项'!"):
            area = rule.formula1.split("!")[1].replace("$", "")
            offered[sheet.cell(row=1, column=column).value] = [c.value for r in choices[area] for c in r]
        assert rule.type == "list" and rule.showErrorMessage and str(rule.sqref).endswith(":" + str(
            sheet.cell(row=1, column=column).column_letter) + "1001")
    assert offered == {"村/片区": ["北区三村"], "批次": ["第一批"], "工作组": ["第一工作组", "第二工作组"]}
    instructions = " ".join(str(c.value) for r in workbook["填写说明"].iter_rows() for c in r if c.value)
    assert "北区三村" in instructions and "第一批" in instructions and "第二工作组" in instructions
