"""The agreement pages: the printable agreement of a household and its .docx download."""
from __future__ import annotations

from flask import current_app, render_template
from flask_login import login_required

from app.api.routes_agreements import office_name, send_docx
from app.cases import bp
from app.models import utcnow
from app.web import page_actor
from services import agreements


@bp.get("/cases/<int:household_id>/agreement")
@login_required
def agreement(household_id: int):
    """The household's agreement as a printable page (A4); its draft, marked as such, from the drafting step on."""
    sheet = agreements.page(page_actor(), household_id, office=office_name(),
                            timezone=current_app.config["TIMEZONE"], draft=True)
    return render_template("cases/agreement.html", sheet=sheet)


@bp.get("/cases/<int:household_id>/agreement.docx")
@login_required
def agreement_docx(household_id: int):
    """The household's agreement as a .docx download (audited); its draft, marked, from the drafting step on."""
    return send_docx(agreements.document(page_actor(), household_id, office=office_name(),
                                         timezone=current_app.config["TIMEZONE"], now=utcnow(), draft=True))
