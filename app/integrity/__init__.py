"""Integrity and internal audit pages: appraisal firm selections, conflict declarations, audit findings."""
from flask import Blueprint

bp = Blueprint("integrity", __name__, url_prefix="/integrity")

from app.integrity import routes  # noqa: E402,F401
