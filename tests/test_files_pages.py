"""The household's files on the pages: upload several at once, thumbnails, preview, download, remove, the
file pickers of step forms (never a number box), the dossier and its .zip."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, HumanTask
from tests import factories
from tests.api_support import case_at, fast_passwords  # noqa: F401
from tests.test_files import pdf_bytes, png_bytes
from tests.test_i18n import ensure_compiled
from tests.test_pages import Browser, text_of

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture()
def browser(ctx):
    ensure_compiled()
    return Browser(ctx)


def _task_id(household_id: int, bpmn_id: str) -> int:
    return db.session.scalar(select(HumanTask.id).where(HumanTask.household_id == household_id,
                                                        HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_upload_list_preview_download_and_remove_on_a_step_page(world, browser):
    household, _ = factories.new_household(world)
    task_id = _task_id(household.id, "survey")
    browser.as_user("surveyor")
    page = text_of(browser.get(f"/tasks/{task_id}"))
    assert 'data-testid="upload-form"' in page and "暂无文件" in page
    assert 'value="photo"' in page and "现场照片" in page  # categories offered by the household's kind
    response = browser.post(f"/cases/{household.id}/files", content_type="multipart/form-data", data={
        "csrf_token": _csrf(page), "module": "survey", "category": "photo", "next": f"/tasks/{task_id}",
        "files": [(io.BytesIO(png_bytes()), "东墙.png"), (io.BytesIO(pdf_bytes()), "户口簿.pdf")]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task_id}#files")
    page = text_of(browser.get(f"/tasks/{task_id}"))
    assert "已上传 2 个文件" in page and "东墙.png" in page and "户口簿.pdf" in page
    rows = db.session.scalars(select(Attachment).where(Attachment.household_id == household.id)).all()
    png = next(r for r in rows if r.name == "东墙.png")
    assert "Surveyor" in page or world.users["surveyor"].display_name in page
    thumb = browser.get(f"/cases/files/{png.id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    preview = browser.get(f"/cases/files/{png.id}/preview")
    assert preview.status_code == 200 and preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    download = browser.get(f"/cases/files/{png.id}")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    # a refused file is named, in Chinese, and the good one beside it is stored
    response = browser.post(f"/cases/{household.id}/files", content_type="multipart/form-data", data={
        "csrf_token": _csrf(page), "module": "survey", "category": "photo",
        "files": [(io.BytesIO(b"%PDF-1.7\n<html></html>"), "假.pdf")]})
    page = text_of(browser.get(f"/cases/{household.id}"))
    assert "假.pdf 未上传：只接受" in page
    # remove: its uploader only
    browser.as_user("admin")
    assert browser.post(f"/cases/files/{png.id}/remove", data={"csrf_token": _csrf(text_of(
        browser.get(f"/cases/{household.id}")))}).status_code == 302
    assert db.session.get(Attachment, png.id).deleted_at is None
    browser.as_user("surveyor")
    page = text_of(browser.get(f"/tasks/{task_id}"))
    browser.post(f"/cases/files/{png.id}/remove", data={"csrf_token": _csrf(page)})
    db.session.expire_all()
    assert db.session.get(Attachment, png.id).deleted_at is not None
    assert 'data-name="东墙.png"' not in text_of(browser.get(f"/tasks/{task_id}"))


def test_a_file_field_is_a_picker_of_this_households_files(world, api, browser):
    _, task = case_at(api, world.project.id, "FP-1", "payment")
    household_id = task["household_id"]
    other, _ = factories.new_household(world, "FP-2")
    foreign = factories.case_data.upload(world.users["surveyor"], other.id, "survey", "photo",
                                         browser.app.config["UPLOAD_DIR"])
    mine = factories.case_data.upload(world.users["finance"], household_id, "payment", "voucher",
                                      browser.app.config["UPLOAD_DIR"])
    browser.as_user("finance")
    page = text_of(browser.get(f"/tasks/{task['id']}"))
    picker = re.search(r'<select name="payments\.0\.attachment_id"[^>]*>(.*?)</select>', page, re.S)
    assert picker, "the voucher field is a choice of files"
    assert 'type="number" step="1" inputmode="numeric" name="payments.0.attachment_id"' not in page
    assert f'value="{mine}"' in picker.group(1) and "付款凭证" in picker.group(1)
    assert f'value="{foreign}"' not in picker.group(1)  # not the other household's file
    # the field's own category comes first
    assert re.search(rf'<optgroup label="付款凭证">\s*<option value="{mine}"', picker.group(1))
    assert "上传新文件" in page


def test_the_case_page_shows_the_dossier_and_downloads_it_as_a_zip(world, browser):
    household, _ = factories.new_household(world)
    factories.case_data.upload(world.users["surveyor"], household.id, "survey", "id_scan",
                               browser.app.config["UPLOAD_DIR"])
    browser.as_user("supervisor")
    page = text_of(browser.get(f"/cases/{household.id}"))
    assert 'data-testid="dossier"' in page and "身份证/户口簿" in page and "缺少" in page and "已有" in page
    assert 'data-testid="upload-form"' not in page  # the supervisor edits no module
    response = browser.get(f"/cases/{household.id}/dossier.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["01_身份证／户口簿_身份证扫描件_1.png"]
