"""The policy-table pages (administrators): versions, one version's rules, a new version from an old one."""
from flask import Blueprint

bp = Blueprint("policies", __name__)

from app.policies import routes  # noqa: E402,F401
