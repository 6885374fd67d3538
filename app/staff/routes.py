"""The staff pages (administrators only): list with filters, create and edit, disable and enable, reset a
password, import from .xlsx. Thin: every change is a call of services.staff."""
from __future__ import annotations

import base64
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from app import labels
from app.api.routes_excel import send_xlsx
from app.models import utcnow
from app.staff import bp
from app.web import int_arg, page_actor
from services import staff
from services.errors import Conflict, InvalidInput, ServiceError
from services.excel import staff as staff_list
from services.excel.sheets import XLSX
from services.roles import ROLES

SHOWN = 500
FILE_PROBLEMS = {
    **labels.WORKBOOK_WORDING,
    "missing_file": _l("Choose the staff list file to upload."),
    "no_rows": _l("The staff list holds nobody: fill in one person per row below the header row."),
    "too_many_rows": _l("The staff list has more than %(max)s people; split it into several files."),
}
FIELDS = ("username", "display_name", "email", "roles", "group_ids", "password")


@bp.before_request
@login_required
def administrators_only() -> None:
    staff.require_admin(page_actor())


def _form_values() -> dict[str, Any]:
    """What the form sent, as typed (trimmed); ticked roles and groups as lists."""
    values: dict[str, Any] = {name: (request.form.get(name) or "").strip()
                              for name in ("username", "display_name", "email", "password")}
    values["roles"] = [code for code in request.form.getlist("roles") if code]
    values["group_ids"] = [int(v) for v in request.form.getlist("group_ids") if v.isascii() and v.isdigit()
                           and len(v) < 10]
    return values


def _body(values: dict[str, Any], *names: str) -> dict[str, Any]:
    body = {name: values[name] for name in names}
    if "email" in body and not body["email"]:
        body["email"] = None
    return body


def _choices() -> dict[str, Any]:
    return {"roles": list(ROLES), "groups": staff.all_groups()}


@bp.get("")
def index():
    status = request.args.get("status")
    role = request.args.get("role")
    query = staff.StaffQuery(role=role if role in ROLES else None, group_id=int_arg("group"),
                             active={"active": True, "disabled": False}.get(status or ""))
    rows = staff.list_staff(page_actor(), query)
    return render_template("staff/index.html", rows=rows, query=query, status=status, **_choices())


@bp.route("/new", methods=["GET", "POST"])
def new():
    values: dict[str, Any] = {"roles": [], "group_ids": [], "password": staff.temporary_password("")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _form_values()
        try:
            user = staff.create(page_actor(), _body(values, *FIELDS), now=utcnow())
        except InvalidInput as exc:
            errors = exc.fields or {}
        else:
            flash(_("%(name)s can now sign in as %(username)s with the temporary password; they must change it at "
                    "the first sign-in.", name=user.display_name, username=user.username), "success")
            return redirect(url_for("staff.index"))
    return render_template("staff/form.html", user=None, values=values, errors=errors, **_choices()), \
        (422 if errors else 200)


def _edit_page(user, values: dict[str, Any], errors: dict, reset: dict | None = None, status: int = 200,
               opened: str | None = None, notice: str | None = None):
    """The edit page; its form carries the fingerprint it was opened with (else the member of staff's now)."""
    reset = reset or {"password": staff.temporary_password(user.username), "errors": {}}
    return render_template("staff/form.html", user=user, values=values, errors=errors, reset=reset, notice=notice,
                           fingerprint=opened or staff.staff_fingerprint(user), **_choices()), status


def _user_values(user) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "email": user.email or "",
            "roles": sorted(user.role_codes), "group_ids": [g.id for g in user.groups]}


@bp.route("/<int:staff_id>/edit", methods=["GET", "POST"])
def edit(staff_id: int):
    user = staff.get(page_actor(), staff_id)
    if request.method == "GET":
        return _edit_page(user, _user_values(user), {})
    values = {**_form_values(), "username": user.username}
    opened = (request.form.get("fingerprint") or "").strip() or None
    try:
        staff.update(page_actor(), staff_id, {**_body(values, "display_name", "email", "roles", "group_ids"),
                                              "fingerprint": opened}, now=utcnow())
    except InvalidInput as exc:
        return _edit_page(staff.get(page_actor(), staff_id), values, exc.fields or {}, status=422, opened=opened)
    except Conflict as exc:
        if exc.code == "stale_edit":  # typed values kept, the record's fingerprint now: saving again keeps them
            return _edit_page(staff.get(page_actor(), staff_id), values, {}, status=409,
                              notice=labels.error_text(exc.code, exc.message))
        return _edit_page(staff.get(page_actor(), staff_id), values, {"roles": [exc.message]}, status=409,
                          opened=opened)
    flash(_("The changes to %(name)s have been saved.", name=user.display_name), "success")
    return redirect(url_for("staff.index"))


@bp.post("/<int:staff_id>/password")
def reset_password(staff_id: int):
    user = staff.get(page_actor(), staff_id)
    typed = (request.form.get("password") or "").strip()
    try:
        staff.reset_password(page_actor(), staff_id, {"password": typed}, now=utcnow())
    except (InvalidInput, Conflict) as exc:
        problems = (exc.fields or {}).get("password") or [exc.message]
        user = staff.get(page_actor(), staff_id)
        return _edit_page(user, _user_values(user), {}, {"password": typed, "errors": {"password": problems}},
                          status=exc.status)
    flash(_("%(name)s has a temporary password now and must change it at the next sign-in; their API tokens were "
            "revoked.", name=user.display_name), "success")
    return redirect(url_for("staff.edit", staff_id=staff_id))


def _set_active(staff_id: int, active: bool):
    try:
        user = staff.set_active(page_actor(), staff_id, active, now=utcnow())
    except Conflict as exc:
        flash(labels.error_text(exc.code, exc.message), "error")
    else:
        flash(_("%(name)s can sign in again.", name=user.display_name) if active else
              _("%(name)s is disabled: they can no longer sign in and their API tokens are refused.",
                name=user.display_name), "success")
    return redirect(url_for("staff.edit", staff_id=staff_id))


@bp.post("/<int:staff_id>/disable")
def disable(staff_id: int):
    return _set_active(staff_id, False)


@bp.post("/<int:staff_id>/enable")
def enable(staff_id: int):
    return _set_active(staff_id, True)


def cell_problem(problem: Any, sheet: str) -> dict[str, Any]:
    """A bad cell as the page lists it: sheet, row, the column's Chinese header, the problem in the reader's
    language."""
    return {"sheet": sheet, "row": problem.row, "column": staff_list.HEADER_OF.get(problem.field, problem.field),
            "problem": labels.problem(problem.message)}


@bp.route("/import", methods=["GET", "POST"])
def import_staff():
    """The import form; on a bad list it names every bad cell and imports nobody; on success it shows each new
    user's temporary password once (and as an .xlsx to download)."""
    problems: list[dict[str, Any]] = []
    total, error, imported, sheet_url = 0, None, None, None
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            imported = staff_list.import_staff(page_actor(), upload.stream if upload else None,
                                               filename=upload.filename if upload else None, now=utcnow())
        except staff_list.StaffListInvalid as exc:
            total = len(exc.problems)
            problems = [cell_problem(p, exc.sheet) for p in exc.problems[:SHOWN]]
            status = 422
        except ServiceError as exc:
            error = labels.upload_problem(FILE_PROBLEMS, exc, staff_list.MAX_ROWS)
            status = exc.status
        else:
            content = staff_list.passwords_sheet(imported.people).content
            sheet_url = f"data:{XLSX};base64," + base64.b64encode(content).decode("ascii")
    return render_template("staff/import.html", problems=problems, total=total, error=error, imported=imported,
                           sheet_url=sheet_url, max_rows=staff_list.MAX_ROWS), status


@bp.get("/import-template.xlsx")
def import_template():
    return send_xlsx(staff_list.template(page_actor()))
