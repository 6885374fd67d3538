"""The validate endpoint takes any bytes: hostile, malformed, huge or odd documents get a clean answer, never a 5xx."""
from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services import definitions
from services.engine import MAX_XML_BYTES
from services.processes import validation
from tests.api_support import assert_error, fast_passwords  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

URL = "/api/v1/process-definitions/validate"
SHIPPED = (Path(definitions.SHIPPED_DIR) / "relocation.bpmn").read_bytes()
BPMN = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def process(body: str, *, pid: str = "p", executable: str = "true") -> str:
    return f'<bpmn:process id="{pid}" isExecutable="{executable}">{body}</bpmn:process>'


def document(*parts: str, head: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{head}<bpmn:definitions {BPMN} id="d" '
            f'targetNamespace="http://x">{"".join(parts)}</bpmn:definitions>').encode()


MINIMAL = process('<bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>'
                  '<bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>'
                  '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />')

HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \n\t ",
    "not xml": b"hello, this is not a diagram",
    "json": b'{"bpmn": "<definitions/>"}',
    "truncated": SHIPPED[: len(SHIPPED) // 2],
    "binary": bytes(range(256)) * 8,
    "nul bytes": b"\x00" * 4096,
    "zip magic": b"PK\x03\x04" + bytes(200),
    "utf-16": '<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16"),
    "declared gbk": b'<?xml version="1.0" encoding="GBK"?>' + document(MINIMAL).split(b"?>", 1)[1],
    "latin-1 bytes": document(process('<bpmn:task id="t" name="caf\xe9" />').replace("caf\xe9", "cafe")).replace(
        b"cafe", b"caf\xe9"),
    "deeply nested": b"<a>" * 50_000 + b"</a>" * 50_000,
    "deeply nested bpmn": document(process("<bpmn:subProcess id='x'>" * 200 + "</bpmn:subProcess>" * 200)),
    "billion laughs": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                                  for i in range(1, 10))
                       + b"]><lolz>&lol9;</lolz>"),
    "external entity": (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                        + document(process("<bpmn:task id='t' name='&xxe;' />")).split(b"?>", 1)[1]),
    "network entity": (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
                       b"<d/>"),
    "doctype only": b'<?xml version="1.0"?><!DOCTYPE definitions>' + document(MINIMAL).split(b"?>", 1)[1],
    "xinclude": document(process('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" '
                                 'parse="text"/>')),
    "xml stylesheet": document(MINIMAL, head='<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/x.xsl"?>'),
    "wrong namespace": b'<definitions xmlns="http://www.omg.org/bpmn20"><process id="p"/></definitions>',
    "no namespace": b"<definitions><process id='p' isExecutable='true'/></definitions>",
    "html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "no process": document(),
    "non-executable": document(MINIMAL.replace('isExecutable="true"', 'isExecutable="false"')),
    "several processes": document(MINIMAL, MINIMAL.replace('id="p"', 'id="q"')),
    "no start": document(process('<bpmn:endEvent id="e" />')),
    "bad ids": document(process("<bpmn:task id='a b\"c' />")),
    "long process id": document(MINIMAL.replace('id="p"', f'id="{"p" * 300}"')),
    "unknown refs": document(process('<bpmn:sequenceFlow id="f" sourceRef="nowhere" targetRef="nothing" />')),
    "huge attribute": document(process(f'<bpmn:task id="t" name="{"x" * 1_500_000}" />')),
    "many elements": document(process("".join(f'<bpmn:task id="t{i}" />' for i in range(20_000)))),
    "hostile script": document(process('<bpmn:scriptTask id="s"><bpmn:script>import os</bpmn:script>'
                                       '</bpmn:scriptTask>')),
    "hostile timer": document(process('<bpmn:intermediateCatchEvent id="c"><bpmn:timerEventDefinition>'
                                      '<bpmn:timeDuration>__import__("os")</bpmn:timeDuration>'
                                      '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')),
    "cdata and comments": document("<!-- c -->" + MINIMAL.replace('<bpmn:startEvent id="s">',
                                                                 '<bpmn:startEvent id="s"><![CDATA[x]]>')),
    "surrogate escapes": document(process('<bpmn:task id="t" name="&#xD800;" />')),
    "processing instruction": document(MINIMAL, head="<?evil run?>"),
}


# processing instructions are ignored: nothing is fetched or run, the diagram inside is valid
HARMLESS = {"processing instruction", "xml stylesheet"}


def check_answer(body: dict) -> None:
    assert set(body) == {"valid", "errors"}
    assert isinstance(body["valid"], bool) and isinstance(body["errors"], list)
    assert body["valid"] == (body["errors"] == [])
    for problem in body["errors"]:
        assert set(problem) == {"element_id", "message"}
        assert problem["element_id"] is None or isinstance(problem["element_id"], str)
        assert isinstance(problem["message"], str) and problem["message"]


def test_the_shipped_diagram_is_valid(world, api):
    response = api.post(URL, as_="surveyor", data=SHIPPED, content_type="application/xml")
    assert response.status_code == 200 and response.get_json() == {"valid": True, "errors": []}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bodies_get_a_clean_answer(world, api, name):
    started = time.monotonic()
    response = api.post(URL, as_="process_owner", data=HOSTILE[name], content_type="application/xml")
    assert time.monotonic() - started < 20
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    check_answer(body)
    assert body["valid"] is (name in HARMLESS), name
    assert len(body["errors"]) <= validation.MAX_PROBLEMS + 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/octet-stream",
                                          "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                                          None])
def test_any_content_type_is_read_as_the_diagram(world, api, content_type):
    response = api.post(URL, as_="process_owner", data=SHIPPED, content_type=content_type)
    assert response.status_code == 200 and response.get_json()["valid"] is True


def test_a_body_above_the_limit_is_refused_with_413(world, api):
    response = api.post(URL, as_="process_owner", data=b"<" + b"a" * MAX_XML_BYTES + b"/>",
                        content_type="application/xml")
    assert_error(response, 413, "payload_too_large")


class Endless:
    """A request body that never ends, counting what was read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = 65536 if size is None or size < 0 else min(size, 65536)
        self.read_bytes += size
        return b"<" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_a_streamed_body_without_a_length_is_read_only_up_to_the_limit(world, api):
    builder = EnvironBuilder(path=URL, method="POST", content_type="application/xml",
                             headers={"Authorization": f"Bearer {api.token('process_owner')}"})
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    body = Endless()
    environ.update({"wsgi.input": body, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    response = api.client.open(Request(environ))
    assert_error(response, 413)
    assert body.read_bytes <= MAX_XML_BYTES + 65536


def test_validation_needs_a_token(world, api):
    assert_error(api.post(URL, data=SHIPPED, content_type="application/xml"), 401)


@pytest.mark.parametrize("name", ["empty", "binary", "billion laughs", "external entity", "xinclude",
                                  "wrong namespace", "non-executable", "several processes", "deeply nested",
                                  "declared gbk", "long process id"])
def test_hostile_bodies_are_no_drafts(world, api, name):
    response = api.post("/api/v1/process-definitions", as_="process_owner", data=HOSTILE[name],
                        content_type="application/xml")
    assert_error(response, 422, fields={"bpmn"})


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One random damage to a document: cut, splice, flip, duplicate, drop a line or an attribute."""
    choice = rng.randrange(8)
    at = rng.randrange(len(data))
    if choice == 0:
        return data[:at]
    if choice == 1:
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))) + data[at:]
    if choice == 2:
        span = rng.randrange(1, 400)
        return data[:at] + data[at + span:]
    if choice == 3:
        other = rng.randrange(len(data))
        return data[:at] + data[other:other + rng.randrange(1, 400)] + data[at:]
    if choice == 4:
        lines = data.split(b"\n")
        del lines[rng.randrange(len(lines))]
        return b"\n".join(lines)
    if choice == 5:
        lines = data.split(b"\n")
        index = rng.randrange(len(lines))
        lines.insert(rng.randrange(len(lines)), lines[index])
        return b"\n".join(lines)
    if choice == 6:
        for word in rng.sample([b'id="', b'sourceRef="', b'targetRef="', b'name="', b"decision", b"==",
                                b'value="', b'attachedToRef="', b'errorRef="', b"flowNodeRef>"], 2):
            data = data.replace(word, word + rng.choice([b"x", b"'", b"\"", b"&", b"<", b"", b"1 "]), 1)
        return data
    return bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.001 else b for b in data)


def test_random_damage_to_the_shipped_diagram_never_breaks_validation(world):
    rng = random.Random(20261125)
    outcomes = {"valid": 0, "invalid": 0}
    for _ in range(150):
        data = SHIPPED
        for _ in range(rng.randrange(1, 4)):
            data = mutate(rng, data) or data
        problems = definitions.validate(data)
        check_answer({"valid": not problems, "errors": problems})
        outcomes["valid" if not problems else "invalid"] += 1
    assert outcomes["invalid"] > 100


def test_random_damage_through_the_api_and_the_draft_store(world, api):
    rng = random.Random(7)
    for _ in range(25):
        data = mutate(rng, mutate(rng, SHIPPED))
        response = api.post(URL, as_="process_owner", data=data, content_type="application/xml")
        assert response.status_code == 200
        check_answer(response.get_json())
        stored = api.post("/api/v1/process-definitions", as_="process_owner", data=data,
                          content_type="application/xml")
        assert stored.status_code in (201, 422), stored.get_data(as_text=True)[:300]
        if stored.status_code == 201:
            deployed = api.post(f"/api/v1/process-definitions/{stored.get_json()['id']}/deploy", as_="process_owner")
            assert deployed.status_code in (200, 422), deployed.get_data(as_text=True)[:300]
