"""The Chinese catalog: every string of the UI translated, placeholders intact, pages served in Chinese by default."""
from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%[sdif]")


def read_catalog(path: Path = PO_FILE) -> Catalog:
    """The zh catalog as babel reads it."""
    with path.open("rb") as handle:
        return read_po(handle, locale="zh")


def ensure_compiled() -> None:
    """Compile the zh catalog next to it (what `make translations` does) and drop cached translations.

    Written to a temporary file and moved into place, so two test runs at once never see half a file.
    """
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog())
    data = buffer.getvalue()
    if not MO_FILE.is_file() or MO_FILE.read_bytes() != data:
        fd, temporary = tempfile.mkstemp(dir=MO_FILE.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, MO_FILE)
    from app.extensions import babel

    domain = babel.__dict__.get("domain_instance")  # created on first use; nothing cached before that
    if domain is not None:
        domain.cache.clear()


def fresh_request(app: Flask, client: FlaskClient, method: str, url: str, **kwargs: Any) -> TestResponse:
    """One request in an application context of its own, as a server runs it.

    The test fixtures hold an application context open, and Flask would share its `g` (where the
    chosen locale and the signed-in user are cached) between every request made inside it.
    """
    with app.app_context():
        return client.open(url, method=method, **kwargs)


def _text(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages of the code and templates, extracted now with the project's babel.cfg."""
    target = tmp_path_factory.mktemp("i18n") / "messages.pot"
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                                    "-k", "N_",
                                    "-o", str(target), "."])
    finally:
        os.chdir(cwd)
    with target.open("rb") as handle:
        return read_po(handle)


def test_every_extracted_message_has_a_chinese_translation(extracted: Catalog) -> None:
    """A string added to the UI without its Chinese translation fails here."""
    catalog = read_catalog()
    assert len(extracted) > 100
    missing, fuzzy = [], []
    for message in extracted:
        if not message.id:
            continue
        translated = catalog.get(message.id, message.context)
        strings = [] if translated is None else (
            list(translated.string) if isinstance(translated.string, tuple) else [translated.string])
        if translated is None or not all(s and s.strip() for s in strings):
            missing.append(_text(message))
        elif translated.fuzzy:
            fuzzy.append(_text(message))
    assert missing == [], f"untranslated in {PO_FILE.relative_to(ROOT)} (run pybabel update and translate): {missing}"
    assert fuzzy == [], f"fuzzy translations: {fuzzy}"


def test_the_catalog_has_no_fuzzy_or_stale_header() -> None:
    """The catalog as a whole is not fuzzy, so pybabel compile takes it without --use-fuzzy."""
    catalog = read_catalog()
    assert not catalog.fuzzy
    assert str(catalog.locale) == "zh"
    assert [m for m in catalog if m.id and m.fuzzy] == []


def test_placeholders_of_each_translation_match_its_msgid() -> None:
    """%(name)s placeholders survive translation one for one, and babel's own checks pass."""
    wrong = []
    for message in read_catalog():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = _placeholders(ids[0])
        for text in strings:
            if _placeholders(text) != expected:
                wrong.append((ids[0], text))
    assert wrong == []
    problems = [(m.id, [str(e) for e in errors]) for m, errors in read_catalog().check() if errors]
    assert problems == []


def test_the_catalog_compiles() -> None:
    """The .po compiles into a .mo that gettext loads."""
    from babel.support import Translations

    ensure_compiled()
    with MO_FILE.open("rb") as handle:
        translations = Translations(handle)
    assert translations.gettext("Inbox") == "待办"
    assert translations.gettext("Sign in") == "登录"


def test_pages_are_chinese_by_default_and_english_on_request(ctx: Flask, client: FlaskClient) -> None:
    """The login page speaks Chinese unless ?lang=en asks for English."""
    ensure_compiled()
    page = fresh_request(ctx, client, "GET", "/login")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="zh-CN"' in body
    assert "登录" in body and "用户名" in body and "密码" in body
    assert "Sign in" not in body

    page = fresh_request(ctx, client, "GET", "/login?lang=en")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="en"' in body
    assert "Sign in" in body and "Username" in body
    assert "登录" not in body


def test_labels_of_codes_follow_the_language(ctx) -> None:
    """Statuses, actions, kinds and field problems are shown in the reader's language."""
    from app import labels

    ensure_compiled()
    with ctx.app_context(), ctx.test_request_context("/"):
        assert labels.label(labels.ACTION, "returned") == "审核退回"
        assert labels.label(labels.STATUS, "running") == "办理中"
        assert labels.label(labels.KIND, "shop") == "店面"
        assert labels.label(labels.ACTION, "unknown_code") == "unknown_code"
        assert labels.problem("Missing data for required field.") == "此项为必填项。"
        assert labels.problem("Must be greater than or equal to 1 and less than or equal to 50.") == \
            "请输入 1 至 50 之间的数值。"
        assert labels.problem("something new") == "something new"
        assert labels.error_text("claimed", "this step is claimed by another user") == "该环节已被其他人员签收。"
    with ctx.app_context(), ctx.test_request_context("/?lang=en"):
        assert labels.label(labels.ACTION, "returned") == "Returned"
        assert labels.problem("Missing data for required field.") == "This field is required."
