"""Policy values the pipeline's gateways depend on."""
from __future__ import annotations

from decimal import Decimal

# DOMAIN.md: payments above this (e.g. 500万元) first go through tracking audit.
DEFAULT_TRACKING_AUDIT_THRESHOLD = Decimal("5000000.00")


def tracking_audit_threshold(project_id: int | None) -> Decimal:
    """The amount from which an agreement needs tracking audit before payment."""
    return DEFAULT_TRACKING_AUDIT_THRESHOLD
