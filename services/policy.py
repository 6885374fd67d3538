"""Policy values the pipeline's gateways depend on, read from the compensation policy table in force."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from services.compensation import policy as policy_table
from services.context import office


def tracking_audit_threshold(project_id: int | None, now: datetime) -> Decimal:
    """The amount from which an agreement needs tracking audit before payment (the figure of the policy in force
    on the office's calendar day at `now`)."""
    return policy_table.threshold(policy_table.local_today(now, office().timezone))
