"""The forms of the pipeline's steps, registered under the keys the BPMN names."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, validate, validates_schema
from marshmallow import fields as f

from services import policy
from services.forms.fields import WholeNumber
from services.forms.registry import StepForm, decision_gateway_data, register

STRUCTURES = ("brick_concrete", "frame", "brick_wood", "simple")
USES = ("residential", "business", "production")
LEGAL_STATUSES = ("legal", "unregistered_legal", "legacy", "illegal")
PHONE = r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$"

CHOICE_LABELS: dict[str, Any] = {
    "brick_concrete": _l("Brick-concrete"),
    "frame": _l("Frame"),
    "brick_wood": _l("Brick-wood"),
    "simple": _l("Simple"),
    "residential": _l("Residential"),
    "business": _l("Business"),
    "production": _l("Production"),
    "legal": _l("Legal"),
    "unregistered_legal": _l("Unregistered but legal"),
    "legacy": _l("Historical legacy"),
    "illegal": _l("Illegal construction"),
    "cash": _l("Cash compensation"),
    "swap": _l("Property swap"),
    "approve": _l("Approve"),
    "meeting": _l("Refer to collective decision"),
}


def money(title: Any, *, required: bool = True, minimum: str = "0") -> f.Decimal:
    """A money or area field: Decimal with two places, not negative."""
    return f.Decimal(
        places=2, as_string=True, required=required, allow_nan=False,
        validate=validate.Range(min=Decimal(minimum), max=Decimal("9999999999")),
        metadata={"title": title},
    )


def text(title: Any, *, required: bool = True, max_len: int = 200, widget: str | None = None) -> f.String:
    """A trimmed text field."""
    metadata: dict[str, Any] = {"title": title}
    if widget:
        metadata["x-widget"] = widget
    return f.String(required=required, validate=validate.Length(min=1 if required else 0, max=max_len),
                    metadata=metadata)


def choice(title: Any, options: tuple[str, ...], *, required: bool = True, default: str | None = None) -> f.String:
    """One of a fixed set of codes, labelled for the page."""
    extra: dict[str, Any] = {"load_default": default} if default is not None else {"required": required}
    return f.String(validate=validate.OneOf(options),
                    metadata={"title": title, "x-labels": {o: CHOICE_LABELS.get(o, o) for o in options}}, **extra)


class SurveyForm(Schema):
    head_name = text(_l("Head of household"), max_len=64)
    phone = f.String(required=False, validate=validate.Regexp(PHONE, error="not a valid phone number"),
                     metadata={"title": _l("Phone")})
    address = text(_l("Address"), max_len=255)
    persons_count = WholeNumber(required=True, validate=validate.Range(min=1, max=50),
                                metadata={"title": _l("Household members")})
    homestead_area = money(_l("Homestead area (㎡)"), required=False)
    measured_area = money(_l("Measured building area (㎡)"))
    structure = choice(_l("Structure"), STRUCTURES)
    use = choice(_l("Use"), USES)
    legal_status = choice(_l("Legal status"), LEGAL_STATUSES)
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")


class AppraisalForm(Schema):
    firm = text(_l("Appraisal firm"), max_len=128)
    report_no = text(_l("Report number"), max_len=64)
    report_date = f.Date(required=True, metadata={"title": _l("Report date")})
    unit_price = money(_l("Unit price (yuan/㎡)"), minimum="0.01")
    decoration_value = money(_l("Decoration value (yuan)"), required=False)
    ancillary_value = money(_l("Ancillary items value (yuan)"), required=False)
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")


class RightsForm(Schema):
    legal_area = money(_l("Confirmed legal area (㎡)"))
    excluded_area = money(_l("Excluded area (㎡)"), required=False)
    exclusion_reason = text(_l("Reason for exclusion"), required=False, max_len=500)
    resettlement_persons = WholeNumber(required=True, validate=validate.Range(min=0, max=50),
                                       metadata={"title": _l("Resettlement persons")})
    basis = text(_l("Basis of determination"), max_len=2000, widget="textarea")

    @validates_schema
    def _reason_for_exclusion(self, data: dict, **kwargs: Any) -> None:
        if data.get("excluded_area") and data["excluded_area"] > 0 and not data.get("exclusion_reason"):
            raise ValidationError("give the reason for the excluded area", "exclusion_reason")


class CalculationForm(Schema):
    option = choice(_l("Compensation option"), ("cash", "swap"))
    compensation_total = money(_l("Compensation total (yuan)"))
    price_difference = money(_l("Price difference to settle (yuan)"), required=False, minimum="-9999999999")
    notes = text(_l("Calculation notes"), required=False, max_len=2000, widget="textarea")


class ReviewForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    opinion = text(_l("Opinion"), max_len=2000, widget="textarea")


class PolicyReviewForm(ReviewForm):
    decision = choice(_l("Decision"), ("approve", "meeting"), default="approve")


class DecisionForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    meeting_date = f.Date(required=True, metadata={"title": _l("Meeting date")})
    attendees = text(_l("Attendees"), required=False, max_len=500)
    minutes = text(_l("Minutes of the meeting"), max_len=5000, widget="textarea")


class AgreementForm(Schema):
    amount = money(_l("Agreed amount (yuan)"), minimum="0.01")
    move_deadline = f.Date(required=True, metadata={"title": _l("Moving deadline")})
    household_signed_on = f.Date(required=True, metadata={"title": _l("Signed by the household on")})
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")


class SignForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    opinion = text(_l("Opinion"), required=False, max_len=1000, widget="textarea")


class PaymentForm(Schema):
    amount = money(_l("Amount paid (yuan)"), minimum="0.01")
    paid_on = f.Date(required=True, metadata={"title": _l("Paid on")})
    voucher_no = text(_l("Voucher number"), max_len=64)


class ArchiveForm(Schema):
    decision = choice(_l("Decision"), ("approve",), default="approve")
    box_no = text(_l("Box number"), max_len=32)
    serial_no = text(_l("Serial number"), max_len=32)
    checklist_complete = f.Boolean(required=True, metadata={"title": _l("Dossier checklist complete")})

    @validates_schema
    def _complete(self, data: dict, **kwargs: Any) -> None:
        if not data.get("checklist_complete"):
            raise ValidationError("the dossier must be complete before the case closes", "checklist_complete")


def agreement_gateway_data(values: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Large agreements go through tracking audit before payment."""
    threshold = policy.tracking_audit_threshold(context.get("project_id"))
    return {"amount_band": "large" if values["amount"] >= threshold else "normal"}


register(StepForm("survey", SurveyForm, "survey", _l("Household survey")))
register(StepForm("appraisal", AppraisalForm, "appraisal", _l("Appraisal")))
register(StepForm("rights", RightsForm, "rights", _l("Rights confirmation")))
register(StepForm("calculation", CalculationForm, "calculation", _l("Compensation calculation")))
register(StepForm("calc_audit", ReviewForm, "calc_audit", _l("Calculation audit"), reviewing=True,
                  gateway=decision_gateway_data))
register(StepForm("policy_review", PolicyReviewForm, "policy_review", _l("Policy review"), reviewing=True,
                  gateway=decision_gateway_data))
register(StepForm("decision", DecisionForm, "decision", _l("Collective decision"), reviewing=True,
                  gateway=decision_gateway_data))
register(StepForm("agreement", AgreementForm, "agreement", _l("Agreement"), gateway=agreement_gateway_data))
register(StepForm("sign", SignForm, "agreement", _l("Agreement signature"), reviewing=True, section="signatures.{role}",
                  gateway=decision_gateway_data))
register(StepForm("tracking_audit", ReviewForm, "payment", _l("Tracking audit"), reviewing=True,
                  section="tracking_audit", gateway=decision_gateway_data))
register(StepForm("payment", PaymentForm, "payment", _l("Payment")))
register(StepForm("archive", ArchiveForm, "archive", _l("Archiving"), reviewing=True,
                  gateway=decision_gateway_data))
