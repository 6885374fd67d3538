"""The process owners' pages: versions, the diagram viewer and modeler, diffs and moving running cases."""
from flask import Blueprint

bp = Blueprint("processes", __name__, url_prefix="/processes")

from app.processes import routes  # noqa: E402,F401
