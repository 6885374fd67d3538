"""The roster pages: the projects with their ledgers, import households from an .xlsx roster, download its
template and the case ledger."""
from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import labels
from app.api.routes_excel import roster_limits, send_xlsx
from app.cases import bp
from app.models import utcnow
from app.web import page_actor
from services import access
from services.errors import ServiceError
from services.excel import bulk, ledger, roster
from services.excel.checks import Problem

SHOWN = 500
# a bad cell's problem by its code; others are worded as the household form's fields are (labels.problem)
CELL_PROBLEMS = {
    "choice": _l("Choose one of: %(choices)s."),
    "duplicate_in_file": _l("The same code is already in row %(row)s of this file."),
    "ambiguous_group": _l("Several work groups of this project have this name."),
    "error_cell": _l("The cell holds a spreadsheet error (%(value)s)."),
    "date": _l("Excel turned this cell into a date; format the column as text and type it again."),
    "missing_column": _l("This column is missing from the header row."),
    "duplicate_column": _l("This column appears twice in the header row."),
}
FILE_PROBLEMS = {
    **labels.WORKBOOK_WORDING,
    "missing_file": _l("Choose the roster file to upload."),
    "no_rows": _l("The roster holds no households: fill them in below the header row."),
    "too_many_rows": _l("The roster has more than %(max)s households; split it into several files."),
}


def cell_problem(problem: Problem) -> dict[str, Any]:
    """A bad cell as the page lists it: row, the column's Chinese header, the problem in the reader's language."""
    wording = CELL_PROBLEMS.get(problem.code)
    text = str(wording) % problem.params if wording is not None else labels.problem(problem.message)
    return {"row": problem.row, "column": roster.HEADER_OF.get(problem.field, problem.field), "problem": text}


def file_problem(exc: ServiceError, max_rows: int) -> str:
    """What is wrong with the upload as a whole."""
    return labels.upload_problem(FILE_PROBLEMS, exc, max_rows)


@bp.route("/projects/<int:project_id>/import", methods=["GET", "POST"])
@login_required
def import_roster(project_id: int):
    """The import form; on a bad roster it lists every bad cell and imports nothing."""
    project = roster.importer_project(page_actor(), project_id)
    problems: list[Problem] = []
    error = None
    limits = roster_limits()
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            result = roster.import_roster(page_actor(), project.id, upload.stream if upload else None,
                                          filename=upload.filename if upload else None, now=utcnow(), **limits)
        except roster.RosterInvalid as exc:
            problems = exc.problems
        except ServiceError as exc:
            error = exc
        else:
            flash(_("%(n)s households imported; their surveys are waiting.", n=result.created), "success")
            return redirect(url_for("cases.index", project_id=project.id))
    status = 422 if problems else (error.status if error is not None else 200)
    return render_template("cases/import.html", project=project, limits=limits, total=len(problems),
                           problems=[cell_problem(p) for p in problems[:SHOWN]],
                           error=file_problem(error, limits["max_rows"]) if error is not None else None,
                           roster=True, bulk=bulk_sections(current_user), chosen=None), status


@bp.get("/projects/<int:project_id>/import-template.xlsx")
@login_required
def roster_template(project_id: int):
    """The roster template, for signed-in users of the project."""
    return send_xlsx(roster.template(page_actor(), project_id, **roster_limits()))


@bp.get("/projects/<int:project_id>/ledger.xlsx")
@login_required
def ledger_xlsx(project_id: int):
    """The case ledger, for signed-in users of the project (audited)."""
    return send_xlsx(ledger.export(page_actor(), project_id, now=utcnow(), timezone=current_app.config["TIMEZONE"]))


@bp.get("/projects")
@login_required
def projects():
    """The user's projects, each with its case ledger and, for importers, the roster import."""
    return render_template("cases/projects.html", projects=access.visible_projects(current_user),
                           can_import=current_user.has_role(*roster.IMPORTERS),
                           can_bulk=[s["kind"] for s in bulk_sections(current_user)])


BULK_TITLES = {"survey": _l("Survey import"), "appraisal": _l("Appraisal import")}


def bulk_cell(problem: bulk.CellProblem) -> dict[str, Any]:
    """A bad cell of a bulk workbook as the page lists it: sheet, row, column title, the problem in words."""
    return {"sheet": problem.sheet, "row": problem.row, "column": problem.column or "—",
            "problem": labels.problem(problem.message)}


def bulk_sections(user: Any, chosen: str | None = None, **state: Any) -> list[dict[str, Any]]:
    """The bulk imports the user may run, each with its template link and, for the chosen one, its state."""
    return [{"kind": kind, "title": BULK_TITLES[kind], **(state if kind == chosen else {})}
            for kind in ("survey", "appraisal") if bulk.may_import(user, kind)]


@bp.route("/projects/<int:project_id>/import/<kind>", methods=["GET", "POST"])
@login_required
def bulk_import(project_id: int, kind: str):
    """Import earlier survey or appraisal work: preview (what would be written, or every bad cell), then confirm."""
    actor = page_actor()
    project = bulk.importer_project(actor, project_id, kind)
    upload_dir = current_app.config["UPLOAD_DIR"]
    state: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        confirm = request.form.get("sha256")
        name = request.form.get("name") if confirm else None
        try:
            if confirm:
                data = bulk.stored(confirm, upload_dir=upload_dir)
                report = bulk.run(actor, project.id, kind, data, name, now=utcnow(), upload_dir=upload_dir)
            else:
                upload = request.files.get("file")
                name = upload.filename if upload else None
                data, _sha = bulk.receive(upload.stream if upload else None, upload_dir=upload_dir)
                report = bulk.preview(actor, project.id, kind, data, name)
        except bulk.BulkInvalid as exc:
            state = {"total": len(exc.problems), "problems": [bulk_cell(p) for p in exc.problems[:SHOWN]]}
            status = 422
        except ServiceError as exc:
            state = {"error": file_problem(exc, bulk.MAX_HOUSEHOLDS)}
            status = exc.status
        else:
            if report.already:
                flash(_("This file was imported before; nothing was changed."), "info")
                return redirect(url_for("cases.index", project_id=project.id))
            if report.written:
                flash(_("%(n)s households imported.", n=len(report.households)), "success")
                return redirect(url_for("cases.index", project_id=project.id))
            state = {"report": report, "shown": report.households[:SHOWN]}
    sections = bulk_sections(actor.user, kind, **state)
    return render_template("cases/import.html", project=project, limits=roster_limits(), total=0, problems=[],
                           error=None, roster=current_user.has_role(*roster.IMPORTERS), bulk=sections,
                           chosen=kind), status


@bp.get("/projects/<int:project_id>/import/<kind>/template.xlsx")
@login_required
def bulk_template(project_id: int, kind: str):
    """The survey or appraisal workbook, for signed-in users of the project."""
    return send_xlsx(bulk.template(page_actor(), project_id, kind))
