"""Problems as data: a stable code and its parameters, worded in English for the API and translated by code on pages.

A `Problem` is a `str` (its English wording, which the API's `fields` carry as before) that also
knows its `code` and `params`; pages translate it by code (`app.labels.problem`), never by
matching the English words. `CodedSchema` makes every marshmallow field and validator report
Problems, so a form declared once speaks both languages everywhere.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate


def N_(text: str) -> str:
    """Marks an English wording for the translation catalogue; the text itself is unchanged."""
    return text


# Every problem's English wording by its code; the Chinese comes from the catalogue, looked up by this text.
WORDING: dict[str, str] = {
    # what marshmallow's fields and validators report (through CodedSchema)
    "required": N_("This field is required."),
    "invalid": N_("The value is not valid."),
    "integer": N_("Enter a whole number."),
    "number": N_("Enter a number."),
    "number_too_large": N_("The number is too large."),
    "date": N_("Enter a date as YYYY-MM-DD."),
    "datetime": N_("Enter a date and time."),
    "boolean": N_("Choose yes or no."),
    "email": N_("Enter an e-mail address."),
    "list": N_("Enter a list."),
    "object": N_("The value is not valid."),
    "unknown_field": N_("This field is not part of the form."),
    "range": N_("Enter a value from %(min)s to %(max)s."),
    "min_value": N_("Enter at least %(min)s."),
    "max_value": N_("Enter at most %(max)s."),
    "length_range": N_("Enter between %(min)s and %(max)s characters."),
    "length_min": N_("Enter at least %(min)s characters."),
    "length_max": N_("Enter at most %(max)s characters."),
    "length_equal": N_("Enter exactly %(equal)s characters."),
    "required_max": N_("This field is required (at most %(max)s characters)."),
    "items_range": N_("Give from %(min)s to %(max)s entries."),
    "items_min": N_("Give at least %(min)s entries."),
    "items_max": N_("Give at most %(max)s entries."),
    "one_of": N_("Choose one of the listed options."),
    "format": N_("The format is not valid."),
    "equal": N_("The value is not valid."),
    # shared by the services
    "not_object": N_("must be an object"),
    "body_not_object": N_("the body must be a JSON object"),
    "data_not_object": N_("data must be an object"),
    "at_most_chars": N_("at most %(max)s characters"),
    "two_places": N_("at most 2 decimal places"),
    "has_errors": N_("the form has errors"),
    "request_has_errors": N_("the request has errors"),
    "definition_not_found": N_("process definition not found"),
    "file_missing": N_("Choose a file to upload."),
    "text_nul": N_("must be text without NUL characters"),
    "task_not_found": N_("task not found"),
    "task_not_ready": N_("this step is no longer open"),
    "task_claimed": N_("this step is claimed by another user"),
    "instance_not_found": N_("process instance not found"),
}

# Range validators with a bound this far out mean "any number" (they only keep the database's columns safe).
_SENTINEL = Decimal(10) ** 6


# Parameters that hold the code of something with a name (a role, a dossier item): how to name it in a locale.
NAMERS: dict[str, Callable[[Any, str], str]] = {}


def name_param(key: str, namer: Callable[[Any, str], str]) -> None:
    """Parameters under `key` hold codes; `namer(code, locale)` names them ("en" for the API's wording)."""
    NAMERS[key] = namer


def named(params: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The parameters with every coded one replaced by its name in the locale."""
    out = {}
    for key, value in params.items():
        namer = NAMERS.get(key)
        if namer is None:
            out[key] = value
        elif isinstance(value, list):
            out[key] = "、".join(namer(v, locale) for v in value) if locale != "en" else ", ".join(
                namer(v, locale) for v in value)
        else:
            out[key] = namer(value, locale)
    return out


def register(wordings: Mapping[str, str]) -> None:
    """Add the wordings of a module's own problems (each code once)."""
    for code, text in wordings.items():
        if WORDING.get(code, text) != text:
            raise ValueError(f"problem code {code} worded twice")
        WORDING[code] = text


def _plain(value: Any) -> Any:
    """A parameter as JSON can carry it."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


class Problem(str):
    """A problem: its English wording as the string, with `code` and `params` for translation."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, /, **params: Any) -> Problem:
        plain = {key: _plain(value) for key, value in params.items()}
        template = WORDING.get(code)
        if template is None:
            raise KeyError(f"unknown problem code {code}")
        try:
            text = template % named(plain, "en") if plain else template
        except (KeyError, TypeError, ValueError):
            text = template
        obj = super().__new__(cls, text)
        obj.code = code
        obj.params = plain
        return obj

    def __reduce__(self) -> tuple[Callable[..., Problem], tuple[Any, ...]]:
        return _rebuild, (self.code, self.params)

    def __mod__(self, values: Any) -> Problem:  # type: ignore[override]
        """Already worded: formatting it again (as WTForms does with a message) keeps the Problem."""
        return self

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API reports it beside the wording."""
        return {"code": self.code, "params": self.params}


def carried(exc: BaseException) -> str:
    """The Problem an exception was raised with, else its text."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Problem) else str(exc)


def _rebuild(code: str, params: dict[str, Any]) -> Problem:
    return Problem(code, **params)


def problem(code: str, /, **params: Any) -> Problem:
    """The Problem of that code with its parameters."""
    return Problem(code, **params)


def _bound(value: Any) -> Any:
    """A validator's bound, or None when it stands for "no bound"."""
    if value is None:
        return None
    try:
        return None if abs(Decimal(str(value))) >= _SENTINEL else value
    except ArithmeticError:
        return value


def _range_code(params: dict[str, Any]) -> str:
    low, high = _bound(params.get("min")), _bound(params.get("max"))
    if low is None and high is None:
        return "number"
    if low is None:
        return "max_value"
    return "min_value" if high is None else "range"


def _length_code(params: dict[str, Any]) -> str:
    if params.get("equal") is not None:
        return "length_equal"
    low, high = params.get("min"), params.get("max")
    if not low:
        return "length_max"
    if high is None:
        return "length_min"
    return "required_max" if low == 1 else "length_range"


class Template(str):
    """Stands in for a marshmallow error message: formatting it, as marshmallow does, gives a Problem."""

    def __new__(cls, code: str, chooser: Callable[[dict[str, Any]], str] | None = None) -> Template:
        obj = super().__new__(cls, WORDING.get(code, code))
        obj.code = code
        obj.params = {}
        obj.chooser = chooser
        return obj

    def format(self, *args: Any, **kwargs: Any) -> Problem:  # type: ignore[override]
        params = {key: value for key, value in kwargs.items()
                  if key in ("min", "max", "equal") and value is not None}
        code = self.chooser(kwargs) if self.chooser else self.code
        if code in ("range", "min_value", "max_value", "number"):
            params = {key: value for key, value in params.items() if _bound(value) is not None}
        return Problem(code, **params)


def range_problem(low: Any, high: Any) -> Problem:
    """The problem of a number outside [low, high], worded as marshmallow's Range is."""
    return Template("range", _range_code).format(min=low, max=high)


def _list_length_code(params: dict[str, Any]) -> str:
    code = _length_code(params)
    return {"length_max": "items_max", "length_min": "items_min"}.get(code, "items_range")


_INVALID_BY_TYPE: tuple[tuple[type, str], ...] = (
    (fields.Integer, "integer"), (fields.Number, "number"), (fields.DateTime, "datetime"),
    (fields.Date, "date"), (fields.Boolean, "boolean"), (fields.Email, "email"), (fields.List, "list"),
    (fields.Nested, "object"), (fields.Dict, "object"),
)
_KEYS = {"required": "required", "null": "required", "too_large": "number_too_large", "special": "number",
         "format": "date", "validator_failed": "invalid", "type": "object"}


def code_field(field: fields.Field) -> None:
    """Make a field, its inner fields and its validators report Problems."""
    invalid = next((code for kind, code in _INVALID_BY_TYPE if isinstance(field, kind)), "invalid")
    field.error_messages = {key: Template(invalid if key == "invalid" else _KEYS.get(key, "invalid"))
                            for key in field.error_messages}
    for validator in field.validators:
        code_validator(validator, is_list=isinstance(field, (fields.List, fields.Tuple)))
    for inner in (getattr(field, "inner", None), getattr(field, "value_field", None),
                  getattr(field, "key_field", None), *getattr(field, "tuple_fields", ())):
        if isinstance(inner, fields.Field):
            code_field(inner)


def code_validator(validator: Any, *, is_list: bool = False) -> None:
    """Give a marshmallow validator a Template instead of its English message (a Template given stays)."""
    if isinstance(getattr(validator, "error", None), Template):
        return
    if isinstance(validator, validate.Range):
        validator.error = Template("range", _range_code)
    elif isinstance(validator, validate.Length):
        validator.error = Template("items_range", _list_length_code) if is_list else Template("length_range",
                                                                                               _length_code)
    elif isinstance(validator, (validate.OneOf, validate.ContainsOnly, validate.ContainsNoneOf)):
        validator.error = Template("one_of")
    elif isinstance(validator, validate.Regexp):
        validator.error = Template("format")
    elif isinstance(validator, (validate.Equal, validate.NoneOf, validate.Predicate)):
        validator.error = Template("equal")
    elif isinstance(validator, (validate.URL, validate.Email)):
        validator.error = Template("format")


class CodedSchema(Schema):
    """A schema whose every field, validator and schema-level problem is a coded Problem."""

    error_messages = {"unknown": Template("unknown_field"), "type": Template("object")}

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        code_field(field_obj)
