"""Inbox routes: the list with filters and counts, one step's page, claim, release, complete, return."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels
from app.inbox import bp
from app.inbox.formdata import values_from_form
from app.models import utcnow
from app.web import bool_arg, int_arg, page_actor, text_arg
from services import access, history, households, runtime, tasks
from services.errors import Conflict, InvalidInput
from services.forms import get_form, json_schema


def _due_soon() -> timedelta:
    return timedelta(hours=current_app.config["DUE_SOON_HOURS"])


@bp.get("/inbox")
@login_required
def index():
    assigned = request.args.get("assigned")
    query = tasks.TaskQuery(
        role=text_arg("role", 64),
        project_id=int_arg("project_id"),
        assigned=assigned if assigned in ("me", "unassigned") else None,
        overdue=bool_arg("overdue"),
        returned=bool_arg("returned"),
        q=text_arg("q", 100),
        page=int_arg("page", 1, maximum=100000),
        per_page=50,
    )
    now = utcnow()
    counts = tasks.inbox_counts(current_user, now, _due_soon())
    rows, total = tasks.list_tasks(current_user, query, now, known_total=tasks.total_from_counts(query, counts))
    return render_template("inbox/index.html", rows=rows, total=total, query=query, counts=counts, now=now,
                           due_soon=_due_soon(), urgency=tasks.urgency,
                           projects=access.visible_projects(current_user))


def _render_task(task_id: int, *, values: dict | None = None, errors: dict | None = None,
                 return_errors: dict | None = None, return_values: dict | None = None, status: int = 200):
    row = tasks.get_task(current_user, task_id)
    form = get_form(row.form_key)
    case = households.case_file(page_actor(), row.household_id)
    g.ref_labels = tasks.ref_labels(row)
    return render_template(
        "inbox/task.html", row=row, case=case, form=form,
        schema=json_schema(form) if form else None,
        values=values if values is not None else tasks.form_values(row),
        errors=errors or {}, return_errors=return_errors or {}, return_values=return_values or {},
        targets=tasks.return_targets(row), can_act=row.role in current_user.role_codes,
        events=history.for_instance(row.instance_id)[-8:], now=utcnow(), due_soon=_due_soon(),
        urgency=tasks.urgency,
    ), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    return _render_task(task_id)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    try:
        tasks.claim(page_actor(), task_id, utcnow())
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("You have claimed this step."), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int):
    try:
        tasks.release(page_actor(), task_id, utcnow())
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("The step is back in the role's pool."), "info")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/complete")
@login_required
def complete(task_id: int):
    row = tasks.get_task(current_user, task_id)
    form = get_form(row.form_key)
    values = values_from_form(json_schema(form), request.form) if form else {}
    try:
        instance = runtime.complete_task(page_actor(), task_id, values, now=utcnow())
    except InvalidInput as exc:
        return _render_task(task_id, values=values, errors=exc.fields, status=422)
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
        return redirect(url_for("inbox.task", task_id=task_id))
    flash(_("Step completed: %(name)s.", name=row.name), "success")
    return redirect(url_for("cases.detail", household_id=instance.household_id))


@bp.post("/tasks/<int:task_id>/return")
@login_required
def send_back(task_id: int):
    to, reason = request.form.get("to", ""), request.form.get("reason", "")
    try:
        runtime.return_task(page_actor(), task_id, to, reason, now=utcnow())
    except InvalidInput as exc:
        return _render_task(task_id, return_errors=exc.fields, return_values={"to": to, "reason": reason},
                            status=422)
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
        return redirect(url_for("inbox.task", task_id=task_id))
    flash(_("The case was sent back for revision."), "success")
    return redirect(url_for("inbox.index"))
