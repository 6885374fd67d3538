"""The JSON API, version 1 (../shared/API.md)."""
from flask import Blueprint

bp = Blueprint("api", __name__)  # ids in its paths are <id:…> (app.routing)


from app.api import (  # noqa: E402,F401
    auth,
    idempotency,
    routes_agreements,
    routes_cases,
    routes_compensation,
    routes_duties,
    routes_excel,
    routes_integrity,
    routes_meta,
    routes_modules,
    routes_processes,
    routes_setup,
    routes_staff,
    routes_supervision,
    routes_tasks,
)
