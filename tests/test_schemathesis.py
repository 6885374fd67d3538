"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis): whatever the input, no
answer is a server error.

Bounded and repeatable: a fixed seed, derandomized generation, a few examples per operation and no example
database; every operation runs as the administrator (who reaches the most code) with a bearer token.
Schemathesis's own pytest runner does not work with this pytest (it sets a node attribute pytest 9 no longer
has), so each operation's strategy is driven by hypothesis here.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from app.extensions import db
from app.models import User, utcnow
from services import files, tokens
from services.compensation import policy as compensation_policy
from services.context import Actor
from services.errors import Unauthorized
from services.tx import transaction
from tests import factories
from tests.api_support import CHEAP_HASH
from tests.case_data import PNG as CASE_PNG
from tests.conftest import _clear

MAX_EXAMPLES = 15
CONFIG = {
    "seed": 2026,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
}
PNG = CASE_PNG  # a real image: uploads are opened, not only sniffed


class Caller:
    """The administrator's bearer token, issued again whenever a fuzzed request revoked it."""

    def __init__(self, app: Flask, user_id: int):
        self.app, self.user_id, self.raw = app, user_id, ""

    def headers(self) -> dict[str, str]:
        with self.app.app_context():
            try:
                tokens.token_for(self.raw, utcnow())
            except Unauthorized:
                with transaction():
                    self.raw, _ = tokens.issue(Actor(db.session.get(User, self.user_id), "127.0.0.1"), 12, utcnow(),
                                               name="schemathesis")
            db.session.remove()
        return {"Authorization": f"Bearer {self.raw}"}


@pytest.fixture(scope="module")
def fuzz_world(app: Flask) -> Iterator[Caller]:
    """Both projects, one household with a photo, the default policy: ids 1, 2 … name real rows."""
    _clear(app)
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr("services.identity.generate_password_hash", CHEAP_HASH)
        world = factories.build_world()
        compensation_policy.ensure_default(Actor.system(), utcnow())
        db.session.commit()
        household, _instance = factories.new_household(world)
        files.upload(world.actor("surveyor"), household.id, "survey", _category(), "photo.png", io.BytesIO(PNG),
                     upload_dir=app.config["UPLOAD_DIR"], max_bytes=1 << 20, now=utcnow())
        caller = Caller(app, world.users["admin"].id)
        db.session.remove()
    yield caller
    _clear(app)


def _category() -> str:
    from services.modules.dossier import CATEGORIES

    return next(iter(CATEGORIES))


def _fuzz(operation, mode: GenerationMode, caller: Caller) -> None:
    """Run one operation's generated cases through the application; raises on the first server error."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.target, Phase.shrink))
    def run(case) -> None:
        case.call_and_validate(headers=caller.headers(), checks=[not_a_server_error])

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_gets_a_server_error(app: Flask, fuzz_world: Caller, mode: GenerationMode):
    """Every operation of the document, with inputs that follow its schemas (valid) or break them (invalid)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app,
                                            config=schemathesis.Config.from_dict(CONFIG))
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzz(operation, mode, fuzz_world)
        except Unsatisfiable:
            continue  # nothing of this operation can be made invalid (no parameters, no body)
        except (Exception, FailureGroup) as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 40
    assert not failures, "\n\n".join(failures)


def test_the_document_describes_the_token_endpoints(app: Flask):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert {"get"} <= set(document["paths"]["/api/v1/auth/tokens"])
    assert {"delete"} <= set(document["paths"]["/api/v1/auth/tokens/{token_id}"])
    assert "429" in document["paths"]["/api/v1/auth/token"]["post"]["responses"]
