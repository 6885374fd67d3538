"""The JSON API, version 1 (../shared/API.md)."""
from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from app.models import MAX_ID

bp = Blueprint("api", __name__)


class IdConverter(BaseConverter):
    """A row id in a path: digits; a number beyond the id range names nothing, so it is an unknown id."""

    regex = r"\d+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        """The id, or 0 (which no row has) when it is out of range."""
        return int(value) if len(value) <= 10 and 0 < int(value) <= MAX_ID else 0

    def to_url(self, value: int) -> str:
        """The id as digits."""
        return str(int(value))


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    """Routes of this blueprint name ids as <id:name>; the converter is added before they are."""
    state.app.url_map.converters.setdefault("id", IdConverter)


from app.api import (  # noqa: E402,F401
    auth,
    idempotency,
    routes_agreements,
    routes_cases,
    routes_compensation,
    routes_excel,
    routes_meta,
    routes_modules,
    routes_processes,
    routes_supervision,
    routes_tasks,
)
