"""Staff administration pages: the members of staff, their roles and work groups, disabling, temporary passwords
and the .xlsx import."""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from app.staff import routes  # noqa: E402,F401
