"""API route of the household's agreement: the unified template filled in, as a Word document."""
from __future__ import annotations

from io import BytesIO

from flask import Response, current_app, send_file

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.models import utcnow
from services import agreements


def office_name() -> str:
    """The implementing office (甲方) the agreements name: AGREEMENT_OFFICE, else the default."""
    return str(current_app.config.get("AGREEMENT_OFFICE") or agreements.DEFAULT_OFFICE)


def send_docx(agreement: agreements.AgreementFile) -> Response:
    """An agreement as a download named by its number, never cached or sniffed."""
    response = send_file(BytesIO(agreement.content), mimetype=agreements.DOCX, as_attachment=True,
                         download_name=agreement.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/households/<id:household_id>/agreement.docx")
@doc("The household's agreement (.docx) from the unified template; 404 until it is drafted (download audited)",
     errors=(404,), tag="households", content_type=agreements.DOCX)
def agreement_docx(household_id: int):
    """The household's agreement as a .docx attachment named by its number."""
    return send_docx(agreements.document(actor(), household_id, office=office_name(),
                                         timezone=current_app.config["TIMEZONE"], now=utcnow()))
