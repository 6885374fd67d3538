"""Behaviour supervision pages: search the audit trail, a person's timeline, a household's trail."""
from flask import Blueprint

bp = Blueprint("trail", __name__, url_prefix="/trail")

from app.trail import routes  # noqa: E402,F401
