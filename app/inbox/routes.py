"""Inbox routes: the list with filters and counts, one step's page, claim, release, complete, return."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels
from app.inbox import bp
from app.inbox.formdata import VERSION_FIELD, values_from_form
from app.models import utcnow
from app.web import bool_arg, int_arg, page_actor, text_arg
from services import access, duties, history, households, internal_audit, modules, runtime, tasks
from services.errors import Conflict, Forbidden, InvalidInput
from services.forms import get_form, json_schema
from services.modules import steppage
from services.problems import problem

INBOX_FINDINGS = 20  # audit findings to rectify listed above the steps; the findings page has them all


def _due_soon() -> timedelta:
    return timedelta(hours=current_app.config["DUE_SOON_HOURS"])


@bp.get("/inbox")
@login_required
def index():
    assigned, sort = request.args.get("assigned"), request.args.get("sort")
    query = tasks.TaskQuery(
        role=text_arg("role", 64),
        project_id=int_arg("project_id"),
        assigned=assigned if assigned in ("me", "unassigned") else None,
        overdue=bool_arg("overdue"),
        returned=bool_arg("returned"),
        due_soon=_due_soon() if bool_arg("due_soon") else None,
        q=text_arg("q", 100),
        sort=sort if sort in tasks.SORTS else "due",
        descending=request.args.get("dir") == "desc",
        page=int_arg("page", 1, maximum=100000),
        per_page=50,
    )
    now = utcnow()
    counts = tasks.inbox_counts(current_user, now, _due_soon())
    rows, total = tasks.list_tasks(current_user, query, now, known_total=tasks.total_from_counts(query, counts))
    findings = internal_audit.list_findings(page_actor(), internal_audit.FindingQuery(
        to_rectify=True, limit=INBOX_FINDINGS + 1))
    return render_template("inbox/index.html", rows=rows, total=total, query=query, counts=counts, now=now,
                           due_soon=_due_soon(), urgency=tasks.urgency, findings=findings,
                           shown_findings=INBOX_FINDINGS, finding_overdue=internal_audit.is_overdue,
                           projects=access.visible_projects(current_user))


def _render_task(task_id: int, *, values: dict | None = None, errors: dict | None = None,
                 return_errors: dict | None = None, return_values: dict | None = None, status: int = 200,
                 notice: str | None = None, reveal: bool = False):
    row = tasks.get_task(current_user, task_id)
    form = get_form(row.form_key)
    case = households.case_file(page_actor(), row.household_id, reveal=reveal, now=utcnow(), step=row)
    values = values if values is not None else tasks.form_values(row)
    events = history.for_instance(row.instance_id)
    refusal = access.action_problem(current_user, row)
    return render_template(
        "inbox/task.html", row=row, case=case, form=form, ref_labels=tasks.ref_labels(row),
        schema=json_schema(form, row.household) if form else None, values=values, errors=errors or {},
        return_errors=return_errors or {}, return_values=return_values or {},
        targets=tasks.return_targets(row), refusal=refusal, problem=problem,
        may_reveal=modules.may_reveal(current_user),
        duty=duties.refusal(current_user, row) if refusal is None else None,
        page=steppage.step_page(row, values, events, utcnow()), notice=notice, status=status,
        events=events[-8:], now=utcnow(), due_soon=_due_soon(), urgency=tasks.urgency,
    ), status


def _posted_version() -> int | None:
    """The module's version the page was loaded with (sent back with every save)."""
    raw = request.form.get(VERSION_FIELD, "")
    return int(raw) if raw.isdigit() else None


def _posted(row) -> tuple[object, dict]:
    form = get_form(row.form_key)
    return form, values_from_form(json_schema(form), request.form) if form else {}


def _save_draft(row, form, values: dict) -> None:
    """Save what was typed as the module's draft, on the version the page was loaded with."""
    version = _posted_version()
    modules.put(page_actor(), row.household_id, form.module, values, -1 if version is None else version,
                now=utcnow())


def _stale(task_id: int, values: dict, exc: Conflict):
    """A save on a version no longer current: refused, the typed input kept, and what to do."""
    return _render_task(task_id, values=values, status=409, notice=labels.error_text(exc.code, exc.message))


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    return _render_task(task_id)


@bp.post("/tasks/<int:task_id>/reveal")
@login_required
def reveal(task_id: int):
    """The step's page with the household's full ID numbers, phones and bank accounts in its case file and
    household card (the form stays masked): roles that need them only; audited with the step."""
    return _render_task(task_id, reveal=True)


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
    form, values = _posted(row)
    version = _posted_version()
    try:
        if form and form.section is None and version is not None:
            modules.ensure_version(page_actor(), row.household_id, form.module, version)
        instance = runtime.complete_task(page_actor(), task_id, values, now=utcnow())
    except InvalidInput as exc:
        return _render_task(task_id, values=values, errors=exc.fields, status=422,
                            notice=_keep_typed(row, form, values))
    except Conflict as exc:
        if exc.code == "stale":
            return _stale(task_id, values, exc)
        flash(labels.error_text(exc.code, exc.message), "error")
        return redirect(url_for("inbox.task", task_id=task_id))
    except Forbidden as exc:
        return _refused(task_id, values, exc)
    flash(_("Step completed: %(name)s.", name=row.name), "success")
    return redirect(url_for("cases.detail", household_id=instance.household_id))


def _refused(task_id: int, values: dict, exc: Forbidden):
    """A completion or save a rule (separation of duties) refuses: why, with everything typed still there."""
    if exc.code != "duty_separation":
        raise exc
    return _render_task(task_id, values=values, status=403, notice=labels.error_text(exc.code, exc.message))


def _keep_typed(row, form, values: dict) -> str | None:
    """After a refused completion, keep what was typed as the draft when it can be saved as one."""
    if form is None or form.section is not None:
        return None
    try:
        _save_draft(row, form, values)
    except (InvalidInput, Conflict, Forbidden):
        return _("What you typed is still on this page but not saved: correct the marked fields, then save "
                 "the draft or complete the step.")
    return _("What you typed was saved as a draft; it is there when you reopen this step.")


@bp.post("/tasks/<int:task_id>/draft")
@login_required
def draft(task_id: int):
    return _save(task_id, sync=False, refused=_("The draft was not saved: correct the marked fields and save again."),
                 done=_("Draft saved. You can leave and continue later."))


@bp.post("/tasks/<int:task_id>/sync")
@login_required
def sync(task_id: int):
    return _save(task_id, sync=True, refused=_("Nothing was synced: correct the marked fields first."),
                 done=_("Synced from the steps before: rows added or changed there are now here; what you entered "
                        "is kept."))


def _save(task_id: int, *, sync: bool, refused: str, done: str):
    """Save what was typed as the draft (then sync the module, if asked); back to the step's page."""
    row = tasks.get_task(current_user, task_id)
    form, values = _posted(row)
    if form is None or form.section is not None:
        return redirect(url_for("inbox.task", task_id=task_id))
    try:
        _save_draft(row, form, values)
        if sync:
            modules.sync(page_actor(), row.household_id, form.module, now=utcnow())
    except InvalidInput as exc:
        return _render_task(task_id, values=values, errors=exc.fields, status=422, notice=refused)
    except Conflict as exc:
        return _stale(task_id, values, exc)
    except Forbidden as exc:
        return _refused(task_id, values, exc)
    flash(done, "success")
    return redirect(url_for("inbox.task", task_id=task_id))


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
