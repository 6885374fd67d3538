"""The inbox pages: each role's open steps, and the page of one step."""
from flask import Blueprint

bp = Blueprint("inbox", __name__)

from app.inbox import routes  # noqa: E402,F401
