"""The JSON API, version 1 (../shared/API.md)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import auth, routes_cases, routes_meta, routes_tasks  # noqa: E402,F401
