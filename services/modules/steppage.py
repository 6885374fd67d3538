"""What a step's page shows beside its form: the module's version (sent back with every save), drafts and
sync, upstream changes old → new, the red-line checks before a decision, warnings, the return marker."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.extensions import db
from app.models import HumanTask, TaskEvent, User
from services.forms import get_form
from services.modules import compute, payees
from services.modules.case import load
from services.modules.changes import UpstreamChange, upstream_changes
from services.modules.compute import Check
from services.modules.payees import PayeeProgress
from services.modules.service import changed_upstream
from services.modules.warnings import entry_warnings, limits
from services.problems import Problem

SYNCABLE = ("appraisal", "rights", "calculation", "agreement", "archive")
REVIEWED = ("calc_audit", "policy_review")  # the reviewing steps that see the calculation's red lines


@dataclass
class ReturnMarker:
    """Why this step is open again: who sent the case back, from which step, to which, and the reason."""

    by: str | None
    from_step: str | None
    to_step: str | None
    reason: str | None
    at: datetime | None
    target: bool  # True: this very step was named; False: it runs again after an earlier one was redone


@dataclass
class StepPage:
    """The extras of a step's page."""

    module: str | None
    version: int | None
    can_draft: bool
    can_sync: bool
    changes: list[UpstreamChange] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    warnings: dict[str, list[Problem]] = field(default_factory=dict)
    limits: dict[str, dict[str, str]] = field(default_factory=dict)
    returned: ReturnMarker | None = None
    agreement_scan: bool = False
    agreed_total: Decimal | None = None  # on the payment step: the amount the agreement settles
    payees: list[PayeeProgress] = field(default_factory=list)  # and per payee: agreed, paid, remaining


def step_page(row: HumanTask, values: dict[str, Any], events: list[TaskEvent], now: datetime) -> StepPage:
    """The extras of a step's page for the values shown (stored, or just typed and sent back)."""
    form = get_form(row.form_key)
    if form is None or form.section is not None:
        return StepPage(form.module if form else None, None, False, False, returned=return_marker(row, events))
    case = load(row.household)
    module = form.module
    page = StepPage(module, case.version(module), row.status == "ready", module in SYNCABLE and row.status == "ready",
                    returned=return_marker(row, events))
    if row.status == "ready":
        page.changes = upstream_changes(case, changed_upstream(case, module))
        if module in REVIEWED:
            page.checks = compute.red_lines(case, now)
    page.warnings = entry_warnings(case, module, values)
    page.limits = limits(case, module)
    page.agreement_scan = module == "agreement" and "signed_agreement" in case.categories_with_files()
    if module == "payment":
        total = case.agreement_total()
        page.agreed_total = abs(total) if total is not None else None
        page.payees = payees.progress(case, values.get("payments") if isinstance(values, dict) else None)
    return page


def return_marker(row: HumanTask, events: list[TaskEvent]) -> ReturnMarker | None:
    """The return that (re)opened this step, if it was one."""
    if row.status != "ready":
        return None
    if row.returned:
        by = db.session.get(User, row.returned_by_id) if row.returned_by_id else None
        return ReturnMarker(by.display_name if by else None, row.returned_from, row.name, row.return_reason,
                            row.created_at, True)
    before = [e for e in events if e.at <= row.created_at]
    back = next((e for e in reversed(before) if e.action == "returned"), None)
    if back is None:
        return None
    done_before = back.bpmn_id == row.bpmn_id or any(
        e.action == "completed" and e.bpmn_id == row.bpmn_id and e.at <= back.at for e in before)
    if not done_before:
        return None
    detail = back.detail or {}
    return ReturnMarker(back.actor.display_name if back.actor else None, back.task_name, detail.get("to_name"),
                        detail.get("reason"), back.at, False)
