"""Every role's pages, crawled from where it lands: no full ID number, no UTC timestamp, no internal key or
object id, no English sentence on a Chinese page, no 5xx.

The demo data (cases at every step, returned and overdue ones, two projects) is seeded once for the
module; each role then follows the links of its pages (GET only, within the site) from its landing page.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urljoin, urlparse

import lxml.html
import pytest
from flask import Flask

from app.extensions import db
from services import demo
from services.roles import ROLES
from tests.conftest import _clear
from tests.test_i18n import ensure_compiled

PASSWORD = "Crawl-pass-2026"
PAGES_PER_ROLE = 90
PER_SHAPE = 2
# what a clerk must never read on a Chinese page
FULL_ID = re.compile(r"(?<![\d*])\d{17}[\dXx](?![\d*])")
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d(:\d\d)?(\.\d+)?Z\b|\+00:00")
ENGLISH = re.compile(r"(?<![\w@./-])[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,}){2,}")
INTERNAL_KEY = re.compile(r"(?<![\w@./-])[a-z]+(?:_[a-z0-9]+)+(?![\w@./-])")
OBJECT_ID = re.compile(r"\b(?:user|household|human_task|task|instance|file|attachment|person|building|id)"
                       r"\s*[#:]?\s*\d+\b", re.IGNORECASE)
# links a crawl does not follow: they change state, switch the language, reveal personal data or download files
SKIP = re.compile(r"/logout|/lang/|reveal|/download|/preview|/files/|/export|\.xlsx|\.docx|\.zip|\.pdf|\.bpmn"
                  r"|/openapi|/api/|/static/|/healthz|mailto:|javascript:")
TEXT_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


@pytest.fixture(scope="module")
def seeded(app: Flask) -> Iterator[Flask]:
    """The demo: about twenty households at every step, in the module's own cleared database."""
    ensure_compiled()
    _clear(app)
    with app.app_context():
        demo.seed(password=PASSWORD, upload_dir=app.config["UPLOAD_DIR"], households=20)
        db.session.remove()
    yield app
    _clear(app)


def _shape(url: str) -> str:
    parsed = urlparse(url)
    return re.sub(r"\d+", "N", parsed.path) + ("?" + re.sub(r"=[^&]*", "=", parsed.query) if parsed.query else "")


def _visible(html: str) -> list[str]:
    """The texts a person reads: element text (without scripts and styles) and the readable attributes."""
    tree = lxml.html.fromstring(html)
    for node in tree.xpath("//script|//style|//template|//noscript"):
        node.drop_tree()
    for node in tree.xpath("//*[@translate='no']"):  # a sign-in name, shown as it is typed
        node.drop_tree()
    texts = [" ".join(t.split()) for t in tree.itertext() if t.strip()]
    for attribute in TEXT_ATTRIBUTES:
        texts += [v for v in tree.xpath(f"//@{attribute}") if v.strip()]
    texts += [v for v in tree.xpath("//input[@type='submit' or @type='button']/@value") if v.strip()]
    return texts


def _links(html: str, base: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    found = []
    for href in tree.xpath("//a/@href"):
        target = urljoin(base, href.split("#")[0])
        parsed = urlparse(target)
        if parsed.netloc not in ("", "localhost") or not parsed.path or SKIP.search(target):
            continue
        found.append(parsed.path + (f"?{parsed.query}" if parsed.query else ""))
    return found


def page_problems(html: str, own_username: str) -> list[str]:
    """What a Chinese page must not show, each as a short description with the offending text."""
    problems = [f"full ID number {m.group(0)[:6]}…" for m in FULL_ID.finditer(html)]
    for text in _visible(html):
        if text == own_username:
            continue
        for pattern, what in ((UTC_TIME, "UTC time"), (ENGLISH, "English"), (INTERNAL_KEY, "internal key"),
                              (OBJECT_ID, "object id")):
            found = pattern.search(text)
            if found:
                problems.append(f"{what}: {found.group(0)!r} in {text[:80]!r}")
    return problems


def crawl(app: Flask, username: str) -> tuple[list[str], list[str]]:
    """Sign in and follow the links; (pages seen, problems found)."""
    client = app.test_client()
    with app.app_context():
        answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, f"{username} could not sign in"
    queue, seen, shapes, problems = [answer.headers["Location"]], [], Counter(), []
    visited: set[str] = set()
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.pop(0)
        if url in visited or shapes[_shape(url)] >= PER_SHAPE:
            continue
        visited.add(url)
        shapes[_shape(url)] += 1
        with app.app_context():
            response = client.get(url)
        if response.status_code in (301, 302, 303):
            queue.insert(0, response.headers["Location"])
            continue
        seen.append(url)
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
            continue
        if "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        problems += [f"{url}: {p}" for p in page_problems(html, username)]
        queue += [link for link in _links(html, url) if link not in visited]
    return seen, problems


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_page_a_role_reaches_reads_as_the_office_file(seeded: Flask, role: str) -> None:
    seen, problems = crawl(seeded, role)
    assert len(seen) >= 4, f"{role} reached only {seen}"
    assert not problems, f"{role}: {len(problems)} problems on {len(seen)} pages:\n" + "\n".join(
        sorted(set(problems))[:60])


def test_the_checks_catch_what_they_look_for() -> None:
    bad = ("<html><body><p>110101199003071234</p><p>2026-12-06T10:42:14Z</p><p>paid of the agreed</p>"
           "<p>calc_auditor</p><p>human_task 129</p><script>var x = 'no english check here';</script></body></html>")
    found = " | ".join(page_problems(bad, "nobody"))
    for what in ("full ID number", "UTC time", "English", "internal key", "object id"):
        assert what in found
    good = "<html><body><p>张三 · 3301**********1234</p><p>2026-12-06 18:42</p><p>1,176,540.02 元</p></body></html>"
    assert page_problems(good, "nobody") == []
