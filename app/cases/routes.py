"""Case routes: list and search, create, the case page and its diagram."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels
from app.cases import bp
from app.models import HOUSEHOLD_KINDS, utcnow
from app.web import int_arg, page_actor, text_arg
from services import access, history, households, modules
from services.errors import InvalidInput, NotFound
from services.households import LAND_NATURES
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "project_choose": N_("Choose a project."),
    "no_case_running": N_("the household has no case running"),
})

STATUSES = ("running", "completed", "error", "suspended", "cancelled")


@bp.get("/cases")
@login_required
def index():
    status = request.args.get("status")
    query = households.CaseQuery(
        q=text_arg("q", 100),
        project_id=int_arg("project_id"),
        status=status if status in STATUSES else None,
        step=text_arg("step", 64),
        page=int_arg("page", 1, maximum=100000),
    )
    rows, total = households.search(page_actor(), query)
    steps = households.open_steps_by_instance([i.id for _, i in rows if i is not None])
    return render_template("cases/index.html", rows=rows, total=total, query=query, steps=steps,
                           statuses=STATUSES, projects=access.visible_projects(current_user))


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    projects = access.visible_projects(current_user)
    values: dict = {}
    errors: dict = {}
    if request.method == "POST":
        values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token" and v.strip()}
        project_id = values.pop("project_id", "")
        for name in ("work_group_id", "village_id", "batch_id"):  # chosen from lists: ids of the page's own
            if name in values and values[name].isascii() and values[name].isdigit():
                values[name] = int(values[name])
        try:
            if not (project_id.isascii() and project_id.isdigit()):
                raise InvalidInput(problem("project_choose"), {"project_id": [problem("project_choose")]})
            household, _instance = households.create(page_actor(), int(project_id), values, now=utcnow())
        except InvalidInput as exc:
            errors = exc.fields
            values["project_id"] = project_id
        else:
            flash(_("Household %(code)s created; its survey is waiting.", code=household.code), "success")
            return redirect(url_for("cases.detail", household_id=household.id))
    return render_template("cases/new.html", projects=projects, kinds=HOUSEHOLD_KINDS, natures=LAND_NATURES,
                           values=values, errors=errors), (422 if errors else 200)


@bp.get("/cases/<int:household_id>")
@login_required
def detail(household_id: int):
    return _detail(households.case_file(page_actor(), household_id))


@bp.post("/cases/<int:household_id>/reveal")
@login_required
def reveal(household_id: int):
    """The case page with full ID numbers, phones and bank accounts: roles that need them only; audited."""
    return _detail(households.case_file(page_actor(), household_id, reveal=True, now=utcnow()))


@bp.post("/cases/<int:household_id>/move")
@login_required
def move(household_id: int):
    """Move the household to another work group of its project (admin, supervisor)."""
    raw = request.form.get("work_group_id", "")
    try:
        households.move(page_actor(), household_id, {"work_group_id": int(raw) if raw.isascii() and raw.isdigit()
                                                     else raw}, now=utcnow())
    except InvalidInput as exc:
        for problems in exc.fields.values():
            for text in problems:
                flash(labels.problem(text), "error")
    else:
        flash(_("The household moved to another work group."), "success")
    return redirect(url_for("cases.detail", household_id=household_id))


def _detail(case: households.CaseFile):
    events = history.for_instance(case.instance.id) if case.instance else []
    return render_template("cases/detail.html", case=case, events=events, modules_shown=modules.MODULES,
                           may_reveal=modules.may_reveal(current_user),
                           move_to=households.movable_groups(page_actor(), case.household))


@bp.get("/cases/<int:household_id>/diagram.bpmn")
@login_required
def diagram(household_id: int):
    case = households.case_file(page_actor(), household_id)
    if case.instance is None:
        raise NotFound(problem("no_case_running"))
    return Response(case.instance.definition.bpmn_xml, mimetype="application/xml",
                    headers={"Cache-Control": "private, max-age=3600"})
