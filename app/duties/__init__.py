"""The separation-of-duties pages (administrators): each project's rules, switched off only with a reason."""
from flask import Blueprint

bp = Blueprint("duties", __name__, url_prefix="/admin")

from app.duties import routes  # noqa: E402,F401
