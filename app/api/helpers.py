"""Small helpers shared by the API routes: reading bodies and query strings."""
from __future__ import annotations

import math
from typing import Any

from flask import jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError

from app.api.schemas import InstanceEnvelope, With
from app.models import ProcessInstance
from services import history, instances
from services.errors import InvalidInput
from services.forms.registry import flatten_messages, schema_instance
from services.problems import N_, problem
from services.problems import register as register_problems
from services.text import first_unwritable

register_problems({
    "body_not_json": N_("the body must be JSON"),
    "send_json": N_("send a JSON document"),
    "body_unstorable": N_("the body has values that cannot be accepted"),
    "query_has_errors": N_("the query has errors"),
    "nested_deep": N_("nested more than %(max)s levels deep"),
    "text_unicode_nul": N_("text must be valid Unicode without NUL characters"),
    "field_name_unicode": N_("field names must be valid Unicode without NUL characters"),
})

MAX_DEPTH = 32
MAX_INT = 2**63 - 1
MAX_PROBLEMS = 20


def json_body(member: str | None = None) -> Any:
    """The JSON body, or 422 when missing, not JSON or unstorable (inside `member`, named as its schema does)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if data is None:
        raise InvalidInput(problem("body_not_json"), {"body": [problem("send_json")]})
    problems = unstorable_values(data)
    if problems:
        if member:
            problems = {name.removeprefix(f"{member}."): found for name, found in problems.items()}
        raise InvalidInput(problem("body_unstorable"), problems)
    return data


def is_clean_text(value: str) -> bool:
    """True when the text can be stored by every database: valid Unicode without NUL characters."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def unstorable_values(data: Any) -> dict[str, list[str]]:
    """Fields of a parsed JSON document that hold NUL or broken text, non-finite or huge numbers, or nest too deep."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack and len(problems) < MAX_PROBLEMS:
        value, path, depth = stack.pop()
        name = path or "body"
        if depth > MAX_DEPTH:
            problems[name] = [problem("nested_deep", max=MAX_DEPTH)]
        elif isinstance(value, str):
            if not is_clean_text(value):
                problems[name] = [problem("text_unicode_nul")]
            elif first_unwritable(value) is not None:
                problems[name] = [problem("unwritable_text", char=first_unwritable(value))]
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems[name] = [problem("number")]
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_INT - 1 <= value <= MAX_INT:
                problems[name] = [problem("number_too_large")]
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{_printable(key)}" if path else _printable(key)
                if not is_clean_text(key):
                    problems[child] = [problem("field_name_unicode")]
                else:
                    stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{index}" if path else str(index), depth + 1)
                         for index, item in enumerate(value))
    return problems


def load(schema: type[Schema], data: Any) -> dict[str, Any]:
    """Validate input with a schema; InvalidInput names the bad fields."""
    if not isinstance(data, dict):
        raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
    try:
        return schema_instance(schema).load(data)
    except ValidationError as exc:
        raise InvalidInput(problem("request_has_errors"), flatten_messages(exc.messages)) from None


def query_args(schema: type[Schema]) -> dict[str, Any]:
    """Validated query-string arguments (unknown ones are ignored)."""
    args = request.args.to_dict()
    declared = schema_instance(schema).fields
    dirty = {name: [problem("text_nul")] for name, value in args.items()
             if name in declared and not is_clean_text(value)}
    if dirty:
        raise InvalidInput(problem("query_has_errors"), dirty)
    try:
        return schema_instance(schema, EXCLUDE).load(args)
    except ValidationError as exc:
        raise InvalidInput(problem("query_has_errors"), flatten_messages(exc.messages)) from None


def respond(schema: type[Schema], obj: Any, status: int = 200):
    """Serialise obj with schema as the response."""
    response = jsonify(schema_instance(schema).dump(obj))
    response.status_code = status
    return response


def with_steps(rows: list[ProcessInstance]) -> list[With]:
    """Instances with their open steps and whole histories, as the Instance object shows them: two statements
    however many instances."""
    ids = [r.id for r in rows]
    current, events = instances.open_steps_of(ids), history.entries_of(ids)
    return [With(r, current_tasks=current[r.id], history=events[r.id]) for r in rows]


def changed_instance(instance: ProcessInstance) -> dict[str, Any]:
    """The answer to a change of a case, `{"instance": …}`, read and dumped in the change's transaction."""
    return schema_instance(InstanceEnvelope).dump({"instance": with_steps([instance])[0]})
