"""API routes of separation of duties: a project's rules, switched off (with a reason) or on by administrators."""
from __future__ import annotations

from marshmallow import fields as f

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, respond
from app.api.schemas import UtcDateTime, With
from app.models import utcnow
from services import duties
from services.problems import CodedSchema


class DutyRuleSchema(CodedSchema):
    code = f.String(metadata={"enum": [r.code for r in duties.RULES]})
    title = f.String()
    sentence = f.String(metadata={"description": "the rule in words"})
    on = f.Boolean()
    reason = f.String(allow_none=True, metadata={"description": "why it was switched off (null while on)"})
    by = f.String(allow_none=True, metadata={"description": "the username of who switched it off"})
    at = UtcDateTime(allow_none=True, metadata={"description": "when it was switched off"})


class DutyRuleList(CodedSchema):
    project_id = f.Integer()
    items = f.List(f.Nested(DutyRuleSchema))


DutyRulesUpdate = duties.DutyRulesUpdate  # validated by the service once the caller is an administrator


def _answer(project, states):
    return respond(DutyRuleList, With(project, project_id=project.id, items=states))


@bp.get("/projects/<id:project_id>/duty-rules")
@doc("The project's separation-of-duties rules and whether each is on (administrators)", response=DutyRuleList,
     errors=(403, 404), tag="projects")
def get_duty_rules(project_id: int):
    return _answer(*duties.rule_states(actor(), project_id))


@bp.put("/projects/<id:project_id>/duty-rules")
@doc("Switch separation-of-duties rules of the project on, or off with a reason of at least ten characters "
     "(administrators). A completion or payment a rule refuses is answered 403 with code duty_separation",
     body=DutyRulesUpdate, response=DutyRuleList, errors=(403, 404), tag="projects")
def put_duty_rules(project_id: int):
    return _answer(*duties.set_rules(actor(), project_id, json_body(), now=utcnow()))
