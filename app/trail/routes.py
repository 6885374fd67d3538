"""Audit-trail routes: search with filters, per person and per household, .xlsx export — in the office's words."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from app.models import utcnow
from app.trail import bp
from app.trail.present import Presenter, action_choices, sheet
from app.web import download_headers, int_arg, page_actor, text_arg
from services import audit_search
from services.excel.sheets import XLSX


def _date(name: str, *, end: bool = False) -> datetime | None:
    value = (request.args.get(name) or "").strip()
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    return day + timedelta(days=1) if end else day


def _query() -> audit_search.AuditQuery:
    def text(name: str) -> str | None:
        return text_arg(name, 64)

    return audit_search.AuditQuery(username=text("user"), household=text("household"), module=text("module"),
                                   action=text("action"), since=_date("since"), until=_date("until", end=True),
                                   page=int_arg("page", 1, maximum=100000) or 1)


@bp.get("")
@login_required
def search():
    actor = page_actor()
    query = _query()
    rows, total = audit_search.search(actor, query, utcnow())
    presenter = Presenter(audit_search.names(rows))
    return render_template("trail/search.html", rows=[presenter.row(r) for r in rows], total=total, query=query,
                           people=audit_search.people(actor), households=audit_search.households(actor),
                           actions=action_choices(), args=request.args)


@bp.get("/export.xlsx")
@login_required
def export():
    data = audit_search.export(page_actor(), _query(), utcnow(), lambda rows: sheet(rows, audit_search.names(rows)))
    return Response(data, mimetype=XLSX, headers=download_headers(_("audit-trail") + f"-{utcnow():%Y%m%d}.xlsx"))
