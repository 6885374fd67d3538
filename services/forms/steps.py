"""The forms of the pipeline's steps, registered under the keys the BPMN names."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from services import policy
from services.forms.assessment import AppraisalForm, RightsForm
from services.forms.registry import StepForm, decision_gateway_data, register
from services.forms.reviews import (
    ArchiveForm,
    DecisionForm,
    PolicyReviewForm,
    ReviewForm,
    SignForm,
    TrackingAuditForm,
)
from services.forms.settlement import AgreementForm, CalculationForm, PaymentForm
from services.forms.survey import SurveyForm


def agreement_gateway_data(stored: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Large agreements go through tracking audit before payment; the agreement's total decides."""
    total = stored.get("total")
    amount = abs(Decimal(str(total))) if total is not None else Decimal("0")
    threshold = policy.tracking_audit_threshold(context.get("project_id"), context["now"])
    return {"amount_band": "large" if amount >= threshold else "normal"}


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
register(StepForm("tracking_audit", TrackingAuditForm, "payment", _l("Tracking audit"), reviewing=True,
                  section="tracking_audit", gateway=decision_gateway_data))
register(StepForm("payment", PaymentForm, "payment", _l("Payment")))
register(StepForm("archive", ArchiveForm, "archive", _l("Archiving"), reviewing=True,
                  gateway=decision_gateway_data))
