"""The household's files on the pages: upload (several at once), thumbnails, preview, download, replace,
remove, the dossier and its .zip; and the choices of the file pickers of step forms."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, flash, g, jsonify, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from app.cases import bp
from app.extensions import db
from app.labels import error_text
from app.models import Attachment, Household, HumanTask, User, utcnow
from app.web import page_actor
from services import dossier_files, files, thumbnails
from services.access import action_problem, get_household
from services.errors import NotFound, ServiceError
from services.forms import FORMS
from services.forms.registry import schema_instance
from services.modules import MODULES
from services.modules.service import editable_step

PREVIEW_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@dataclass
class Panel:
    """What the files card of a page shows and offers."""

    household: Household
    files: list[Attachment]
    uploaders: dict[int, str]
    upload_modules: list[str]
    editable_modules: set[str]
    categories: list[tuple[str, list[tuple[str, str]]]]
    dossier: list[dossier_files.DossierItem] = field(default_factory=list)
    default_category: str = "other"


def _uploaders(rows: list[Attachment]) -> dict[int, str]:
    ids = {r.uploaded_by_id for r in rows if r.uploaded_by_id}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _editable_modules(household: Household) -> list[str]:
    """The modules the user may edit now (as `editable_step` decides), from one query of the open steps."""
    steps = db.session.scalars(select(HumanTask).where(HumanTask.household_id == household.id,
                                                       HumanTask.status == "ready").order_by(HumanTask.id.desc()))
    latest: dict[str, HumanTask] = {}
    for step in steps:
        form = FORMS.get(step.form_key or "")
        if form is not None and form.section is None:
            latest.setdefault(form.module, step)
    return [m for m in MODULES if m in latest and action_problem(current_user, latest[m]) is None
            and latest[m].assignee_id in (None, current_user.id)]


@bp.app_template_global()
def files_panel(household_id: int, task: HumanTask | None = None, checklist: Any = None) -> Panel:
    """The files card: on a step page, uploads go to the step's module; on the case page, to any module
    the user may edit now, and the dossier is shown."""
    household = get_household(current_user, household_id)
    rows = files.current(household.id)
    editable = _editable_modules(household)
    if task is not None:
        form = FORMS.get(task.form_key or "")
        modules = [form.module] if form and form.module in editable else []
    else:
        modules = editable
    items = dossier_files.items(household, rows, checklist)
    return Panel(household, rows, _uploaders(rows), modules, set(editable),
                 dossier_files.categories_for(household.kind), [] if task is not None else items,
                 _default_category(task, items))


# what a step without a file field usually files, in the order the office files it
STEP_CATEGORIES = {
    "survey": ("decision_notice", "survey_form", "id_scan", "title_deed", "measurement", "photo"),
    "calculation": ("calculation_sheet",),
    "archive": ("vacated", "demolished", "title_cancelled"),
}


def _default_category(task: HumanTask | None, items: list[dossier_files.DossierItem]) -> str:
    """What an upload is most likely: the category of the step form's first file field; on a step page
    without one, the first of the step's own categories not filed yet (else "other"); on the case page, the
    first category of the first required item still missing."""
    form = FORMS.get(task.form_key or "") if task is not None else None
    if form is not None:
        for _path, field_ in files.file_fields(schema_instance(form.schema)):
            return str(field_.metadata["x-widget"]).split(":", 1)[1]
        own = STEP_CATEGORIES.get(form.key, ())
        filed = {f.category for item in items for f in item.files}
        return next((c for c in own if c not in filed), own[0] if own else "other")
    missing = next((item for item in items if item.missing), None)
    return dossier_files.item_categories(missing.code)[0] if missing else "other"


def _page_household() -> tuple[Household | None, str | None]:
    """The household of the page being drawn and the module its step form writes (step pages)."""
    if "files_page" in g:
        return g.files_page
    args = request.view_args or {}
    household, module = None, None
    try:
        if "task_id" in args:
            task = db.session.get(HumanTask, args["task_id"])
            if task is not None:
                household = get_household(current_user, task.household_id)
                form = FORMS.get(task.form_key or "")
                module = form.module if form and editable_step(current_user, household, form.module) else None
        elif "household_id" in args:
            household = get_household(current_user, args["household_id"])
    except ServiceError:
        household = None
    g.files_page = (household, module)
    return g.files_page


@bp.app_template_global()
def file_choices() -> dict[str, Any]:
    """The current household's files for a file field's picker, and where an upload in place goes."""
    household, module = _page_household()
    if household is None:
        return {"files": [], "upload_url": None, "module": None}
    return {"files": files.current(household.id), "module": module,
            "upload_url": url_for("cases.upload_files", household_id=household.id) if module else None}


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """A size as people read it: 820 KB, 1.4 MB."""
    size = size or 0
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@bp.app_template_filter("file_category")
def file_category(code: str | None) -> str:
    return dossier_files.category_label(code)


def file_label(file_id: Any) -> str:
    """A file named in a module, as the case file shows it: its name and category, never its id."""
    labels = g.setdefault("file_labels", {})
    if file_id not in labels:
        row = db.session.get(Attachment, file_id) if isinstance(file_id, int) else None
        if row is None:
            labels[file_id] = _("(a file that is no longer available)")
        else:
            removed = _(" (removed)") if row.deleted_at is not None else ""
            labels[file_id] = f"{row.name} · {file_category(row.category)}{removed}"
    return labels[file_id]


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


def _problem_text(exc: ServiceError) -> str:
    detail = next((p for problems in (exc.fields or {}).values() for p in problems), None)
    return error_text(exc.code, detail if detail is not None else exc.message)


@bp.post("/cases/<int:household_id>/files")
@login_required
def upload_files(household_id: int):
    """Upload one or more files to a module of the household (its role, while its step is open)."""
    get_household(current_user, household_id)  # another project's household: 404, not a message
    wants_json = request.accept_mimetypes.best == "application/json"
    uploads = [u for u in request.files.getlist("files") if u and u.filename]
    module, category = request.form.get("module", ""), request.form.get("category", "")
    stored, failed = [], []
    if not uploads:
        failed.append(("", _("Choose a file to upload.")))
    config = current_app.config
    for upload in uploads:
        try:
            stored.append(files.upload(page_actor(), household_id, module, category, upload.filename, upload.stream,
                                       upload_dir=config["UPLOAD_DIR"], max_bytes=config["MAX_CONTENT_LENGTH"],
                                       now=utcnow()))
        except ServiceError as exc:
            db.session.rollback()
            failed.append((upload.filename or "", _problem_text(exc)))
    if wants_json:
        body = {"items": [{"id": r.id, "label": f"{r.name} · {file_category(r.category)}"} for r in stored],
                "errors": [f"{name}: {text}" if name else text for name, text in failed]}
        return jsonify(body), (201 if stored else 422)
    if stored:
        flash(ngettext("%(num)s file uploaded.", "%(num)s files uploaded.", len(stored)), "success")
    for name, text in failed:
        flash(_("%(name)s was not uploaded: %(problem)s", name=name, problem=text) if name else text, "error")
    return redirect(_back(url_for("cases.detail", household_id=household_id)) + "#files")


def _visible_file(file_id: int) -> Attachment:
    """A file of a household the user sees (removed ones too); else 404."""
    row = db.session.get(Attachment, file_id)
    if row is None:
        raise NotFound(files.problem("file_not_found"))
    get_household(current_user, row.household_id)
    return row


@bp.post("/cases/files/<int:file_id>/replace")
@login_required
def replace_file(file_id: int):
    """A new version of a file by its uploader; the old one is kept."""
    upload = request.files.get("file")
    default = url_for("cases.detail", household_id=_visible_file(file_id).household_id)
    try:
        if upload is None or not upload.filename:
            flash(_("Choose a file to upload."), "error")
            return redirect(_back(default) + "#files")
        row = files.replace(page_actor(), file_id, upload.filename, upload.stream,
                            upload_dir=current_app.config["UPLOAD_DIR"],
                            max_bytes=current_app.config["MAX_CONTENT_LENGTH"], now=utcnow())
        flash(_("%(name)s replaced; the earlier version is kept.", name=row.name), "success")
    except ServiceError as exc:
        db.session.rollback()
        flash(_problem_text(exc), "error")
    return redirect(_back(default) + "#files")


@bp.post("/cases/files/<int:file_id>/remove")
@login_required
def remove_file(file_id: int):
    """Take a file out of the household's file (its uploader, while the step is open)."""
    default = url_for("cases.detail", household_id=_visible_file(file_id).household_id)
    try:
        row = files.remove(page_actor(), file_id, now=utcnow())
        flash(_("%(name)s removed.", name=row.name), "success")
    except ServiceError as exc:
        db.session.rollback()
        flash(_problem_text(exc), "error")
    return redirect(_back(default) + "#files")


def _send(file_id: int, *, preview: bool):
    row, path = files.open_file(page_actor(), file_id, upload_dir=current_app.config["UPLOAD_DIR"],
                                preview=preview, now=utcnow())
    response = send_file(path, mimetype=row.content_type, as_attachment=not preview,
                         download_name=files.send_name(row), conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY if preview else \
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    if preview:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cases/files/<int:file_id>")
@login_required
def download_file(file_id: int):
    return _send(file_id, preview=False)


@bp.get("/cases/files/<int:file_id>/preview")
@login_required
def preview_file(file_id: int):
    return _send(file_id, preview=True)


@bp.get("/cases/files/<int:file_id>/thumb")
@login_required
def file_thumb(file_id: int):
    """A small JPEG of an image file, cached by its sha256 (not audited: it shows no more than the list)."""
    row = db.session.get(Attachment, file_id)
    if row is None or row.deleted_at is not None or row.content_type not in thumbnails.IMAGE_TYPES:
        raise NotFound(files.problem("file_not_found"))
    get_household(current_user, row.household_id)
    upload_dir = current_app.config["UPLOAD_DIR"]
    thumb = thumbnails.thumbnail(upload_dir, row.sha256, files.storage_path(upload_dir, row.sha256))
    if thumb is None:
        raise NotFound(files.problem("file_content_missing"))
    response = send_file(thumb, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/cases/<int:household_id>/dossier.zip")
@login_required
def dossier_zip(household_id: int):
    """The household's whole dossier as one .zip (audited)."""
    spool, name = dossier_files.archive(page_actor(), household_id, upload_dir=current_app.config["UPLOAD_DIR"],
                                        now=utcnow())
    response = send_file(spool, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
