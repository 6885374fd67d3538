"""The supervisor's pages: stuck cases and reassignment, the live diagram, reports, deadlines."""
from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

from app.supervisor import routes  # noqa: E402,F401
