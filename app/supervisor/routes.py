"""Supervisor routes: overview with stuck cases, reassignment, live diagram, reports and deadlines."""
from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels, timeparts
from app.models import utcnow
from app.supervisor import bp
from app.web import download_headers, int_arg, page_actor, text_arg
from services import access, deadlines, definitions, reassignment, reports, supervision
from services.errors import InvalidInput
from services.roles import ROLES, role_label


@bp.get("")
@login_required
def overview():
    query = supervision.StuckQuery(
        days=int_arg("days", 3, minimum=0, maximum=3650), project_id=int_arg("project_id"),
        step=text_arg("step", 64), group_id=int_arg("group_id"),
        assignee_id=int_arg("assignee_id"), page=int_arg("page", 1, maximum=100000))
    now = utcnow()
    actor = page_actor()
    cases, total = supervision.stuck_cases(actor, query, now)
    pools = reassignment.pools(t for c in cases for t in c.tasks)
    return render_template(
        "supervisor/overview.html", cases=cases, total=total, query=query, now=now,
        candidates=reassignment.candidates(pools.values()),
        by_role=supervision.overdue_by_role(actor, query.project_id, now),
        by_person=supervision.overdue_by_person(actor, query.project_id, now),
        projects=access.visible_projects(current_user), groups=access.visible_groups(current_user),
        people=access.visible_staff(current_user), steps=deadlines.deployed_step_names())


@bp.post("/reassign")
@login_required
def reassign():
    task_ids = [int(t) for t in request.form.getlist("task_id") if t.isascii() and t.isdigit()]
    user_id = request.form.get("user_id", "")
    try:
        to_user = int(user_id) if user_id.isascii() and user_id.isdigit() else None
        count = supervision.reassign(page_actor(), task_ids, to_user, utcnow())
    except InvalidInput as exc:
        for problems in exc.fields.values():
            for problem in problems:
                flash(labels.problem(problem), "error")
    else:
        flash(_("%(n)s steps reassigned.", n=count), "success")
    return redirect(request.form.get("back") or url_for("supervisor.overview"))


@bp.get("/diagram")
@login_required
def diagram():
    actor = page_actor()
    access.require_role(current_user, *supervision.OVERVIEW_ROLES)
    project_id = int_arg("project_id")
    counts = supervision.step_counts(actor, project_id, utcnow())
    return render_template("supervisor/diagram.html", counts_json=json.dumps(counts), project_id=project_id,
                           projects=access.visible_projects(current_user), counts=counts)


@bp.get("/diagram.bpmn")
@login_required
def diagram_xml():
    access.require_role(current_user, *supervision.OVERVIEW_ROLES)
    definition = definitions.current(deadlines.PIPELINE_KEY)
    return Response(definition.bpmn_xml, mimetype="application/xml")


def _report_scope(actor):
    """The report's scope, narrowed to the query's work group; one the user does not see: the whole scope, with
    the problem to show."""
    try:
        return reports.report_scope(actor, int_arg("group_id")), None
    except InvalidInput as exc:
        return reports.report_scope(actor), exc.message


@bp.get("/reports")
@login_required
def report_page():
    actor = page_actor()
    project_id = int_arg("project_id")
    now = utcnow()
    view, refused = _report_scope(actor)
    rows = reports.progress(actor, project_id, now, view.group_id)
    trend = reports.trend(actor, project_id, now, group_id=view.group_id)
    projects = access.visible_projects(current_user)
    return render_template("supervisor/reports.html", rows=rows, trend_json=json.dumps(trend),
                           project_id=project_id, projects=projects, view=view, refused=refused,
                           project_names={p.id: p.name for p in projects},
                           steps_json=json.dumps({r.project.code: r.steps for r in rows}, ensure_ascii=False)
                           ), (422 if refused else 200)


@bp.get("/reports.xlsx")
@login_required
def report_xlsx():
    actor = page_actor()
    view, refused = _report_scope(actor)
    if refused is not None:
        return report_page()
    rows = reports.progress(actor, int_arg("project_id"), utcnow(), view.group_id)
    with force_locale("zh"):  # the workbook speaks Chinese, whoever downloads it
        scope_text = labels.report_scope(view)
    return Response(reports.workbook(rows, {code: role_label(code, "zh") for code in ROLES}, scope_text),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=download_headers(_("progress-report") + f"-{utcnow():%Y%m%d}.xlsx"))


@bp.route("/deadlines", methods=["GET", "POST"])
@login_required
def deadline_page():
    actor = page_actor()
    project_id = int_arg("project_id")
    errors: dict = {}
    typed: dict = {}
    if request.method == "POST":
        bpmn_id = request.form.get("bpmn_id", "")
        scope = request.form.get("project_id", "")
        scope_id = int(scope) if scope.isascii() and scope.isdigit() else None
        typed = {bpmn_id: (request.form.get("days", ""), request.form.get("hours", ""))}
        due = timeparts.to_iso(*typed[bpmn_id])
        try:
            deadlines.set_deadline(actor, bpmn_id, {"due": due, "project_id": scope_id},
                                   now=utcnow())
        except InvalidInput as exc:
            errors = {bpmn_id: [p for ps in exc.fields.values() for p in ps]}
        else:
            flash(_("Deadline saved; open steps of this kind were rescheduled."), "success")
            return redirect(url_for("supervisor.deadline_page", project_id=project_id))
    return render_template("supervisor/deadlines.html", views=deadlines.list_deadlines(actor, project_id),
                           project_id=project_id, projects=access.visible_projects(current_user),
                           errors=errors, typed=typed, days_hours=timeparts.days_hours,
                           can_edit=current_user.has_role("supervisor", "admin")), (422 if errors else 200)
