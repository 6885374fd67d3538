"""Bulk import of earlier survey and appraisal work: every cell checked and named, all or nothing, once per file."""
from __future__ import annotations

import io
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Batch, Building, BulkImport, Household, HumanTask, Person, TaskEvent, Village, utcnow
from bench.imports import appraisal_rows, id_number, survey_rows, workbook
from services.errors import Forbidden
from services.excel import bulk
from services.excel.bulkspec import APPRAISALS
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
    assert run(world, data).already and count(Household) == 200  # the same file again changes nothing
    assert count(BulkImport) == 1


def test_a_broken_workbook_is_refused_naming_sheet_row_and_column_and_writes_nothing(world):
    sheets = survey_rows(30)
    sheets["家庭成员"][56][2] = "110105194912310021"  # row 57: a wrong check digit
    sheets["房屋"][4][4] = "茅草"  # row 5: no such structure
    sheets["家庭成员"].append(["NOPE-1", "某人", id_number(99999), "户主", "是", None])
    with pytest.raises(bulk.BulkInvalid) as refused:
        run(world, workbook(sheets))
    cells = {(p.sheet, p.row, p.column) for p in refused.value.problems}
    assert {("家庭成员", 57, "身份证号"), ("房屋", 5, "结构"), ("家庭成员", len(sheets["家庭成员"]), "户号")} <= cells
    assert (count(Household), count(Person), count(BulkImport)) == (0, 0, 0)


def test_households_that_exist_are_refused_by_cell(world):
    run(world, workbook(survey_rows(3)))
    with pytest.raises(bulk.BulkInvalid) as refused:
        run(world, workbook(survey_rows(4)))  # another file, the same first three codes
    assert {(p.sheet, p.row, p.column) for p in refused.value.problems} == {("户", r, "户号") for r in (2, 3, 4)}
    assert count(Household) == 3


def test_villages_and_batches_by_name_and_the_template_example_row_is_skipped(world, client):
    db.session.add_all([Village(project_id=world.project.id, name="北区三村"),
                        Batch(project_id=world.project.id, name="第一批")])
    db.session.commit()
    sheet = bulk.template(world.actor("surveyor"), world.project.id, "survey")
    book = load_workbook(io.BytesIO(sheet.content))
    assert book["户"].data_validations.dataValidation and book["房屋"]["E2"].value == "砖混"
    home = book["户"]
    home.append(["T-1", "企业", "钱多多", "工业路1号", "北区三村", "第一批", "第一工作组", None, "国有", None, None])
    book["家庭成员"].append(["T-1", "钱多多", id_number(7), "户主", "否", "低保"])
    book["房屋"].append(["T-1", "厂房", None, 300, "框架", 1, 2005, "生产", "合法"])
    book["附属物"].append(["T-1", "热水器", 2])
    book["经营信息"].append(["T-1", "91330100MA2XXXXX0X", 280, None, "纳税证明"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(world, buffer.getvalue())
    assert [p.code for p in report.households] == ["T-1"]
    household = db.session.scalar(select(Household))
    assert (household.village.name, household.batch.name, household.kind) == ("北区三村", "第一批", "enterprise")
    person = db.session.scalar(select(Person))
    assert (person.hukou_here, person.special_group) == (False, "dibao")


def test_appraisal_import_completes_the_appraisal_of_waiting_households(world):
    run(world, workbook(survey_rows(5)))
    rows = appraisal_rows(5)
    rows["房屋单价"][3][1] = "不存在"  # row 4: a building of no such name
    with pytest.raises(bulk.BulkInvalid) as refused:
        run(world, workbook(rows), "appraisal", "appraiser")
    cells = {(p.sheet, p.row, p.column) for p in refused.value.problems}
    assert ("房屋单价", 4, "房屋名称") in cells and ("评估", 3, "户号") in cells  # and its building left unpriced
    with pytest.raises(Forbidden):
        run(world, workbook(appraisal_rows(5)), "appraisal", "surveyor")
    report = run(world, workbook(appraisal_rows(5)), "appraisal", "appraiser")
    assert len(report.households) == 5
    waiting = db.session.scalars(select(HumanTask.form_key).where(HumanTask.status == "ready")).all()
    assert waiting == ["rights"] * 5
    assert db.session.scalar(select(func.count()).select_from(Attachment)
                             .where(Attachment.category == "appraisal_report")) == 5


def test_api_dry_run_then_import(world, api):
    data = workbook(survey_rows(3))
    url = f"/api/v1/projects/{world.project.id}/imports/survey"
    dry = api.post(url, as_="surveyor", data={"file": (io.BytesIO(data), "s.xlsx"), "dry_run": "1"},
                   content_type="multipart/form-data")
    assert dry.status_code == 200, dry.get_json()
    assert (dry.get_json()["dry_run"], dry.get_json()["persons"], count(Household)) == (True, 12, 0)
    done = api.post(url, as_="surveyor", data={"file": (io.BytesIO(data), "s.xlsx")},
                    content_type="multipart/form-data")
    assert (done.status_code, done.get_json()["households"], count(Household)) == (200, 3, 3)
    sheets = survey_rows(2, prefix="C")
    sheets["家庭成员"][1][2] = 110105194912310021
    bad = api.post(url, as_="surveyor", data={"file": (io.BytesIO(workbook(sheets)), "b.xlsx")},
                   content_type="multipart/form-data")
    assert bad.status_code == 422
    assert {"sheet": "家庭成员", "row": 2, "column": "身份证号"}.items() <= bad.get_json()["error"]["rows"][0].items()
    assert api.get(f"/api/v1/projects/{world.project.id}/imports/appraisal/template.xlsx",
                   as_="appraiser").status_code == 200
    assert api.post(f"/api/v1/projects/{world.project.id}/imports/appraisal", as_="surveyor",
                    data={"file": (io.BytesIO(data), "s.xlsx")}, content_type="multipart/form-data").status_code == 403


def pin_policy(world, catalogue: list[dict]) -> None:
    """The project's own policy version (not in force anywhere else) with this catalogue."""
    from datetime import date

    from app.models import PolicyVersion, Project
    from services.compensation.defaults import default_rules
    from services.compensation.rules import validate_rules

    rules = default_rules()
    rules["catalogue"] = catalogue
    rules["ancillary_rate"] = {i["code"]: i["rate"] for i in catalogue}
    version = PolicyVersion(version="2099.1", name="项目专用标准", effective_from=date(2099, 1, 1),
                            rules=validate_rules(rules))
    db.session.add(version)
    db.session.flush()
    db.session.get(Project, world.project.id).policy_version_id = version.id
    db.session.commit()


def test_the_survey_items_are_those_of_the_projects_policy_stamped_with_name_and_unit(world):
    from app.models import AncillaryItem, ModuleRecord
    from services.compensation.defaults import DEFAULT_CATALOGUE

    gas = {"code": "gas_pipe", "name_zh": "燃气管道", "name_en": "Gas pipe", "unit": "米", "rate": "50.00",
           "group": "structure"}
    pin_policy(world, [i for i in DEFAULT_CATALOGUE if i["code"] != "water_heater"] + [gas])
    mine = load_workbook(io.BytesIO(bulk.template(world.actor("surveyor"), world.project.id, "survey").content))
    listed = [c.value for c in mine["选项"]["D"] if c.value]
    assert "燃气管道" in listed and "热水器" not in listed and mine["附属物"]["B2"].value == listed[0]
    assert any("'选项'!$D$1" in v.formula1 for v in mine["附属物"].data_validations.dataValidation)
    world.other_project.groups[0].members.append(world.users["surveyor"])
    db.session.commit()
    theirs = load_workbook(io.BytesIO(bulk.template(world.actor("surveyor"), world.other_project.id,
                                                    "survey").content))
    assert "热水器" in [c.value for c in theirs["选项"]["D"] if c.value]  # the policy in force: the defaults

    sheets = survey_rows(2)
    sheets["房屋"][1].append("是")  # the first building of B-00000 is run as a business (住改商)
    sheets["附属物"] = [["户号", "项目", "数量"], ["B-00000", "燃气管道", 12], ["B-00001", "热水器", 1],
                     ["B-00001", "wall", 30]]
    with pytest.raises(bulk.BulkInvalid) as refused:
        run(world, workbook(sheets))
    assert [(p.sheet, p.row, p.column) for p in refused.value.problems] == [("附属物", 3, "项目")]
    assert "补偿标准" in worded_problem(refused.value.problems[0].message)
    del sheets["附属物"][2]
    run(world, workbook(sheets))
    docs = dict(db.session.execute(select(Household.code, ModuleRecord.data)
                                   .join(ModuleRecord, ModuleRecord.household_id == Household.id)).all())
    assert docs["B-00000"]["ancillary"] == [{"code": "gas_pipe", "count": 12, "name": "燃气管道", "unit": "米"}]
    assert docs["B-00001"]["ancillary"] == [{"code": "wall", "count": 30, "name": "围墙", "unit": "米"}]
    assert [b["run_as_business"] for b in docs["B-00000"]["buildings"]] == [True, False]
    assert sorted(db.session.scalars(select(AncillaryItem.code))) == ["gas_pipe", "wall"]


def worded_problem(message) -> str:
    from flask_babel import force_locale

    from app.labels import problem as worded

    with force_locale("zh"):
        return worded(message)


def test_the_appraisal_import_needs_the_signed_declaration_and_records_it_for_the_importer(world):
    from flask import current_app

    from app.models import ConflictDeclaration
    from tests.test_pages import Browser

    run(world, workbook(survey_rows(3)))
    rows = appraisal_rows(3)
    column = [c.field for c in APPRAISALS.columns].index("no_conflict")
    rows["评估"][1][column], rows["评估"][2][column] = "否", None
    with pytest.raises(bulk.BulkInvalid) as refused:
        run(world, workbook(rows), "appraisal", "appraiser")
    assert [(p.sheet, p.row, p.column) for p in refused.value.problems] == [
        ("评估", 2, "已签回避声明"), ("评估", 3, "已签回避声明")]
    assert count(ConflictDeclaration) == 0
    run(world, workbook(appraisal_rows(3)), "appraisal", "appraiser")
    made = db.session.scalars(select(ConflictDeclaration).order_by(ConflictDeclaration.id)).all()
    assert [(d.user.username, d.conflict, d.bpmn_id, d.note) for d in made] == [
        ("appraiser", False, "appraisal", "批量导入：评估师王评已签书面回避声明")] * 3
    shown = Browser(current_app).as_user("appraiser").get(f"/cases/{made[0].household_id}").get_data(as_text=True)
    assert "无利害关系" in shown and "批量导入：评估师王评已签书面回避声明" in shown


def test_the_survey_fields_the_compensation_reads_are_imported_and_checked_by_cell(world):
    from app.models import ModuleRecord
    from services.modules.compute import business_input, quota_groups

    sheets = survey_rows(2)
    sheets["家庭成员"][2][6:8] = ["是", "否"]  # B-00000's second member: an unmarried adult child
    sheets["家庭成员"][3][7] = "是"  # its third: reserved population
    sheets["经营信息"] = [["户号", "月均损失(元)", "用地面积(㎡)"], ["B-00000", "abc", 300],
                      ["B-00001", 8000, "也许"]]
    sheets["家庭成员"][4][6] = "也许"
    with pytest.raises(bulk.BulkInvalid) as refused:
        run(world, workbook(sheets))
    assert [(p.sheet, p.row, p.column) for p in refused.value.problems] == [
        ("家庭成员", 5, "未婚成年子女"), ("经营信息", 2, "月均损失(元)"), ("经营信息", 3, "用地面积(㎡)")]
    assert count(Household) == 0
    sheets["家庭成员"][4][6] = None
    sheets["经营信息"][1:] = [["B-00000", "9500.5", 300], ["B-00001", -1, None]]
    with pytest.raises(bulk.BulkInvalid) as refused:  # the survey form's own limits, named by cell too
        run(world, workbook(sheets))
    assert [(p.sheet, p.row, p.column) for p in refused.value.problems] == [("经营信息", 3, "月均损失(元)")]
    del sheets["经营信息"][2]
    run(world, workbook(sheets))
    docs = dict(db.session.execute(select(Household.code, ModuleRecord.data)
                                   .join(ModuleRecord, ModuleRecord.household_id == Household.id)).all())
    assert [quota_groups(p) for p in docs["B-00000"]["persons"]] == [(), ("unmarried_adult",), ("reserved",), ()]
    assert [quota_groups(p) for p in docs["B-00001"]["persons"]] == [(), (), ("unmarried_adult",), ("reserved",)]
    read = business_input(docs["B-00000"], {})
    assert (str(read["monthly_loss"]), str(read["land_area"])) == ("9500.50", "300.00")
    assert docs["B-00001"]["business"] is None


def test_every_survey_form_field_is_a_template_column_or_deliberately_left_out(world):
    from services.excel import bulkspec
    from services.forms.survey import AncillaryRow, BuildingRow, BusinessPart, PersonRow, SurveyForm

    parts = {"survey": (SurveyForm, bulkspec.HOUSEHOLDS), "persons": (PersonRow, bulkspec.PERSONS),
             "buildings": (BuildingRow, bulkspec.BUILDINGS), "ancillary": (AncillaryRow, bulkspec.ANCILLARY),
             "business": (BusinessPart, bulkspec.BUSINESS)}
    for part, (schema, spec) in parts.items():
        columns = {c.field for c in spec.columns}
        missing = set(schema().fields) - columns - bulkspec.NOT_IMPORTED[part]
        assert not missing, f"{part}: add a column to the sheet {spec.title} or list the field in NOT_IMPORTED"
    book = load_workbook(io.BytesIO(bulk.template(world.actor("surveyor"), world.project.id, "survey").content))
    explained = {(r[0], r[1]) for r in book["填写说明"].iter_rows(values_only=True) if r[1]}
    for spec, header in ((bulkspec.PERSONS, "未婚成年子女"), (bulkspec.PERSONS, "预留人口"),
                         (bulkspec.BUSINESS, "月均损失(元)"), (bulkspec.BUSINESS, "用地面积(㎡)")):
        sheet = book[spec.title]
        heads = [c.value for c in sheet[1]]
        letter = sheet.cell(row=1, column=heads.index(header) + 1).column_letter
        assert sheet[f"{letter}2"].value not in (None, "") and (spec.title, header) in explained
        if spec is bulkspec.PERSONS:
            assert any(v.formula1 == '"是,否"' and letter in str(v.sqref)
                       for v in sheet.data_validations.dataValidation)
