"""Separation-of-duties routes: the projects, one project's rules, switching a rule off (with a reason) or on."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.duties import bp
from app.models import utcnow
from app.web import page_actor
from services import access, duties
from services.errors import InvalidInput


@bp.before_request
@login_required
def _administrators_only():
    access.require_role(current_user, "admin")


@bp.get("/duties")
def index():
    projects = access.visible_projects(current_user)
    return render_template("duties/index.html", projects=projects, rules=duties.RULES)


def _render(project_id: int, *, errors: dict | None = None, typed: dict | None = None, status: int = 200):
    project, states = duties.rule_states(page_actor(), project_id)
    return render_template("duties/project.html", project=project, states=states, errors=errors or {},
                           typed=typed or {}, minimum=duties.REASON_MIN), status


@bp.get("/projects/<int:project_id>/duties")
def project(project_id: int):
    return _render(project_id)


@bp.post("/projects/<int:project_id>/duties")
def switch(project_id: int):
    rule, on, reason = request.form.get("rule", ""), request.form.get("on") == "yes", request.form.get("reason", "")
    try:
        duties.set_rules(page_actor(), project_id, {"rules": [{"rule": rule, "on": on, "reason": reason}]},
                         now=utcnow())
    except InvalidInput as exc:
        problems = [p for name, found in (exc.fields or {}).items() for p in found]
        return _render(project_id, errors={rule: problems or [exc.message]}, typed={rule: reason}, status=422)
    flash(_("The rule is on again.") if on else _("The rule is switched off for this project; the reason is kept "
                                                   "in the audit trail."), "success")
    return redirect(url_for("duties.project", project_id=project_id))
