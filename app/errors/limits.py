"""Limits checked before any route: an address too long (414) and a streamed body over MAX_CONTENT_LENGTH (413).

Both answer in the error shape of the rest (JSON under /api/, a page elsewhere) because they are raised
as HTTP errors inside the application. gunicorn's own request-line limit (gunicorn.conf.py) is set above
MAX_URL_LENGTH so that the application, not gunicorn's HTML, answers the long addresses people send.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, RequestURITooLarge


def _check_url() -> None:
    limit = current_app.config["MAX_URL_LENGTH"]
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    length = len(raw) if raw else len(environ.get("PATH_INFO", "").encode("utf-8", "surrogateescape")) + len(
        environ.get("QUERY_STRING", "")) + 1
    if length > limit:
        raise RequestURITooLarge(f"the address is longer than {limit} characters")


def _check_streamed_body() -> None:
    # A body sent without Content-Length (chunked) is cut at MAX_CONTENT_LENGTH by Werkzeug without a word:
    # read it here, so one that reaches the limit is a 413 instead of a JSON document that "does not parse".
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if not limit or request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not request.is_json:
        return  # other bodies (a diagram, an upload) are read by their own bounded readers
    if len(request.get_data(cache=True)) >= limit:
        raise RequestEntityTooLarge(f"the body is larger than {limit // (1024 * 1024)} MB")


def register(app: Flask) -> None:
    """Check every request's address and streamed body before its route runs."""
    app.before_request(_check_url)
    app.before_request(_check_streamed_body)
