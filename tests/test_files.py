"""Attachments: content checks, safe names, stale temporary files, replace and remove, file fields that
must name this household's files (API), the dossier and its .zip."""
from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from flask import current_app
from openpyxl import Workbook
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, AuditLog, utcnow
from services import dossier_files, filecheck, files, thumbnails
from services.errors import Forbidden, UnsupportedMediaType
from services.forms import FORMS
from tests import factories
from tests.api_support import assert_error, case_at, fast_passwords, start_case  # noqa: F401
from tests.case_data import PNG

pytestmark = pytest.mark.usefixtures("fast_passwords")

# the step that edits each module with a field naming a file
FILE_FIELD_STEPS = {"appraisal": "appraisal", "rights": "rights", "decision": "collective_decision",
                    "agreement": "agreement_draft", "payment": "payment"}


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    book = Workbook()
    book.active["A1"] = "台账"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def sniffed(tmp_path: Path, content: bytes) -> str | None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    return filecheck.sniff(path)


# ---- content checks and names -------------------------------------------------------------------------

def test_content_is_checked_by_opening_it(tmp_path):
    assert sniffed(tmp_path, pdf_bytes()) == "application/pdf"
    assert sniffed(tmp_path, xlsx_bytes()) == filecheck.XLSX
    assert sniffed(tmp_path, png_bytes()) == "image/png"
    # HTML behind a PDF header, a header alone, a PNG header over garbage: refused
    assert sniffed(tmp_path, b"%PDF-1.7\n<html><body><script>alert(1)</script></body></html>") is None
    assert sniffed(tmp_path, b"%PDF-1.4\n" + b"x" * 500) is None
    assert sniffed(tmp_path, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) is None


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, pytest.warns(UserWarning) if len({n for n, _ in entries}) < len(
            entries) else _nothing():
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


DOCX_TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
              b'wordprocessingml.document.main+xml"/></Types>')


def test_an_ooxml_file_must_be_a_real_package(tmp_path):
    good = [("[Content_Types].xml", DOCX_TYPES), ("word/document.xml", b"<w:document/>")]
    assert sniffed(tmp_path, _zip(good)) == filecheck.DOCX
    # two entries of one name (the second could hide behind the first), no main part, no content types
    assert sniffed(tmp_path, _zip([*good, ("word/document.xml", b"<other/>")])) is None
    assert sniffed(tmp_path, _zip(good[:1])) is None
    assert sniffed(tmp_path, _zip(good[1:])) is None
    assert sniffed(tmp_path, _zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"x")])) is None


def test_a_decompression_bomb_is_refused(tmp_path):
    # a PNG header claiming 30000 × 30000 pixels
    header = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + (30000).to_bytes(4, "big") * 2 + \
        bytes.fromhex("0802000000") + b"\x00" * 4
    assert sniffed(tmp_path, header + b"\x00" * 100) is None


@pytest.mark.parametrize(("raw", "clean"), [
    ("a\r\nb.pdf", "a b.pdf"), ("..\\..\\etc/passwd", "passwd"), ("\x00\x07报告.pdf", "报告.pdf"),
    ("\u202egpj.exe", "gpj.exe"), ("x\ufffe\uffff.png", "x.png"), ("", "file"), ("\r\n", "file"),
    ("长" * 300 + ".pdf", "长" * 251 + ".pdf"),
])
def test_names_are_cleaned(raw, clean):
    assert filecheck.clean_name(raw) == clean


def test_stale_temporary_uploads_are_swept(tmp_path):
    folder = filecheck.temp_dir(str(tmp_path))
    stale, fresh = folder / f"{filecheck.TEMP_PREFIX}old", folder / f"{filecheck.TEMP_PREFIX}new"
    legacy, stored = tmp_path / "tmpab12cd", tmp_path / "ab" / ("ab" + "0" * 62)
    stored.parent.mkdir()
    for path in (stale, fresh, legacy, stored):
        path.write_bytes(b"x")
    old = time.time() - 2 * filecheck.STALE_SECONDS
    for path in (stale, legacy, stored):
        os.utime(path, (old, old))
    assert filecheck.sweep(str(tmp_path)) == 2
    assert not stale.exists() and not legacy.exists() and fresh.exists() and stored.exists()


def test_an_upload_cut_off_leaves_no_temporary_file(world, tmp_path):
    household, _ = factories.new_household(world)

    class Cut(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 100:
                raise OSError("connection reset")
            return super().read(size)

    with pytest.raises(OSError):
        files.upload(world.actor("surveyor"), household.id, "survey", "photo", "a.png", Cut(png_bytes()),
                     upload_dir=str(tmp_path), max_bytes=1 << 20, now=utcnow())
    assert list((tmp_path / filecheck.TEMP_DIR).iterdir()) == []


# ---- upload, replace, remove ----------------------------------------------------------------------------

def _upload(world, household_id: int, content: bytes = PNG, name: str = "现场照片.png", role: str = "surveyor",
            module: str = "survey", category: str = "photo") -> Attachment:
    return files.upload(world.actor(role), household_id, module, category, name, io.BytesIO(content),
                        upload_dir=current_app.config["UPLOAD_DIR"], max_bytes=1 << 22, now=utcnow())


def test_a_refused_type_is_415_with_a_code(world):
    household, _ = factories.new_household(world)
    with pytest.raises(UnsupportedMediaType) as caught:
        _upload(world, household.id, b"%PDF-1.7\n<html><script>x</script></html>", "x.pdf")
    assert caught.value.message.code == "file_type"


def test_replace_keeps_the_old_version_and_remove_is_the_uploaders_audited(world):
    household, _ = factories.new_household(world)
    first = _upload(world, household.id)
    second = files.replace(world.actor("surveyor"), first.id, "新照片.png", io.BytesIO(png_bytes()),
                           upload_dir=current_app.config["UPLOAD_DIR"], max_bytes=1 << 22, now=utcnow())
    old = db.session.get(Attachment, first.id)
    assert old.deleted_at is not None and second.replaces_id == first.id and second.category == "photo"
    assert [a.id for a in files.current(household.id)] == [second.id]
    with pytest.raises(Forbidden):
        files.remove(world.actor("admin"), second.id, now=utcnow())
    files.remove(world.actor("surveyor"), second.id, now=utcnow())
    assert files.current(household.id) == []
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.household_id == household.id)))
    assert {"file.upload", "file.replace", "file.remove"} <= actions


def test_thumbnails_are_cached_by_sha256(world):
    household, _ = factories.new_household(world)
    row = _upload(world, household.id, png_bytes((1200, 900)))
    upload_dir = current_app.config["UPLOAD_DIR"]
    thumb = thumbnails.thumbnail(upload_dir, row.sha256, files.storage_path(upload_dir, row.sha256))
    assert thumb == thumbnails.cache_path(upload_dir, row.sha256)
    with Image.open(thumb) as image:
        assert max(image.size) <= 240
    assert thumbnails.thumbnail(upload_dir, row.sha256, Path("/nonexistent")) == thumb  # from the cache


def test_a_stored_bad_name_downloads_and_previews(world, api):
    household, _ = factories.new_household(world)
    row = _upload(world, household.id)
    row.name = "照片\r\nX-Injected: 1.png"
    db.session.commit()
    for url in (f"/api/v1/files/{row.id}", f"/api/v1/files/{row.id}/preview"):
        response = api.get(url, as_="supervisor")
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "X-Injected" not in response.headers


def test_an_rfc2231_name_with_crlf_is_cleaned_at_upload(world, api):
    household, _ = factories.new_household(world)
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nsurvey\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nphoto\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"; "
            f"filename*=UTF-8''a%0D%0AX-Evil%3A%201.png\r\nContent-Type: image/png\r\n\r\n"
            ).encode() + PNG + f"\r\n--{boundary}--\r\n".encode()
    response = api.post(f"/api/v1/households/{household.id}/files", as_="surveyor", data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "a X-Evil: 1.png"
    assert api.get(f"/api/v1/files/{response.get_json()['id']}", as_="surveyor").status_code == 200


# ---- fields that name a file ------------------------------------------------------------------------------

def file_field_paths() -> list[tuple[str, str]]:
    out = []
    for form in FORMS.values():
        from services.forms.registry import schema_instance

        out += [(form.module, path) for path, _field in files.file_fields(schema_instance(form.schema))]
    return sorted(set(out))


def test_every_module_with_a_file_field_is_covered():
    assert {module for module, _ in file_field_paths()} == set(FILE_FIELD_STEPS)
    assert ("payment", "payments.*.attachment_id") in file_field_paths()
    assert ("agreement", "signed_scan") in file_field_paths()


def _with_file(data: dict, path: str, value: int) -> tuple[dict, str]:
    """The data with the file field at path set (rows: the first row); and the field's dotted name."""
    head, *rest = path.split(".")
    if rest:
        rows = data[head]
        rows[0][rest[-1]] = value
        return data, f"{head}.0.{rest[-1]}"
    data[head] = value
    return data, head


@pytest.mark.parametrize(("module", "path"), file_field_paths())
def test_a_file_of_another_household_or_none_is_refused_in_every_file_field(world, api, module, path):
    step = FILE_FIELD_STEPS[module]
    role = factories.ROLE_OF_STEP[step]
    instance_id, task = case_at(api, world.project.id, f"F-{module}", step)
    household_id = task["household_id"]
    other = start_case(api, world.project.id, f"F-{module}-other")
    other_household = api.get(f"/api/v1/instances/{other}", as_="supervisor").get_json()["household_id"]
    foreign = _upload(world, other_household).id
    db.session.commit()
    mine = _upload(world, household_id, role=role, module=module, category="other").id
    for bad in (foreign, 2**31 - 2):
        data, name = _with_file(api.prepare(task, role), path, bad)
        response = api.post(f"/api/v1/tasks/{task['id']}/complete", as_=role, json={"data": data})
        error = assert_error(response, 422, fields={name})
        assert error["code"] == "invalid_input"
        # a draft save is refused the same way
        version = api.get(f"/api/v1/households/{household_id}/modules/{module}", as_=role).get_json()["version"]
        response = api.put(f"/api/v1/households/{household_id}/modules/{module}", as_=role,
                           json={"data": data, "version": version})
        assert_error(response, 422, fields={name})
    # this household's own file is accepted
    data, _name = _with_file(api.prepare(task, role), path, mine)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", as_=role, json={"data": data})
    assert response.status_code == 200, response.get_json()


def test_the_signed_scan_field_satisfies_the_agreement(world, api):
    _, task = case_at(api, world.project.id, "F-scan", "agreement_draft")
    household_id = task["household_id"]
    data = factories.step_data("agreement_draft", household_id)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="handler", json={"data": data})
    assert_error(response, 422, fields={"signed_scan"})
    scan = _upload(world, household_id, pdf_bytes(), "签字协议.pdf", "handler", "agreement", "other").id
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", as_="handler",
                        json={"data": {**data, "signed_scan": scan}})
    assert response.status_code == 200, response.get_json()


# ---- dossier ----------------------------------------------------------------------------------------------

def test_the_dossier_lists_what_is_missing_and_zips_in_chinese(world, client):
    household, _ = factories.new_household(world)
    _upload(world, household.id, name="a.png", category="photo")
    _upload(world, household.id, pdf_bytes(), "b.pdf", category="id_scan")
    _upload(world, household.id, xlsx_bytes(), "c.xlsx", category="measurement")
    items = {i.code: i for i in dossier_files.items(household, files.current(household.id))}
    assert not items["survey_form"].missing and not items["identity"].missing
    assert items["title"].missing and items["agreement"].missing and "licence" not in items
    with current_app.test_request_context():
        spool, name = dossier_files.archive(world.actor("supervisor"), household.id,
                                            upload_dir=current_app.config["UPLOAD_DIR"], now=utcnow())
    assert name.endswith("_档案.zip")
    with zipfile.ZipFile(spool) as archive:
        assert archive.namelist() == ["01_入户调查表_现场照片_1.png", "02_身份证／户口簿_身份证扫描件_1.pdf",
                                      "03_测绘丈量表_1.xlsx"]
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "dossier.download"))


def test_the_worker_sweeps_stale_temporary_uploads_at_start(ctx, world):
    folder = filecheck.temp_dir(ctx.config["UPLOAD_DIR"])
    stale = folder / f"{filecheck.TEMP_PREFIX}cut-off"
    stale.write_bytes(b"half an upload")
    old = time.time() - 2 * filecheck.STALE_SECONDS
    os.utime(stale, (old, old))
    result = ctx.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
