"""API routes: the compensation policy table and the calculation preview."""
from __future__ import annotations

from datetime import date

from flask import current_app
from marshmallow import fields as f

from app.api import bp
from app.api.docs import doc
from app.api.helpers import json_body, respond
from app.api.schemas import UtcDateTime
from app.models import utcnow
from services.compensation import inputs
from services.compensation import policy as policy_table
from services.compensation.rules import fmt2
from services.problems import CodedSchema


class PolicySummarySchema(CodedSchema):
    version = f.String()
    name = f.String()
    effective_from = f.Date()
    current = f.Boolean()


class PolicyList(CodedSchema):
    items = f.List(f.Nested(PolicySummarySchema))


class PolicyDetail(PolicySummarySchema):
    comment = f.String(allow_none=True)
    created_at = UtcDateTime()
    rules = f.Dict(metadata={"description": "the rule table; money and ratios as exact decimal strings"})


class PreviewItem(CodedSchema):
    code = f.String()
    label = f.String()
    basis = f.String()
    amount = f.String(metadata={"description": "yuan, exactly two decimals"})


class PreviewResponse(CodedSchema):
    policy_version = f.String()
    items = f.List(f.Nested(PreviewItem))
    total = f.String(metadata={"description": "the sum of the items; for swap the difference to settle"})


def _today() -> date:
    return policy_table.local_today(utcnow(), current_app.config["TIMEZONE"])


@bp.get("/policies")
@doc("The versions of the compensation policy table, the one in force marked current", response=PolicyList,
     tag="compensation")
def list_policies():
    return respond(PolicyList, {"items": policy_table.list_versions(_today())})


@bp.get("/policies/<version>")
@doc("One version of the policy table with its rules", response=PolicyDetail, errors=(404,), tag="compensation")
def get_policy(version: str):
    return respond(PolicyDetail, policy_table.rule_table(policy_table.get(version), _today()))


@bp.post("/calculations/preview")
@doc("Calculate a household's compensation under the current (or a named) policy version, storing nothing",
     body=inputs.PreviewSchema, response=PreviewResponse, tag="compensation")
def preview_calculation():
    data, version = inputs.parse_preview(json_body())
    result = policy_table.preview(data, version, _today(), utcnow())
    return respond(PreviewResponse, {"policy_version": result["policy_version"],
                                     "items": [item.as_json() for item in result["items"]],
                                     "total": fmt2(result["total"])})
