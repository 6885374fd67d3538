"""What a clerk reads on the settlement step pages: the adjustment's own reason column, the agreed amount above
the payments."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from app.extensions import db
from app.models import Household
from services.modules.case import load
from tests import case_data, factories
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser, complete, open_task, text_of


@pytest.fixture()
def pages(ctx: Flask) -> Browser:
    ensure_compiled()
    return Browser(ctx)


def test_the_calculation_page_labels_the_adjustment_reason_as_such(pages: Browser, world) -> None:
    household, instance = factories.new_household(world, code="T-1")
    complete(world, instance.id, "survey", "appraisal", "rights")
    pages.as_user("accountant")
    body = text_of(pages.get(f"/tasks/{open_task(instance.id, 'calculation').id}"))
    adjustments = body.split('data-records="adjustments"', 1)[1].split("</table>", 1)[0]
    assert "调整原因" in adjustments and "退回理由" not in adjustments


def test_the_payment_page_states_the_amount_the_agreement_settles(pages: Browser, world) -> None:
    household, instance = factories.new_household(world, code="T-2")
    complete(world, instance.id, "survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review",
             "agreement_draft", "sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer")
    pages.as_user("finance")
    body = text_of(pages.get(f"/tasks/{open_task(instance.id, 'payment').id}"))
    stated = body.split('data-testid="agreed-total"', 1)[1].split("</p>", 1)[0]
    total = load(db.session.get(Household, household.id)).agreement_total()
    assert total is not None and total > 1000
    assert f"协议约定补偿总额 {total:,.2f} 元" in stated


def test_a_signature_page_links_the_agreement_without_the_drafting_banner(pages: Browser, world) -> None:
    household, instance = factories.new_household(world, code="T-3")
    complete(world, instance.id, "survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review",
             "agreement_draft")
    pages.as_user("group_leader")
    body = text_of(pages.get(f"/tasks/{open_task(instance.id, 'sign_group_leader').id}"))
    assert 'data-testid="agreement-view"' in body and f'href="/cases/{household.id}/agreement"' in body
    assert 'data-testid="agreement-draft"' not in body and "尚未上传签字扫描件" not in body


def _preselected_category(body: str) -> str:
    chooser = body.split('data-testid="upload-category"', 1)[1].split("</select>", 1)[0]
    chosen = re.findall(r'<option value="([^"]+)" selected', chooser)
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_the_files_card_offers_what_the_step_files_next(pages: Browser, world, app: Flask) -> None:
    household, instance = factories.new_household(world, code="T-4")
    pages.as_user("surveyor")
    survey = open_task(instance.id, "survey")
    assert _preselected_category(text_of(pages.get(f"/tasks/{survey.id}"))) == "decision_notice"
    case_data.upload(world.users["surveyor"], household.id, "survey", "decision_notice", app.config["UPLOAD_DIR"])
    assert _preselected_category(text_of(pages.get(f"/tasks/{survey.id}"))) == "survey_form"
    complete(world, instance.id, "survey", "appraisal", "rights", "calculation")
    pages.as_user("calc_auditor")
    # a review files no document of its own: not the next missing item of another step (the signed agreement)
    assert _preselected_category(text_of(pages.get(f"/tasks/{open_task(instance.id, 'calc_audit').id}"))) == "other"
