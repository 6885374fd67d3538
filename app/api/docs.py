"""The OpenAPI 3 document, built from the routes' declared schemas."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema

from app.api.schemas import ErrorSchema

_DESCRIPTIONS = {200: "OK", 201: "Created", 400: "Bad request", 401: "No or bad credentials",
                 403: "Not allowed for the caller's roles", 404: "Unknown or outside the caller's projects",
                 409: "Conflicts with the current state", 413: "Too large", 415: "Unsupported media type",
                 422: "Invalid input", 503: "Unavailable"}


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


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    parts = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            converter, _, name = part[1:-1].rpartition(":")
            params.append({"name": name, "in": "path", "required": True,
                           "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
                           if converter == "int" else {"type": "string"}})
            parts.append("{" + name + "}")
        else:
            parts.append(part)
    return "/".join(parts), params


def build_spec(app: Flask) -> dict[str, Any]:
    """Walk the routes and describe every documented one."""
    spec = APISpec(title="征迁安置 case management API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "The public JSON API, version 1."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        meta = getattr(app.view_functions.get(rule.endpoint), "__openapi__", None)
        if meta is None:
            continue
        path, params = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {"summary": meta["summary"], "tags": [meta["tag"]],
                                         "operationId": f"{rule.endpoint}.{method.lower()}",
                                         "parameters": list(params), "responses": {}}
            if meta["query"] is not None:
                operation["parameters"].append({"in": "query", "schema": meta["query"]})
            if meta["body"] == "bpmn":
                operation["requestBody"] = {"required": True, "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "text/xml": {"schema": {"type": "string"}}}}
            elif meta["body"] is not None:
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": meta["body"]}}}
            ok: dict[str, Any] = {"description": _DESCRIPTIONS.get(meta["status"], "OK")}
            if meta["response"] is not None:
                ok["content"] = {meta["content_type"]: {"schema": meta["response"]}}
            operation["responses"][str(meta["status"])] = ok
            errors = set(meta["errors"])
            if not meta["public"]:
                errors.add(401)
                operation["security"] = [{"bearer": []}]
            else:
                operation["security"] = []
            if meta["body"] is not None or meta["query"] is not None:
                errors.add(422)
            for code in sorted(errors):
                operation["responses"][str(code)] = {
                    "description": _DESCRIPTIONS.get(code, "Error"),
                    "content": {"application/json": {"schema": "Error"}}}
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
