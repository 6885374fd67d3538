"""Policy values the pipeline's gateways depend on, read from the compensation policy table in force."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app, has_app_context

from app.models import utcnow
from services.compensation import policy as policy_table


def tracking_audit_threshold(project_id: int | None) -> Decimal:
    """The amount from which an agreement needs tracking audit before payment (the current policy's figure)."""
    zone = current_app.config.get("TIMEZONE", policy_table.DEFAULT_ZONE) if has_app_context() \
        else policy_table.DEFAULT_ZONE
    return policy_table.threshold(policy_table.local_today(utcnow(), zone))
