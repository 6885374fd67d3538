"""Site-wide routes: the home redirect, health, language, notifications page."""
from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import routes  # noqa: E402,F401
