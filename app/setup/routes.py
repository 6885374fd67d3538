"""Set-up pages: the projects, one project's particulars with its villages, batches and work groups, and the
forms that create and change them. A refused form comes back with every typed value and its problems."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import labels
from app.models import PROJECT_KINDS, Batch, Project, Village, WorkGroup, utcnow
from app.setup import bp
from app.web import page_actor
from services import access, setup
from services.compensation import policy as policy_table
from services.errors import Conflict, InvalidInput, NotFound

PROJECT_FIELDS = ("code", "name", "kind", "decision_number", *setup.DATE_TITLES, "policy_version", "description")


@bp.before_request
@login_required
def _administrators_only():
    access.require_role(current_user, "admin")


def _typed(names: tuple[str, ...]) -> dict[str, Any]:
    """The form's values as typed (trimmed); an empty one is None, so that clearing a field clears it."""
    return {name: (request.form.get(name) or "").strip() or None for name in names}


def _attempt(change: Callable[[], Any], done: Callable[[Any], Any]) -> tuple[Any, dict]:
    """Run a change; its field problems come back (the page then shows them beside the typed values)."""
    try:
        result = change()
    except InvalidInput as exc:
        return None, exc.fields or {}
    return done(result), {}


def _edit(change: Callable[[], Any], done: Callable[[Any], Any]) -> tuple[Any, dict, str | None]:
    """Run a change of an edit form: as _attempt, and a change made on a record someone else has changed since
    the form was opened comes back as the notice that says who and when (the page keeps what was typed)."""
    try:
        return (*_attempt(change, done), None)
    except Conflict as exc:
        if exc.code != "stale_edit":
            raise
        return None, {}, labels.error_text(exc.code, exc.message)


def _form_page(template: str, fingerprint: str, notice: str | None, errors: dict, refused: bool = False,
               **context: Any):
    """An edit form again: 409 with the notice of a stale edit (and the record's fingerprint now, so that saving
    again keeps the typed version), 422 with field problems (and the fingerprint it was opened with)."""
    status = 409 if notice else (422 if errors or refused else 200)
    return render_template(template, fingerprint=fingerprint, notice=notice, errors=errors, **context), status


def _opened() -> str | None:
    """The fingerprint of the record the form was opened on (none: the change is made as sent)."""
    return (request.form.get("fingerprint") or "").strip() or None


def _sent(values: dict[str, Any]) -> dict[str, Any]:
    """The typed values with the fingerprint the form was opened with."""
    return {**values, "fingerprint": _opened()}


def _choices() -> dict[str, Any]:
    """The options of the forms' choice lists, as (value, text) in the reader's language."""
    policies = policy_table.list_versions(policy_table.local_today(utcnow(), current_app.config["TIMEZONE"]))
    return {"kind_options": [(k, labels.label(labels.PROJECT_KIND, k)) for k in PROJECT_KINDS],
            "village_kind_options": [(k, labels.label(labels.VILLAGE_KIND, k)) for k in setup.VILLAGE_KINDS],
            "policy_options": [(p.version, f"{p.version} {p.name}") for p in policies]}


def _people() -> dict[str, Any]:
    """Who may lead a group and who may be a village's cadre, as (username, name) options."""
    return {f"{key}_options": [(u.username, u.display_name) for u in setup.candidates(role)]
            for key, role in (("leader", "group_leader"), ("cadre", "village_cadre"))}


ANCHORS = {"village": "villages", "batch": "batches", "group": "groups"}
KINDS = {"village": "village", "batch": "batch", "group": "work_group"}  # the pages' parts as the services name them


@bp.get("/setup/projects")
def index():
    return render_template("setup/index.html", rows=setup.list_projects(page_actor()))


@bp.route("/setup/projects/new", methods=["GET", "POST"])
def new_project():
    values: dict[str, Any] = {"kind": "collective"}
    errors: dict = {}
    if request.method == "POST":
        values = _typed(PROJECT_FIELDS)
        sent = {k: v for k, v in values.items() if v is not None}
        created, errors = _attempt(lambda: setup.create_project(page_actor(), sent, now=utcnow()),
                                   lambda p: redirect(url_for("setup.project", project_id=p.id)))
        if created:
            flash(_("Project %(name)s created.", name=values["name"]), "success")
            return created
    return render_template("setup/project_form.html", project=None, values=values, errors=errors,
                           **_choices()), (422 if errors else 200)


@bp.route("/setup/projects/<int:project_id>/edit", methods=["GET", "POST"])
def edit_project(project_id: int):
    project = setup.get_project(page_actor(), project_id)
    values = {name: getattr(project, name, None) for name in PROJECT_FIELDS}
    values["policy_version"] = setup.policy_number(project)
    errors, notice, opened = {}, None, None
    if request.method == "POST":
        values, opened = _typed(PROJECT_FIELDS), _opened()
        saved, errors, notice = _edit(
            lambda: setup.update_project(page_actor(), project_id, _sent(values), now=utcnow()),
            lambda p: redirect(url_for("setup.project", project_id=p.id)))
        if saved:
            flash(_("The project's particulars are saved."), "success")
            return saved
    return _form_page("setup/project_form.html", opened if opened and not notice else setup.project_fingerprint(
        project), notice, errors, project=project, values=values, **_choices())


def _project_page(project: Project, form: str | None = None, values: dict | None = None,
                  errors: dict | None = None):
    """The project's page; `form` names the add form that was refused, shown again with its values."""
    groups = list(project.groups)
    return render_template("setup/project.html", project=project, policy=setup.policy_number(project),
                           form=form, values=values or {}, errors=errors or {},
                           people=setup.candidates(), groups=groups, **_people(), **_choices()
                           ), (422 if errors else 200)


@bp.get("/setup/projects/<int:project_id>")
def project(project_id: int):
    return _project_page(setup.get_project(page_actor(), project_id))


@bp.post("/setup/projects/<int:project_id>/status")
def project_status(project_id: int):
    try:
        changed = setup.set_status(page_actor(), project_id, {"status": request.form.get("status")}, now=utcnow())
    except (InvalidInput, Conflict) as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("The project is closed: it takes no new households.") if changed.status == "closed"
              else _("The project is archived."), "success")
    return redirect(url_for("setup.project", project_id=project_id))


@bp.post("/setup/projects/<int:project_id>/reopen")
def reopen_project(project_id: int):
    typed = {"reason": (request.form.get("reason") or "").strip()}
    try:
        setup.reopen_project(page_actor(), project_id, typed, now=utcnow())
    except InvalidInput as exc:
        return _project_page(setup.get_project(page_actor(), project_id), "reopen", typed, exc.fields or {})
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("The project is open again: it takes new households."), "success")
    return redirect(url_for("setup.project", project_id=project_id))


# the add forms of a project's page: the service that creates, the fields it takes
ADDERS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "village": (setup.create_village, ("name", "kind", "cadre", "notes")),
    "batch": (setup.create_batch, ("name", "notes")),
    "group": (setup.create_group, ("name", "leader")),
}


@bp.post("/setup/projects/<int:project_id>/<any(village, batch, group):part>")
def add_part(project_id: int, part: str):
    create, names = ADDERS[part]
    values = _typed(names)
    if part == "group":
        values["members"] = request.form.getlist("members")
    sent = {k: v for k, v in values.items() if v is not None}
    done, errors = _attempt(lambda: create(page_actor(), project_id, sent, now=utcnow()),
                            lambda row: redirect(url_for("setup.project", project_id=project_id,
                                                         _anchor=ANCHORS[part])))
    if done:
        flash(_("%(name)s added.", name=values["name"]), "success")
        return done
    return _project_page(setup.get_project(page_actor(), project_id), part, values, errors)


# the edit pages of a project's parts: model, the service that changes, the fields it takes
EDITORS: dict[str, tuple[type, Callable, tuple[str, ...]]] = {
    "village": (Village, setup.update_village, ("name", "kind", "cadre", "notes")),
    "batch": (Batch, setup.update_batch, ("name", "notes")),
    "group": (WorkGroup, setup.update_group, ("name", "leader")),
}


# the services that remove a project's parts
REMOVERS: dict[str, Callable] = {"village": setup.delete_village, "batch": setup.delete_batch,
                                 "group": setup.delete_group}


@bp.post("/setup/<any(village, batch, group):part>/<int:row_id>/delete")
def delete_part(part: str, row_id: int):
    row = setup.part(page_actor(), EDITORS[part][0], row_id)
    project_id, name = row.project_id, row.name
    try:
        REMOVERS[part](page_actor(), row_id, now=utcnow())
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("%(name)s removed.", name=name), "success")
    return redirect(url_for("setup.project", project_id=project_id, _anchor=ANCHORS[part]))


def _current(row: Any, part: str) -> dict[str, Any]:
    values = {"name": row.name, "notes": getattr(row, "notes", None), "kind": getattr(row, "kind", None)}
    if part == "village":
        values["cadre"] = row.cadre.username if row.cadre else None
    if part == "group":
        values["leader"] = row.leader.username if row.leader else None
    return values


@bp.route("/setup/<any(village, batch, group):part>/<int:row_id>", methods=["GET", "POST"])
def edit_part(part: str, row_id: int):
    model, update, names = EDITORS[part]
    row = setup.part(page_actor(), model, row_id)
    values, errors, notice, opened = _current(row, part), {}, None, None
    if request.method == "POST":
        values, opened = _typed(names), _opened()
        done, errors, notice = _edit(lambda: update(page_actor(), row_id, _sent(values), now=utcnow()),
                                     lambda r: redirect(url_for("setup.project", project_id=r.project_id,
                                                                _anchor=ANCHORS[part])))
        if done:
            flash(_("The changes are saved."), "success")
            return done
    return _part_page(part, row, values, errors, notice=notice, opened=None if notice else opened)


def _part_page(part: str, row: Any, values: dict, errors: dict, member_errors: dict | None = None,
               member: str | None = None, notice: str | None = None, opened: str | None = None):
    """A part's page: its form (carrying the fingerprint it was opened with, else the part's own now), its
    members."""
    return _form_page("setup/part.html", opened or setup.part_fingerprint(KINDS[part], row), notice,
                      errors, bool(member_errors), part=part, row=row, values=values,
                      member_errors=member_errors or {}, member=member, **_people(), **_choices(),
                      member_options=[(u.username, u.display_name) for u in setup.candidates()
                                      if part == "group" and u not in row.members])


@bp.post("/setup/group/<int:group_id>/members")
def add_member(group_id: int):
    username = (request.form.get("username") or "").strip()
    done, errors = _attempt(lambda: setup.add_member(page_actor(), group_id, {"username": username}, now=utcnow()),
                            lambda g: redirect(url_for("setup.edit_part", part="group", row_id=g.id)))
    if done:
        flash(_("The member is added."), "success")
        return done
    group = setup.part(page_actor(), WorkGroup, group_id)
    return _part_page("group", group, _current(group, "group"), {}, errors, username)


@bp.post("/setup/group/<int:group_id>/members/remove")
def remove_member(group_id: int):
    user_id = request.form.get("user_id", "")
    setup.part(page_actor(), WorkGroup, group_id)  # an unknown group is a 404, not a message on its page
    try:
        setup.remove_member(page_actor(), group_id, int(user_id) if user_id.isascii() and user_id.isdigit() else 0,
                            now=utcnow())
    except NotFound as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("The member is taken out of the group."), "success")
    return redirect(url_for("setup.edit_part", part="group", row_id=group_id))
