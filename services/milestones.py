"""Milestones of a case that reports aggregate: the agreed amount, when all signed, what was paid."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from app.models import HumanTask, ProcessInstance

# forms whose rework means the agreement has to be signed again
BEFORE_SIGNING = {"survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "decision",
                  "agreement"}


def after_complete(instance: ProcessInstance, row: HumanTask, stored: dict[str, Any], open_forms: set[str],
                   now: datetime) -> None:
    """Record what a completed step means for the case's numbers."""
    if row.form_key == "agreement":
        instance.agreed_amount = Decimal(str(stored["total"])) if stored.get("total") is not None else None
    elif row.form_key == "payment":
        # the payment module holds every payment of the case, so its sum is what was paid
        instance.paid_amount = Decimal(str(stored.get("paid_total") or "0"))
    elif row.form_key == "sign" and "sign" not in open_forms and instance.signed_at is None:
        instance.signed_at = now


def after_return(instance: ProcessInstance, target_form: str | None) -> None:
    """A return to a step before the signatures voids them."""
    if target_form in BEFORE_SIGNING:
        instance.signed_at = None
