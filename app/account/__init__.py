"""The signed-in user's own account: changing the password, listing and revoking API tokens."""
from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.account import routes  # noqa: E402,F401
