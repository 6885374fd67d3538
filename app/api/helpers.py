"""Small helpers shared by the API routes: reading bodies and query strings."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError

from services.errors import InvalidInput
from services.forms.registry import flatten_messages


def json_body() -> Any:
    """The request's JSON body; InvalidInput when it is missing or not JSON."""
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("the body must be JSON", {"body": ["send a JSON document"]})
    return data


def load(schema: type[Schema], data: Any) -> dict[str, Any]:
    """Validate input with a schema; InvalidInput names the bad fields."""
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", {"body": ["must be an object"]})
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise InvalidInput("the request has errors", flatten_messages(exc.messages)) from None


def query_args(schema: type[Schema]) -> dict[str, Any]:
    """Validated query-string arguments (unknown ones are ignored)."""
    try:
        return schema(unknown=EXCLUDE).load(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidInput("the query has errors", flatten_messages(exc.messages)) from None


def respond(schema: type[Schema], obj: Any, status: int = 200):
    """Serialise obj with schema as the response."""
    response = jsonify(schema().dump(obj))
    response.status_code = status
    return response
