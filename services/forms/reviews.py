"""The reviewing steps: audits with red lines, the collective decision, the signatures, archiving."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema
from marshmallow import fields as f

from services.forms.fields import choice, day, money, rows, text


class ReviewForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    opinion = text(_l("Opinion"), max_len=2000, widget="textarea")
    override_reason = text(_l("Reason to approve despite failed checks"), required=False, max_len=2000,
                           widget="textarea")


class PolicyReviewForm(ReviewForm):
    decision = choice(_l("Decision"), ("approve", "meeting"), default="approve")


class DecisionForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    meeting_date = day(_l("Meeting date"), back=10)
    attendees = text(_l("Attendees"), required=False, max_len=500)
    minutes = text(_l("Minutes of the meeting"), max_len=5000, widget="textarea")


class SignForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    opinion = text(_l("Opinion"), required=False, max_len=1000, widget="textarea")


class TrackingAuditForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    audited_amount = money(_l("Audited amount (yuan)"), minimum="0.01")
    opinion = text(_l("Audit opinion"), max_len=2000, widget="textarea")


class ChecklistRow(Schema):
    code = f.String(required=True, metadata={"title": _l("Document"), "x-widget": "ref"})
    present = f.Boolean(load_default=False, metadata={"title": _l("In the file")})
    note = text(_l("Note"), required=False, max_len=200)


class ArchiveForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    checklist = rows(ChecklistRow, _l("Dossier checklist"), minimum=1, maximum=40, **{"x-rows-from": "dossier"})
    box_no = text(_l("Box number"), max_len=32)
    serial_no = text(_l("Serial number"), max_len=32)
