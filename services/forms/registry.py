"""The registry of step forms: the key a BPMN user task names → its schema and module."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema, ValidationError
from marshmallow import fields as mf

from services import personal
from services.errors import InvalidInput
from services.problems import problem

GatewayFn = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


@cache
def schema_instance(schema: type[Schema], unknown: str | None = None) -> Schema:
    """One instance per schema class (and unknown-field policy), reused: building a schema copies every
    declared field, which cost more than validating a request. Schemas keep no state between calls."""
    return schema(unknown=unknown) if unknown else schema()


def no_gateway_data(values: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Steps that decide nothing for the gateways."""
    return {}


def decision_gateway_data(values: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Reviewing steps hand their decision to the gateway after them."""
    return {"decision": values["decision"]}


@dataclass(frozen=True)
class StepForm:
    """A step's form: its schema, the module it writes and what it tells the gateways."""

    key: str
    schema: type[Schema]
    module: str
    title: Any
    reviewing: bool = False
    # where in the module's data the values go: None merges them at the top; "signatures.{role}"
    # keeps each signer's values apart
    section: str | None = None
    gateway: GatewayFn = field(default=no_gateway_data)

    def load(self, data: Any) -> dict[str, Any]:
        """Validate input; InvalidInput names every bad field."""
        if not isinstance(data, dict):
            raise InvalidInput(problem("data_not_object"), {"data": [problem("not_object")]})
        try:
            return schema_instance(self.schema).load(data)
        except ValidationError as exc:
            raise InvalidInput(problem("has_errors"), flatten_messages(exc.messages)) from None

    def dump(self, values: dict[str, Any]) -> dict[str, Any]:
        """JSON-ready values (Decimal as strings, dates as ISO)."""
        return schema_instance(self.schema).dump(values)


def flatten_messages(messages: Any) -> dict[str, list[str]]:
    """Marshmallow's nested messages as {"field.sub": [problems]}."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            if isinstance(value, dict):
                for sub, problems in flatten_messages(value).items():
                    out[f"{key}.{sub}"] = problems
            else:
                listed = value if isinstance(value, list) else [value]
                out[str(key)] = [v if isinstance(v, str) else str(v) for v in listed]
        return out
    return {"data": [messages if isinstance(messages, str) else str(messages)]}


FORMS: dict[str, StepForm] = {}


def register(form: StepForm) -> StepForm:
    """Add a form under its key; a key may be registered once."""
    if form.key in FORMS:
        raise ValueError(f"form {form.key} registered twice")
    FORMS[form.key] = form
    return form


def get_form(key: str | None) -> StepForm | None:
    """The form registered under a key, or None."""
    return FORMS.get(key or "")


_SPEC = APISpec("forms", "1", "3.0.3")
_CONVERTER = OpenAPIConverter("3.0.3", lambda schema: None, _SPEC)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)  # lazy translated strings
    return value


def json_schema(form: StepForm, household: Any = None, now: Any = None) -> dict[str, Any]:
    """The form as JSON Schema 2020-12 (titles in the current locale), for clients and the page renderer; for a
    household, the survey's items are those of its project's policy."""
    schema = schema_instance(form.schema)
    result = _with_json_types(schema, _CONVERTER.schema2jsonschema(schema))
    result["title"] = form.title
    result = _plain(result)
    if household is not None and form.module == "survey" and form.section is None:
        from app.models import utcnow
        from services.compensation.catalogue import adjust_survey_schema

        result = adjust_survey_schema(result, household, now or utcnow())
    return result


# personal data a step hands out masked (services.personal), and the shape of a masked number
MASKED_KEYS = personal.ID_NUMBER_KEYS | personal.PHONE_KEYS
MASKED_SHAPE = r"^[0-9]*\*+[0-9Xx]*$"


def _with_json_types(schema: Schema, result: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0's field descriptions made JSON Schema 2020-12 at every level of nesting: money as decimal
    strings (their bounds as x-minimum/x-maximum), null allowed by the type instead of `nullable`."""
    for name, prop in result.get("properties", {}).items():
        _with_json_type(schema.fields[name], prop)
        if name in MASKED_KEYS and "pattern" in prop:  # handed out masked; sent back as shown, it keeps the stored
            prop["pattern"] = f"(?:{prop['pattern']})|{MASKED_SHAPE}"
    return result


def _with_json_type(declared: mf.Field, prop: dict[str, Any]) -> None:
    if isinstance(declared, mf.Decimal):
        prop.update({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d{1,2})?$"})
        for bound in ("minimum", "maximum"):
            if bound in prop:
                prop[f"x-{bound}"] = prop.pop(bound)
    elif isinstance(declared, mf.Nested):
        _with_json_types(declared.schema, prop)
    elif isinstance(declared, mf.List) and "items" in prop:
        _with_json_type(declared.inner, prop["items"])
    if prop.pop("nullable", False) and "type" in prop:
        prop["type"] = [prop["type"], "null"]
