"""The OpenAPI 3 document, built from the routes' declared schemas."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from marshmallow import Schema
from werkzeug.routing import Rule

from app.api.schemas import ErrorSchema, HealthSchema
from app.models import MAX_ID

_DESCRIPTIONS = {200: "OK", 201: "Created", 400: "Bad request", 401: "No or bad credentials",
                 403: "Not allowed for the caller's roles", 404: "Unknown or outside the caller's projects",
                 409: "Conflicts with the current state", 413: "Too large", 415: "Unsupported media type",
                 422: "Invalid input", 429: "Too many failed attempts; retry after the Retry-After seconds",
                 503: "Unavailable"}


def doc(summary: str, *, response: type[Schema] | None = None, status: int = 200,
        body: type[Schema] | str | None = None, query: type[Schema] | None = None,
        errors: tuple[int, ...] = (), public: bool = False, tag: str = "api",
        content_type: str = "application/json") -> Callable:
    """Describe an API route for the OpenAPI document."""

    def decorate(view: Callable) -> Callable:
        view.__openapi__ = {"summary": summary, "response": response, "status": status, "body": body,
                            "query": query, "errors": errors, "public": public, "tag": tag,
                            "content_type": content_type}
        return view

    return decorate


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_DEFAULT_META = {"response": None, "status": 200, "body": None, "query": None, "errors": (), "public": False,
                 "tag": "api", "content_type": "application/json"}
# routes outside the API blueprint that belong to the contract
_EXTERNAL = {
    "main.healthz": {"summary": "Health: 200 while the database answers, 503 when it does not",
                     "response": HealthSchema, "errors": (503,), "public": True, "tag": "meta"},
}


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    parts = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            converter, _, name = part[1:-1].rpartition(":")
            kind = converter.partition("(")[0]
            params.append({"name": name, "in": "path", "required": True,
                           "schema": dict(_ID_SCHEMA) if kind in ("id", "int") else {"type": "string"}})
            parts.append("{" + name + "}")
        else:
            parts.append(part)
    return "/".join(parts), params


def _meta(app: Flask, endpoint: str) -> dict[str, Any] | None:
    """What a route declares about itself; API routes without a declaration get the defaults."""
    view = app.view_functions.get(endpoint)
    declared = getattr(view, "__openapi__", None) or _EXTERNAL.get(endpoint)
    if declared is None:
        if not endpoint.startswith("api.") or view is None:
            return None
        summary = (view.__doc__ or endpoint).strip().splitlines()[0]
        declared = {"summary": summary}
    return {**_DEFAULT_META, **declared}


def _error_codes(meta: dict[str, Any], has_path_params: bool) -> set[int]:
    """The error statuses an operation can answer: its own, plus those every route of its kind has."""
    codes = set(meta["errors"])
    if not meta["public"]:
        codes.add(401)
    if has_path_params:
        codes.add(404)
    if meta["body"] is not None or meta["query"] is not None:
        codes.add(422)
    if meta["body"] is not None:
        codes.add(413)
    return codes


IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": 200},
    "description": "Any unique string (1-200 printable ASCII characters) chosen by the client for this call. "
                   "A repeat by the same user with the same key within a day gets the first answer (status and "
                   "body, with the header Idempotent-Replayed: true) without the call being done again; the "
                   "same key with another request is a 422. Send it, and after a cut-off answer send the call "
                   "again with the same key. Only successful answers are kept.",
}


def _operation(rule: Rule, method: str, meta: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": meta["summary"], "tags": [meta["tag"]],
                                 "operationId": f"{rule.endpoint}.{method.lower()}",
                                 "parameters": list(params), "responses": {}}
    if meta["query"] is not None:
        operation["parameters"].append({"in": "query", "schema": meta["query"]})
    if method in ("POST", "PUT", "PATCH", "DELETE") and not meta["public"]:
        operation["parameters"].append(IDEMPOTENCY_KEY)
    if meta["body"] == "bpmn":
        operation["requestBody"] = {"required": True, "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/xml": {"schema": {"type": "string"}}}}
    elif meta["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta["body"]}}}
    ok: dict[str, Any] = {"description": _DESCRIPTIONS.get(meta["status"], "OK")}
    if meta["response"] is not None:
        ok["content"] = {meta["content_type"]: {"schema": meta["response"]}}
    operation["responses"][str(meta["status"])] = ok
    for code in sorted(_error_codes(meta, bool(params))):
        operation["responses"][str(code)] = {"description": _DESCRIPTIONS.get(code, "Error"),
                                             "content": {"application/json": {"schema": "Error"}}}
    operation["security"] = [] if meta["public"] else [{"bearer": []}]
    return operation


def _schema_name(schema: Any) -> str:
    """Component names: the API's own schemas by class name, others prefixed with their package."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    if cls.__module__.startswith("app."):
        return name
    return "".join(part.title() for part in cls.__module__.split(".")[1:-1]) + name


def _plain(value: Any) -> Any:
    """JSON-ready values: bounds given as Decimal become numbers."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def build_spec(app: Flask) -> dict[str, Any]:
    """Walk the routes and describe every route of the API (and the health check)."""
    spec = APISpec(title="征迁安置 case management API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "The public JSON API, version 1. Errors have the shape "
                                        '{"error": {"code", "message", "fields"}} ("fields" only for 422).'},
                   security=[{"bearer": []}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        meta = _meta(app, rule.endpoint)
        if meta is None:
            continue
        path, params = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, meta, params)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return _plain(spec.to_dict())
