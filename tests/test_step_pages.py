"""The step pages: drafts that survive, stale saves refused, sync and upstream changes, return markers, the
red-line checks before the decision, warnings at entry, and the draft agreement before the signed scan."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from flask import Flask

from app.extensions import db
from app.models import Building, utcnow
from services import identity, modules, runtime
from tests import case_data, factories
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser, complete, open_task, text_of

REASON = "主房实测面积有误，请重新丈量"


@pytest.fixture()
def pages(ctx: Flask) -> Browser:
    ensure_compiled()
    return Browser(ctx)


def version_of(body: str) -> int:
    found = re.search(r'name="_version" value="(\d+)"', body)
    assert found, "the page does not carry the module's version"
    return int(found.group(1))


def form_of(body: str) -> dict[str, str]:
    """The values a browser would post from the step form (text inputs, selects' chosen options, hidden ones)."""
    form = body.split('data-testid="step-form"', 1)[1].split("</form>", 1)[0]
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            data[name.group(1)] = value.group(1) if value else ""
        elif name and "checked" in tag:
            data[name.group(1)] = "on"
    for name, inner in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', inner)
        data[name] = chosen.group(1) if chosen else ""
    for name, inner in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = inner
    return data


def case_at(world: factories.World, code: str, *steps: str):
    household, instance = factories.new_household(world, code=code)
    complete(world, instance.id, *steps)
    return household.id, instance.id


def test_a_draft_is_saved_and_shown_again_when_the_step_is_reopened(pages: Browser, world) -> None:
    household_id, instance_id = case_at(world, "D-1")
    task = open_task(instance_id, "survey")
    pages.as_user("surveyor")
    body = text_of(pages.get(f"/tasks/{task.id}"))
    assert 'data-testid="save-draft"' in body and "保存草稿" in body
    data = {**form_of(body), "head_name": "王德福", "address": "北区三村2组8号", "notes": "户主外出，下周补测附房"}
    saved = pages.post(f"/tasks/{task.id}/draft", data=data)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/tasks/{task.id}")
    again = text_of(pages.get(f"/tasks/{task.id}"))
    assert "草稿已保存" in again
    assert 'value="王德福"' in again and "户主外出，下周补测附房" in again
    assert version_of(again) == version_of(body) + 1
    assert task_status_open(task.id)


def task_status_open(task_id: int) -> bool:
    from tests.test_pages import task_status

    return task_status(task_id) == "ready"


def refused_survey(pages: Browser, world, code: str, typed: dict[str, str]) -> tuple[int, str]:
    """Complete a new household's survey from its page with some fields typed: refused (422); its step and page."""
    _, instance_id = case_at(world, code)
    task = open_task(instance_id, "survey")
    pages.as_user("surveyor")
    refused = pages.post(f"/tasks/{task.id}/complete", data={**form_of(text_of(pages.get(f"/tasks/{task.id}"))),
                                                              **typed})
    assert refused.status_code == 422
    return task.id, text_of(refused)


def test_a_refused_completion_keeps_what_was_typed_and_saves_it_as_a_draft(pages: Browser, world) -> None:
    task_id, page = refused_survey(pages, world, "D-2", {"head_name": "赵长青", "buildings.0.label": "主房",
                                                        "buildings.0.measured_area": "128.50"})
    assert 'data-testid="form-errors"' in page and 'value="赵长青"' in page and 'value="128.50"' in page
    assert "已将您填写的内容保存为草稿" in page
    assert 'class="error"' in page  # a problem next to its field
    reopened = text_of(pages.get(f"/tasks/{task_id}"))
    assert 'value="赵长青"' in reopened and 'value="128.50"' in reopened


def test_a_refused_completion_with_invalid_values_keeps_them_on_the_page(pages: Browser, world) -> None:
    task_id, page = refused_survey(pages, world, "D-3", {"head_name": "钱多多",
                                                        "persons.0.id_number": "110105196503121234"})
    assert 'value="钱多多"' in page and 'value="110105196503121234"' in page
    assert "尚未保存" in page and "身份证" in page
    assert 'value="钱多多"' not in text_of(pages.get(f"/tasks/{task_id}"))  # nothing invalid was stored


def test_a_stale_save_is_refused_with_who_changed_it_and_the_input_is_kept(pages: Browser, world) -> None:
    household_id, instance_id = case_at(world, "D-4")
    task = open_task(instance_id, "survey")
    pages.as_user("surveyor")
    body = text_of(pages.get(f"/tasks/{task.id}"))
    loaded = version_of(body)
    # meanwhile a colleague of the same role saves the module (through the API's service)
    colleague = identity.create_user("surveyor2", factories.PASSWORD, "孙调查", ["surveyor"])
    world.project.groups[0].members.append(colleague)
    db.session.commit()
    from services.context import Actor

    modules.put(Actor(colleague), household_id, "survey", {"notes": "同事的记录"}, loaded, now=utcnow())
    data = {**form_of(body), "head_name": "我的输入", "notes": "我的备注"}
    for action in ("draft", "complete"):
        refused = pages.post(f"/tasks/{task.id}/{action}", data=data)
        assert refused.status_code == 409, action
        page = text_of(refused)
        assert "孙调查" in page and "已修改并保存了这份记录" in page and "您的内容没有保存" in page
        assert 'value="我的输入"' in page and "我的备注" in page
        assert version_of(page) == loaded + 1  # saving again now keeps this version, knowingly
    db.session.rollback()
    assert modules.get_record(household_id, "survey").data["notes"] == "同事的记录"
    assert task_status_open(task.id)
    kept = pages.post(f"/tasks/{task.id}/draft", data={**data, "_version": str(loaded + 1)})
    assert kept.status_code == 302
    db.session.rollback()
    assert modules.get_record(household_id, "survey").data["notes"] == "我的备注"


def test_a_return_marks_the_target_and_the_steps_after_it_shows_sync_and_the_changes(pages: Browser, world):
    household_id, instance_id = case_at(world, "D-5", "survey", "appraisal", "rights", "calculation")
    audit = open_task(instance_id, "calc_audit")
    runtime.return_task(world.actor("calc_auditor"), audit.id, "survey", REASON, now=utcnow())
    survey = open_task(instance_id, "survey")
    pages.as_user("surveyor")
    body = text_of(pages.get(f"/tasks/{survey.id}"))
    banner = body.split('data-testid="return-banner"', 1)[1].split("</div>\n</div>", 1)[0]
    assert "calc_auditor user" in banner and "核算审核" in banner and REASON in banner
    data = case_data.survey()
    data["buildings"][0]["measured_area"] = "150.00"
    record = modules.get_record(household_id, "survey").data
    for row, stored in zip(data["buildings"], record["buildings"], strict=True):
        row["id"] = stored["id"]
    for row, stored in zip(data["persons"], record["persons"], strict=True):
        row["id"] = stored["id"]
    runtime.complete_task(world.actor("surveyor"), survey.id, data, now=utcnow())
    appraisal = open_task(instance_id, "appraisal")
    pages.as_user("appraiser")
    body = text_of(pages.get(f"/tasks/{appraisal.id}"))
    marker = body.split('data-testid="return-banner"', 1)[1]
    assert "因退回重新办理" in marker and "calc_auditor user" in marker and REASON in marker
    changes = body.split('data-testid="upstream-changes"', 1)[1].split('data-testid="step-form"', 1)[0]
    assert "“调查建档”有变更" in changes and "calc_auditor user" not in changes
    assert "主房" in changes and "168.50" in changes and "150.00" in changes
    assert re.search(r"168\.50</td><td[^>]*>→</td><td[^>]*>150\.00", changes)
    assert "building_id" not in changes and f">{record['buildings'][0]['id']}<" not in changes
    assert 'data-testid="sync"' in body and "一键同步" in body
    synced = pages.post(f"/tasks/{appraisal.id}/sync", data=form_of(body))
    assert synced.status_code == 302
    after = text_of(pages.get(f"/tasks/{appraisal.id}"))
    assert "已从前序环节同步" in after and 'data-testid="upstream-changes"' not in after


def rights_with(household_id: int, legal: str) -> dict:
    data = case_data.step("rights", household_id)
    data["buildings"][0]["legal_area"] = legal
    data["buildings"][0]["excluded_area"] = None
    data["buildings"][0]["exclusion_reason"] = None
    return data


def test_the_rights_page_warns_at_once_when_the_legal_area_exceeds_the_measured_one(pages: Browser, world):
    household_id, instance_id = case_at(world, "D-6", "survey", "appraisal")
    task = open_task(instance_id, "rights")
    pages.as_user("rights_officer")
    body = text_of(pages.get(f"/tasks/{task.id}"))
    assert 'data-limits="' in body and "js/limits.js" in body and "168.50" in body
    assert 'data-testid="field-warning"' not in body
    data = {**form_of(body), "buildings.0.legal_area": "200.00", "basis": "村委会证明"}
    saved = pages.post(f"/tasks/{task.id}/draft", data=data)
    assert saved.status_code == 302  # a warning never blocks the clerk
    page = text_of(pages.get(f"/tasks/{task.id}"))
    warning = page.split('data-testid="field-warning"', 1)[1].split("</div>", 1)[0]
    assert "认定合法面积 200.00㎡ 超过主房的实测面积 168.50㎡" in warning
    assert 'data-testid="form-warnings"' in page


def test_the_audit_page_shows_every_red_line_with_its_figures_before_the_decision(pages: Browser, world):
    household_id, instance_id = case_at(world, "D-7", "survey", "appraisal")
    rights = open_task(instance_id, "rights")
    factories.complete_open_step(world, rights, rights_with(household_id, "200.00"))
    complete(world, instance_id, "calculation")
    audit = open_task(instance_id, "calc_audit")
    pages.as_user("calc_auditor")
    body = text_of(pages.get(f"/tasks/{audit.id}"))
    checks = body.split('data-testid="red-line-checks"', 1)[1].split("</ul>", 1)[0]
    assert "主房：认定合法面积 200.00㎡ 超过实测面积 168.50㎡" in checks
    assert "未超过实测面积 168.50" not in checks  # never the opposite of the fact
    assert "附房：认定合法面积 32.00㎡，未超过实测面积 32.00㎡" in checks
    assert re.search(r'data-check="legal_area" data-ok="no">.*?未通过', checks)
    assert "核算所用的调查、评估和确权数据均为最新" in checks
    assert "须在下方填写理由方可通过" in body
    assert re.search(r"重新计算为 \d{1,3}(,\d{3})+\.\d\d 元，与已存金额 \d{1,3}(,\d{3})+\.\d\d 元 一致", checks)
    assert body.index('data-testid="red-line-checks"') < body.index('data-testid="step-form"')  # before deciding
    refused = pages.post(f"/tasks/{audit.id}/complete", data={**form_of(body), "opinion": "同意"})
    assert refused.status_code == 422
    page = text_of(refused)
    assert "有 1 项红线检查未通过" in page and "主房：认定合法面积 200.00㎡ 超过实测面积 168.50㎡" in page


def test_a_check_is_coded_and_worded_by_its_outcome_in_both_languages(ctx, world) -> None:
    from flask_babel import force_locale

    from app import labels
    from services.modules.compute import _check

    failed = _check("legal_area", False, b="主房", legal="200.00", measured="128.50")
    passed = _check("legal_area", True, b="主房", legal="100.00", measured="128.50")
    assert failed.message.code == "check.legal_area.fail" and failed.as_json()["params"]["legal"] == "200.00"
    assert str(failed.message) == "Building 主房: legal area 200.00㎡ exceeds the measured area 128.50㎡"
    with force_locale("zh"):
        assert labels.problem(failed.message) == "主房：认定合法面积 200.00㎡ 超过实测面积 128.50㎡"
        assert labels.problem(passed.message) == "主房：认定合法面积 100.00㎡，未超过实测面积 128.50㎡"
        assert labels.check_text(failed.as_json()) == "主房：认定合法面积 200.00㎡ 超过实测面积 128.50㎡"
        stale = _check("current", False, modules="survey,rights")
        assert labels.problem(stale.message) == "核算后有变更：调查建档、确权确户"


def test_the_draft_agreement_prints_before_the_signed_scan_marked_as_draft(pages: Browser, world) -> None:
    household_id, instance_id = case_at(world, "D-8")
    pages.as_user("handler")
    assert pages.get(f"/cases/{household_id}/agreement").status_code == 404  # not before the drafting step
    complete(world, instance_id, "survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review")
    task = open_task(instance_id, "agreement_draft")
    body = text_of(pages.get(f"/tasks/{task.id}"))
    assert f'href="/cases/{household_id}/agreement"' in body and f'href="/cases/{household_id}/agreement.docx"' in body
    assert 'data-testid="agreement-scan-missing"' in body and "尚未上传签字扫描件" in body
    sheet = pages.get(f"/cases/{household_id}/agreement")
    assert sheet.status_code == 200
    page = text_of(sheet)
    assert 'data-draft="yes"' in page and "草稿 · 未生效" in page and "协议草稿" in page
    assert "草稿（办结后编号）" in page
    docx = pages.get(f"/cases/{household_id}/agreement.docx")
    assert docx.status_code == 200
    text = zipfile.ZipFile(io.BytesIO(docx.data)).read("word/document.xml").decode()
    assert "未生效" in text and "草稿（办结后编号）" in text
    # after the signed scan and completion: numbered, no longer a draft
    factories.before_step(world.users["handler"], "agreement_draft", household_id)
    body = text_of(pages.get(f"/tasks/{task.id}"))
    assert 'data-testid="agreement-scan-ok"' in body
    factories.complete_open_step(world, open_task(instance_id, "agreement_draft"))
    final = text_of(pages.get(f"/cases/{household_id}/agreement"))
    assert 'data-draft="no"' in final and "草稿 · 未生效" not in final and "P1-" in final


def test_the_measured_area_the_checks_use_is_the_surveyed_one(world) -> None:
    household_id, instance_id = case_at(world, "D-9", "survey")
    areas = sorted(str(b.measured_area) for b in db.session.query(Building).filter_by(household_id=household_id))
    assert areas == ["168.50", "32.00"]
