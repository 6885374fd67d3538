"""Policy-table routes: list, view, and save a new version pre-filled from an existing one."""
from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models import utcnow
from app.policies import bp
from app.web import page_actor
from services import access
from services.compensation import form as policy_form
from services.compensation import policy as policy_table
from services.errors import InvalidInput


def _today() -> date:
    return policy_table.local_today(utcnow(), current_app.config["TIMEZONE"])


@bp.before_request
@login_required
def _administrators_only():
    access.require_role(current_user, "admin")


@bp.get("/policies")
def index():
    return render_template("policies/index.html", rows=policy_table.list_versions(_today()))


@bp.get("/policies/<version>")
def detail(version: str):
    table = policy_table.rule_table(policy_table.get(version), _today())
    return render_template("policies/detail.html", table=table, sections=policy_form.sections(table["rules"]),
                           values=policy_form.initial_values(table["rules"]))


@bp.route("/policies/<version>/new", methods=["GET", "POST"])
def new_version(version: str):
    base = policy_table.get(version)
    errors: dict = {}
    if request.method == "POST":
        sent = request.form.to_dict(flat=False)
        try:
            created = policy_form.submit(page_actor(), base.version, sent, utcnow())
        except InvalidInput as exc:
            errors = exc.fields or {}
            header = {k: request.form.get(k, "") for k in ("version", "name", "effective_from", "comment")}
            values = policy_form.submitted_values(base.rules, sent)
        else:
            flash(_("Policy version %(version)s saved.", version=created.version), "success")
            return redirect(url_for("policies.detail", version=created.version))
    else:
        header = policy_form.next_version_defaults(base.name, _today())
        values = policy_form.initial_values(base.rules)
    return render_template("policies/edit.html", base=base, header=header, values=values, errors=errors,
                           sections=policy_form.sections(base.rules)), (422 if errors else 200)
