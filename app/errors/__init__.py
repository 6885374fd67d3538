"""Error handling: one place turns every error into the API's JSON shape or a readable page."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.errors import limits, outage
from app.errors.outage import safe_rollback
from services.errors import ServiceError, TooManyRequests
from services.problems import N_, problem
from services.problems import register as register_problems

log = logging.getLogger(__name__)

# What an HTTP error says, by its code: never the framework's English description.
register_problems({
    "bad_request": N_("The request could not be understood."),
    "unauthorized": N_("Sign in first."),
    "forbidden": N_("Your roles do not allow this."),
    "not_found": N_("The page or record does not exist, or it is not in one of your projects."),
    "method_not_allowed": N_("This address cannot be used that way."),
    "conflict": N_("The change conflicts with data already recorded."),
    "payload_too_large": N_("The upload is too large."),
    "unsupported_media_type": N_("This type of file is not accepted."),
    "invalid_input": N_("Some of the input is not valid."),
    "too_many_requests": N_("Too many requests; wait a moment and try again."),
    "internal_error": N_("An unexpected error occurred; it has been logged."),
    "unavailable": N_("The service is temporarily unavailable."),
    "http_error": N_("The request could not be understood."),
    "uri_too_long": N_("The address is too long; go back and shorten the search."),
    "csrf": N_("The form has expired or was not sent from this site. Reload the page and try again."),
})
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 414: "uri_too_long",
          415: "unsupported_media_type",
          422: "invalid_input", 429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


def wants_json() -> bool:
    """API paths answer in JSON; pages answer in HTML."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """The API's error body with its status; a page for browsers."""
    if wants_json():
        body: dict = {"error": {"code": code, "message": message}}
        if status == 422:
            body["error"]["fields"] = fields or {}
            body["error"]["problems"] = coded_fields(fields or {})
        elif getattr(message, "params", None):  # a coded message with parameters: them too, by code
            body["error"]["problem"] = message.as_dict()
        response = jsonify(body)
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    return render_template("errors/error.html", status=status, code=code, message=message,
                           fields=fields or {}), status


def coded_fields(fields: dict) -> dict[str, list[dict]]:
    """Each field's problems by code and parameters, beside their English wording."""
    out: dict[str, list[dict]] = {}
    for name, problems in fields.items():
        out[name] = []
        for text in problems:
            if hasattr(text, "as_dict"):
                out[name].append(text.as_dict())
            else:
                log.warning("uncoded field problem %s: %r", name, str(text)[:200])
                out[name].append(problem("invalid").as_dict())
    return out


def register(app: Flask) -> None:
    """Install the handlers on the application."""

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        safe_rollback()
        response = make_response(error_response(exc.status, exc.code, exc.message, exc.fields))
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        safe_rollback()
        return error_response(400, "csrf", problem("csrf"))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        safe_rollback()
        status = exc.code or 500
        code = _CODES.get(status, "http_error")
        return error_response(status, code, problem(code))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        return unexpected_response(exc)

    outage.register(app)
    limits.register(app)


def unexpected_response(exc: Exception):
    """A 500 for what no handler expected, logged with its traceback."""
    safe_rollback()
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal_error", problem("internal_error"))
