"""The database out of reach: a 503 with Retry-After (JSON under /api/, a page elsewhere), never a traceback.

A database restart or outage surfaces as SQLAlchemy's OperationalError, a DBAPI error on an invalidated
connection, a pool timeout or psycopg's own OperationalError. The request can be tried again in a few
seconds, so it is answered 503 with Retry-After. The page is rendered without the signed-in user and
the unread count (both read the database), and the session is rolled back without letting a second
failure escape (Flask-SQLAlchemy's teardown would otherwise raise past every handler, and gunicorn
would answer with its own HTML 500).
"""
from __future__ import annotations

import logging

import psycopg
from flask import Flask, current_app, jsonify, request
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.extensions import db

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, DisconnectionError, PoolTimeout,
                                                  psycopg.OperationalError)


def is_outage(exc: BaseException) -> bool:
    """True when the error means the database cannot be reached (or dropped the connection) for now."""
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def safe_rollback() -> None:
    """Roll the session back; a connection that is gone cannot fail the answer."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is broken; the pool replaces it
        log.warning("rollback failed; the connection is discarded", exc_info=True)
        _discard()


def _discard() -> None:
    try:
        db.session.close()
    except Exception:  # noqa: BLE001 - nothing more can be done with this connection
        log.warning("closing the session failed", exc_info=True)


def unavailable_response(exc: BaseException):
    """503 with Retry-After: the API's JSON error or a plain Chinese page that needs no database."""
    safe_rollback()
    log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    if request.path.startswith("/api/") or request.path == "/healthz":
        response = jsonify({"error": {"code": "unavailable",
                                      "message": "the database is unavailable; try again in a few seconds"}})
    else:
        template = current_app.jinja_env.get_template("errors/unavailable.html")
        # rendered without the context processors: they read the signed-in user from the database
        response = current_app.response_class(template.render(seconds=RETRY_AFTER_SECONDS,
                                                              title=gettext("Temporarily unavailable")),
                                              mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """The outage handlers, and a session teardown that never raises past them."""
    for kind in (*OUTAGE_ERRORS, DBAPIError):
        app.register_error_handler(kind, _handle)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        # runs before Flask-SQLAlchemy's own teardown (teardowns run last-registered first), which then
        # finds nothing left to roll back
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001 - a dead connection must not turn the answer into gunicorn's 500
            log.warning("removing the session failed; the connection is discarded", exc_info=True)
            db.session.registry.clear()  # so Flask-SQLAlchemy's own teardown finds no session to close again


def _handle(exc: Exception):
    if is_outage(exc):
        return unavailable_response(exc)
    from app.errors import unexpected_response

    return unexpected_response(exc)
