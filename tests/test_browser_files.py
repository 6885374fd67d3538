"""Browser test: the household's files on a step page — two uploaded at once, thumbnails, a preview, the signed
scan picked in the agreement's field from the household's files, one removed — and the dossier as a .zip."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Attachment, ModuleRecord

pytest.register_assert_rewrite("tests.browser_support")
from tests import factories  # noqa: E402
from tests.browser_support import ARTIFACTS, Site, complete_step, instance_id_of, open_task, sign_in  # noqa: E402
from tests.test_files import pdf_bytes, png_bytes  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

BEFORE_AGREEMENT = ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review")


def test_files_on_a_step_page_and_the_dossier(site: Site, page: Page) -> None:
    household, _ = factories.new_household(site.world, "BF-1")
    household_id = household.id
    instance_id = instance_id_of(household_id)
    for bpmn_id in BEFORE_AGREEMENT:
        complete_step(site.world, instance_id, bpmn_id)
    task_id = open_task(instance_id, "agreement_draft").id
    db.session.commit()

    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "handler")
    page.goto(f"/tasks/{task_id}")
    files = page.get_by_test_id("files")
    today = date.today()
    page.fill("#f-move_deadline", (today + timedelta(days=60)).isoformat())  # typed, not saved yet
    page.get_by_test_id("upload-category").select_option("agreement")
    page.get_by_test_id("upload-input").set_input_files([
        {"name": "入户照片.png", "mimeType": "image/png", "buffer": png_bytes((800, 600))},
        {"name": "签字协议.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
    ])
    page.get_by_test_id("upload").click()
    expect(files.get_by_test_id("files-status")).to_contain_text("已上传 2 个文件")
    # the card was redrawn in place: what was typed into the step form is still there
    expect(page.locator("#f-move_deadline")).to_have_value((today + timedelta(days=60)).isoformat())
    photo = files.locator('[data-testid="file-item"][data-name="入户照片.png"]')
    scan = files.locator('[data-testid="file-item"][data-name="签字协议.pdf"]')
    expect(photo).to_contain_text("协议")
    expect(scan).to_contain_text("PDF")
    thumb = photo.get_by_test_id("thumb")
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=5000)
    page.screenshot(path=str(ARTIFACTS / "files-task.png"), full_page=True)

    photo.get_by_role("button", name="预览").click()
    dialog = page.get_by_test_id("preview")
    expect(dialog).to_be_visible()
    image = dialog.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 800", arg=image.element_handle(),
                           timeout=5000)
    page.screenshot(path=str(ARTIFACTS / "files-preview.png"))
    dialog.get_by_role("button", name="关闭").click()
    expect(dialog).to_be_hidden()

    # a file uploaded in place from the field's picker is stored and chosen at once
    page.locator('input[data-pick-upload="f-signed_scan"]').set_input_files(
        {"name": "补拍协议.png", "mimeType": "image/png", "buffer": png_bytes((300, 400))})
    expect(page.locator("#f-signed_scan option:checked")).to_contain_text("补拍协议.png")
    expect(page.locator(".pickstatus")).to_have_text("已上传并选中。")

    # the agreement's field picks the signed scan from this household's files
    picker = page.locator("#f-signed_scan")
    expect(picker.locator("option", has_text="签字协议.pdf")).to_have_count(1)
    picker.select_option(label=picker.locator("option", has_text="签字协议.pdf").inner_text().strip())

    page.once("dialog", lambda confirm: confirm.accept())
    photo.get_by_test_id("remove").click()
    expect(files.get_by_test_id("files-status")).to_contain_text("入户照片.png 已删除")
    expect(files.locator('[data-testid="file-item"][data-name="入户照片.png"]')).to_have_count(0)

    page.locator("#f-signed_scan").select_option(
        label=page.locator("#f-signed_scan option", has_text="签字协议.pdf").inner_text().strip())
    page.fill("#f-household_signed_on", today.isoformat())
    page.get_by_test_id("complete").click()
    expect(page.locator(".flash-success").first).to_be_visible()
    db.session.rollback()
    stored = db.session.query(Attachment).filter_by(household_id=household_id, name="签字协议.pdf").one()
    record = db.session.query(ModuleRecord).filter_by(household_id=household_id, module="agreement").one()
    assert record.data["signed_scan"] == stored.id

    page.goto(f"/cases/{household_id}")
    # the case file names the picked scan, never its id
    expect(page.locator('[data-module="agreement"]')).to_contain_text("签字协议.pdf · 补偿协议")
    dossier = page.get_by_test_id("dossier")
    expect(dossier.locator('[data-testid="dossier-item"][data-item="补偿协议"]')).to_contain_text("签字协议.pdf")
    page.screenshot(path=str(ARTIFACTS / "files-case.png"), full_page=True)
    with page.expect_download(timeout=10_000) as download_info:
        dossier.get_by_test_id("dossier-zip").click()
    download = download_info.value
    assert download.suggested_filename.startswith("BF-1_") and download.suggested_filename.endswith("_档案.zip")
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        names = archive.namelist()
    assert any(re.fullmatch(r"\d\d_补偿协议(_[^_]+)?_1\.pdf", name) for name in names), names
    assert not any("入户照片" in name for name in names)
