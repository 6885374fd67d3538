"""Pages of integrity and internal audit: firm selections (admin, supervisor record; the project reads), a declared
conflict of interest on a step, the audit findings (内审整改): sample, open, rectify, close, reopen."""
from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels
from app.integrity import bp
from app.models import utcnow
from app.web import int_arg, page_actor, text_arg
from services import access, integrity, internal_audit
from services.errors import Conflict, InvalidInput
from services.files import send_name
from services.supervision import OVERVIEW_ROLES

for _name, _table in (("severity", labels.SEVERITY), ("finding_state", labels.FINDING_STATE),
                      ("selection_method", labels.SELECTION_METHOD)):
    bp.add_app_template_filter(lambda code, _table=_table: labels.label(_table, code), _name)

bp.add_app_template_global(integrity.needs_declaration, "needs_declaration")
bp.add_app_template_global(integrity.declarations, "case_declarations")
bp.add_app_template_global(lambda household: integrity.selection_for(household.project_id, household.batch_id),
                           "firm_selection_for")
bp.add_app_template_global(lambda household_id: internal_audit.list_findings(
    page_actor(), internal_audit.FindingQuery(household_id=household_id)), "case_findings")
bp.add_app_template_global(lambda bpmn_id: internal_audit.steps().get(bpmn_id, ("", ""))[0], "case_step_name")


def _upload(name: str):
    """The (filename, stream) of a posted file, or None when none was chosen."""
    upload = request.files.get(name)
    return (upload.filename, upload.stream) if upload and upload.filename else None


def _limits() -> dict:
    return {"upload_dir": current_app.config["UPLOAD_DIR"], "max_bytes": current_app.config["MAX_CONTENT_LENGTH"]}


@bp.route("/selections", methods=["GET", "POST"])
@login_required
def selections():
    actor = page_actor()
    project_id = int_arg("project_id")
    errors: dict = {}
    typed = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        data = {k: typed.get(k) or None for k in ("method", "held_on", "chosen_firm", "notes", "batch_id")}
        data["candidates"] = [c.strip() for c in (typed.get("candidates") or "").splitlines() if c.strip()]
        if data["batch_id"]:
            data["batch_id"] = int(data["batch_id"]) if data["batch_id"].isdigit() else -1
        target = typed.get("project_id", "")
        try:
            integrity.record_selection(actor, int(target) if target.isdigit() else 0, data, _upload("minutes"),
                                       now=utcnow(), **_limits())
        except InvalidInput as exc:
            errors = exc.fields
        else:
            flash(_("The appraisal firm selection was recorded."), "success")
            return redirect(url_for("integrity.selections", project_id=project_id))
    return render_template("integrity/selections.html", rows=integrity.selections(actor, project_id),
                           projects=access.visible_projects(current_user), project_id=project_id, errors=errors,
                           typed=typed, can_edit=current_user.has_role(*integrity.SELECTION_EDITORS)), \
        (422 if errors else 200)


@bp.get("/project-files/<int:project_file_id>")
@login_required
def project_file(project_file_id: int):
    row, path = integrity.open_project_file(page_actor(), project_file_id, now=utcnow(),
                                            upload_dir=current_app.config["UPLOAD_DIR"])
    response = send_file(path, mimetype=row.content_type, as_attachment=True, download_name=send_name(row),
                         conditional=True, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/tasks/<int:task_id>/conflict")
@login_required
def declare_conflict(task_id: int):
    try:
        integrity.declare_conflict(page_actor(), task_id, {"note": request.form.get("note", "")}, now=utcnow())
    except (InvalidInput, Conflict) as exc:
        for problems in (exc.fields or {"": [exc.message]}).values():
            for problem in problems:
                flash(labels.problem(problem), "error")
        return redirect(url_for("inbox.task", task_id=task_id))
    flash(_("Your conflict of interest was recorded; the step went back to the pool and a supervisor reassigns "
            "it."), "success")
    return redirect(url_for("inbox.index"))


@bp.get("/findings")
@login_required
def findings():
    actor = page_actor()
    is_auditor = current_user.has_role(internal_audit.AUDITOR)
    query = internal_audit.FindingQuery(project_id=int_arg("project_id"), state=text_arg("state", 16),
                                        mine=not is_auditor and not current_user.sees_all_projects)
    sampled, sample_errors = [], {}
    if is_auditor and query.project_id and request.args.get("sample"):
        args = {"size": int_arg("size"), "step": text_arg("step", 64) or None, "batch_id": int_arg("batch_id"),
                "seed": int_arg("seed", minimum=0)}
        try:
            sampled = internal_audit.sample(actor, query.project_id, args)
        except InvalidInput as exc:
            sample_errors = exc.fields
    return render_template("integrity/findings.html", rows=internal_audit.list_findings(actor, query),
                           query=query, today=utcnow().date(), is_auditor=is_auditor, sampled=sampled,
                           sample_errors=sample_errors, steps=internal_audit.steps(),
                           projects=access.visible_projects(current_user), overdue=internal_audit.is_overdue)


@bp.post("/findings")
@login_required
def open_finding():
    form = request.form
    data = {"household_id": int(form.get("household_id", "0") or 0) if form.get("household_id", "").isdigit()
            else 0, "bpmn_id": form.get("bpmn_id", ""), "severity": form.get("severity", ""),
            "text": form.get("text", ""), "working_days": int(form.get("working_days") or 10)
            if (form.get("working_days") or "10").isdigit() else 0}
    try:
        row = internal_audit.open_finding(page_actor(), data, now=utcnow())
    except InvalidInput as exc:
        for problems in exc.fields.values():
            for problem in problems:
                flash(labels.problem(problem), "error")
        return redirect(request.form.get("back") or url_for("integrity.findings"))
    flash(_("The finding was recorded; the step's role must rectify it."), "success")
    return redirect(url_for("integrity.finding", finding_id=row.id))


@bp.get("/findings/<int:finding_id>")
@login_required
def finding(finding_id: int):
    return _finding_page(finding_id)


def _finding_page(finding_id: int, errors: dict | None = None, typed: dict | None = None, status: int = 200):
    row = internal_audit.get_finding(page_actor(), finding_id)
    return render_template("integrity/finding.html", row=row, today=utcnow().date(),
                           overdue=internal_audit.is_overdue(row, utcnow().date()),
                           is_auditor=current_user.has_role(internal_audit.AUDITOR),
                           can_rectify=internal_audit.rectify_problem(current_user, row) is None,
                           errors=errors or {}, typed=typed or {}), status


def _act(finding_id: int, action, done: str):
    try:
        action()
    except (InvalidInput, Conflict) as exc:
        return _finding_page(finding_id, exc.fields or {"": [exc.message]}, request.form.to_dict(), 422)
    flash(done, "success")
    return redirect(url_for("integrity.finding", finding_id=finding_id))


@bp.post("/findings/<int:finding_id>/rectify")
@login_required
def rectify(finding_id: int):
    return _act(finding_id, lambda: internal_audit.rectify(
        page_actor(), finding_id, {"text": request.form.get("text", "")}, _upload("file"), now=utcnow(),
        **_limits()), _("The rectification was recorded; the reviewer checks it."))


@bp.post("/findings/<int:finding_id>/close")
@login_required
def close(finding_id: int):
    return _act(finding_id, lambda: internal_audit.close(page_actor(), finding_id, now=utcnow()),
                _("The finding is closed."))


@bp.post("/findings/<int:finding_id>/reopen")
@login_required
def reopen(finding_id: int):
    return _act(finding_id, lambda: internal_audit.reopen(page_actor(), finding_id,
                                                          _reopen_form(), now=utcnow()),
                _("The finding was reopened; the step's role must rectify it again."))


def _reopen_form() -> dict[str, Any]:
    days = request.form.get("working_days", "").strip()
    return {"reason": request.form.get("reason", ""),
            **({"working_days": int(days) if days.isascii() and days.isdigit() else days} if days else {})}


@bp.get("/overview")
@login_required
def overview():
    actor = page_actor()
    access.require_role(current_user, *OVERVIEW_ROLES)
    project_id = int_arg("project_id")
    today = utcnow().date()
    return render_template("supervisor/findings.html", counts=internal_audit.counts(actor, project_id, today),
                           rows=internal_audit.list_findings(actor, internal_audit.FindingQuery(project_id=project_id)),
                           project_id=project_id, projects=access.visible_projects(current_user), today=today,
                           overdue=internal_audit.is_overdue)
