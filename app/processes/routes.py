"""Process pages: the versions, one version's diagram, the modeler, the diff and moving running cases."""
from __future__ import annotations

from itertools import groupby

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels
from app.errors import error_response
from app.extensions import db
from app.models import utcnow
from app.processes import bp
from app.processes.bodies import bpmn_body, comment_of_request
from app.web import page_actor
from services.access import require_role
from services.errors import InvalidInput, ServiceError
from services.forms import FORMS
from services.processes import diff, migration, validation, versions
from services.roles import ROLES

JSON_ENDPOINTS = {"processes.validate", "processes.save_draft"}


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    """The modeler's calls get the API's JSON errors; pages get the error page."""
    db.session.rollback()
    if request.endpoint in JSON_ENDPOINTS:
        body: dict = {"error": {"code": exc.code, "message": labels.error_text(exc.code, exc.message)}}
        if exc.status == 422:
            body["error"]["fields"] = {name: [labels.problem(p) for p in found]
                                       for name, found in (exc.fields or {}).items()}
        return jsonify(body), exc.status
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.get("")
@login_required
def index():
    rows = versions.list_versions()
    groups = [(key, list(items)) for key, items in groupby(rows, key=lambda v: v.definition.key)]
    return render_template("processes/index.html", groups=groups, can_edit=versions.can_edit(current_user))


@bp.get("/<int:definition_id>")
@login_required
def view(definition_id: int):
    version = versions.get_version(definition_id)
    siblings = [v for v in versions.list_versions() if v.definition.key == version.definition.key]
    steps = diff.steps_of(definition_id)
    return render_template("processes/view.html", version=version, siblings=siblings, steps=steps,
                           step_names={s["id"]: s.get("name") or s["id"] for s in steps},
                           form_titles={key: str(form.title) for key, form in FORMS.items()},
                           can_edit=versions.can_edit(current_user))


@bp.get("/<int:definition_id>/bpmn")
@login_required
def bpmn(definition_id: int):
    version = versions.get_version(definition_id).definition
    response = Response(versions.bpmn_xml(definition_id), mimetype="application/xml")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{version.key}-v{version.version}.bpmn"'
    return response


@bp.get("/<int:definition_id>/edit")
@login_required
def edit(definition_id: int):
    require_role(current_user, *versions.EDITOR_ROLES)
    version = versions.get_version(definition_id)
    roles = [{"code": code, "zh": zh, "en": en} for code, (zh, en) in ROLES.items()]
    forms = [{"key": key, "title": str(form.title)} for key, form in sorted(FORMS.items())]
    return render_template("processes/edit.html", version=version, roles=roles, forms=forms)


@bp.post("/validate")
@login_required
def validate():
    problems = validation.validate(bpmn_body())
    return jsonify({"valid": not problems, "errors": [{**found, "message": labels.problem(found["message"])}
                                                      for found in problems]})


@bp.post("/drafts")
@login_required
def save_draft():
    draft = versions.save_draft(page_actor(), bpmn_body(), comment_of_request(), utcnow())
    flash(_("Saved as version %(version)s (draft).", version=draft.version), "success")
    return jsonify({"id": draft.id, "key": draft.key, "version": draft.version, "status": draft.status,
                    "edit_url": url_for("processes.edit", definition_id=draft.id),
                    "view_url": url_for("processes.view", definition_id=draft.id)}), 201


@bp.post("/<int:definition_id>/deploy")
@login_required
def deploy(definition_id: int):
    try:
        deployed = versions.deploy(page_actor(), definition_id, utcnow())
    except InvalidInput as exc:
        flash(_("The diagram is not valid; it was not deployed."), "error")
        for problem in exc.fields.get("bpmn", [])[:8]:
            flash(labels.problem(problem), "error")
    else:
        flash(_("Version %(version)s is deployed: new cases start on it.", version=deployed.version), "success")
    return redirect(url_for("processes.view", definition_id=definition_id))


@bp.post("/<int:definition_id>/retire")
@login_required
def retire(definition_id: int):
    retired = versions.retire(page_actor(), definition_id, utcnow())
    flash(_("Version %(version)s is retired; its running cases go on.", version=retired.version), "success")
    return redirect(url_for("processes.view", definition_id=definition_id))


@bp.get("/<int:definition_id>/diff/<int:other_id>")
@login_required
def compare(definition_id: int, other_id: int):
    result = diff.diff_versions(definition_id, other_id)
    siblings = [v for v in versions.list_versions() if v.definition.key == result["from"]["key"]]
    return render_template("processes/diff.html", diff=result, siblings=siblings)


@bp.route("/<int:definition_id>/migrate", methods=["GET", "POST"])
@login_required
def migrate(definition_id: int):
    actor = page_actor()
    version = versions.get_version(definition_id)
    outcomes, chosen, dry_run = [], set(), True
    if request.method == "POST":
        chosen = {int(v) for v in request.form.getlist("instance_id") if v.isascii() and v.isdigit() and len(v) <= 10}
        dry_run = request.form.get("action") != "move"
        try:
            outcomes = migration.migrate(actor, definition_id, sorted(chosen), utcnow(), dry_run=dry_run)
        except InvalidInput as exc:
            for problems in exc.fields.values():
                for problem in problems:
                    flash(labels.problem(problem), "error")
    cases = migration.candidates(actor, definition_id)
    return render_template("processes/migrate.html", version=version, cases=cases, outcomes=outcomes,
                           chosen=chosen, dry_run=dry_run)
