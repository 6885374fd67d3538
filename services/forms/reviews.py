"""The reviewing steps: audits with red lines, the collective decision, the signatures, archiving."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields as f
from marshmallow import pre_load

from services.forms.fields import choice, day, declaration_note, declaration_tick, file_ref, money, rows, text
from services.problems import CodedSchema


class ReviewForm(CodedSchema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    opinion = text(_l("Opinion"), max_len=2000, widget="textarea")
    override_reason = text(_l("Reason to approve despite failed checks"), required=False, max_len=2000,
                           widget="textarea")


class PolicyReviewForm(ReviewForm):
    decision = choice(_l("Decision"), ("approve", "meeting"), default="approve")


class DecisionForm(CodedSchema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    meeting_date = day(_l("Meeting date"), back=10)
    attendees = text(_l("Attendees"), required=False, max_len=500)
    minutes = text(_l("Minutes of the meeting"), max_len=5000, widget="textarea")
    minutes_file = file_ref(_l("Signed minutes (file)"), "minutes")


class SignForm(CodedSchema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    opinion = text(_l("Opinion"), required=False, max_len=1000, widget="textarea")
    no_conflict = declaration_tick()
    conflict_note = declaration_note()


class TrackingAuditForm(CodedSchema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    audited_amount = money(_l("Audited amount (yuan)"), minimum="0.01")
    opinion = text(_l("Audit opinion"), max_len=2000, widget="textarea")


class ChecklistRow(CodedSchema):
    code = f.String(required=True, metadata={"title": _l("Document"), "x-widget": "ref"})
    present = f.Boolean(load_default=False, metadata={"title": _l("In the file")})
    note = text(_l("Note"), required=False, max_len=200)
    # what the dossier says of the item: handed out with the row, ignored when it comes back
    required = f.Boolean(dump_only=True, metadata={"description": "the household's kind needs it",
                                                         "x-widget": "hidden"})
    has_file = f.Boolean(dump_only=True, metadata={"description": "a scan of it is attached",
                                                         "x-widget": "hidden"})

    @pre_load
    def _ignore_read_only(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if k not in self.fields or not self.fields[k].dump_only}


class ArchiveForm(CodedSchema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    checklist = rows(ChecklistRow, _l("Dossier checklist"), minimum=1, maximum=40, **{"x-rows-from": "dossier"})
    box_no = text(_l("Box number"), max_len=32)
    serial_no = text(_l("Serial number"), max_len=32)
