"""The case pages: the list with search, a new household, one household's whole file."""
from flask import Blueprint

bp = Blueprint("cases", __name__)

from app.cases import agreement, files, roster, routes  # noqa: E402,F401
