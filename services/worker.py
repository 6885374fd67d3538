"""The worker: fires BPMN timers, escalates deadlines (of steps and of audit findings) and sends e-mail copies — once
per pass or forever."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.extensions import db
from services import escalation, finding_notices, idempotency, mailer, runtime
from services.tx import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    """What one pass did."""

    timers: int
    notices: int
    emails: int


def run_once(now: datetime, times: escalation.EscalationTimes, smtp: mailer.SmtpSettings) -> PassResult:
    """One pass over everything that is due now; safe to run on several hosts at once."""
    timers = runtime.fire_due_timers(now)
    notices = escalation.run(now, times) + finding_notices.run_overdue(now)
    emails = mailer.send_pending(smtp, now)
    with transaction():
        idempotency.purge(now)
    db.session.remove()
    return PassResult(timers, notices, emails)


def run_forever(clock: Callable[[], datetime], times: escalation.EscalationTimes, smtp: mailer.SmtpSettings,
                interval: float, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Run passes until asked to stop; the first pass catches up on what fell due while no worker ran."""
    while not should_stop():
        try:
            result = run_once(clock(), times, smtp)
            if result.timers or result.notices or result.emails:
                log.info("worker pass: %s", result)
        except Exception:  # a failed pass must not stop the worker; the next pass retries
            log.exception("worker pass failed")
            db.session.remove()
        time.sleep(interval)
