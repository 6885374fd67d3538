"""Display names of the codes the pages show (statuses, kinds, actions, modules) and readable error texts."""
from __future__ import annotations

import logging
from typing import Any

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from services.problems import WORDING, Problem, name_param, named

log = logging.getLogger(__name__)

STATUS = {"running": _l("Running"), "completed": _l("Closed"), "suspended": _l("Suspended"),
          "error": _l("Error"), "cancelled": _l("Cancelled")}
TASK_STATUS = {"ready": _l("Open"), "completed": _l("Completed"), "cancelled": _l("Withdrawn")}
KIND = {"collective_house": _l("Collective-land house"), "state_house": _l("State-land house"),
        "enterprise": _l("Enterprise"), "shop": _l("Shop")}
NATURE = {"collective": _l("Collective land"), "state": _l("State-owned land")}
PROJECT_KIND = {"collective": _l("Collective land"), "state": _l("State-owned land"), "mixed": _l("Mixed land")}
PROJECT_STATUS = {"active": _l("In progress"), "closed": _l("Closed to new households"), "archived": _l("Archived")}
VILLAGE_KIND = {"village": _l("Village"), "section": _l("Area or lot")}
ACTION = {"started": _l("Case opened"), "created": _l("Step opened"), "claimed": _l("Claimed"),
          "released": _l("Released"), "completed": _l("Completed"), "returned": _l("Returned"),
          "cancelled": _l("Withdrawn"), "closed": _l("Case closed"), "error": _l("Engine error"),
          "reassigned": _l("Reassigned"), "escalated": _l("Escalated"), "reminded": _l("Reminder sent"),
          "timer": _l("Timer fired"), "migrated": _l("Moved to a new process version"),
          "conflict_declared": _l("Conflict of interest declared")}
MODULE = {"survey": _l("Household survey"), "appraisal": _l("Appraisal"), "rights": _l("Rights confirmation"),
          "calculation": _l("Compensation calculation"), "calc_audit": _l("Calculation audit"),
          "policy_review": _l("Policy review"), "decision": _l("Collective decision"),
          "agreement": _l("Agreement"), "payment": _l("Payment"), "archive": _l("Archiving")}
SEVERITY = {"low": _l("Minor"), "medium": _l("Moderate"), "high": _l("Serious")}
FINDING_STATE = {"open": _l("Awaiting rectification"), "rectified": _l("Rectified, awaiting review"),
                 "closed": _l("Closed after review"), "reopened": _l("Reopened")}
SELECTION_METHOD = {"negotiation": _l("Negotiated by the households"), "lottery": _l("Drawn by lot")}
NOTIFICATION_KIND = {"returned": _l("Returned"), "sign": _l("To sign"), "audit": _l("To review"),
                     "reminder": _l("Due soon"), "overdue": _l("Overdue"), "escalated": _l("Escalated"),
                     "assigned": _l("Assigned"), "finding": _l("Audit finding")}


def label(table: dict, code: str | None) -> str:
    """The display name of a code, or the code itself."""
    if not code:
        return "—"
    value = table.get(code)
    return str(value) if value is not None else code


def coded(text: Any) -> str | None:
    """A coded problem (services.problems) in the reader's language, translated by its code; None if not coded."""
    code = getattr(text, "code", None)
    template = WORDING.get(code) if isinstance(code, str) else None
    if template is None:
        return None
    params = {key: coded(value) or value if hasattr(value, "code") else value
              for key, value in (getattr(text, "params", None) or {}).items()}
    params = named(params, str(get_locale() or "zh"))
    translated = gettext(template)
    try:
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return translated


def check_text(check: dict[str, Any]) -> str:
    """A stored red-line check ({code, ok, message, problem, params}) as a sentence in the reader's language."""
    code = check.get("problem")
    if isinstance(code, str) and code in WORDING:
        return problem(Problem(code, **(check.get("params") or {})))
    return str(check.get("message") or "")


def problem(text: Any) -> str:
    """A field problem in the reader's language, by its code; an uncoded text is shown as the generic problem
    (and logged), so that no English sentence reaches a page and a reworded message is noticed."""
    translated = coded(text)
    if translated is not None:
        return translated
    log.warning("uncoded problem shown as the generic one: %r", str(text)[:200])
    return gettext(WORDING["invalid"])


REPORT_SCOPE = {"all": _l("All work groups"), "project": _l("Every work group of your projects"),
                "groups": _l("Your work groups: %(names)s"), "group": _l("Work group: %(names)s")}


def report_scope(view: Any) -> str:
    """Whose numbers a report shows (services.reports.ReportScope), in the reader's language."""
    return str(REPORT_SCOPE[view.kind]) % {"names": "、".join(g.name for g in view.groups)}


# Conflicts by their stable code: what a user reads in the flash message or on the error page.
CONFLICT = {
    "task_not_ready": _l("This step is no longer open: it has been completed or withdrawn meanwhile."),
    "claimed": _l("This step is claimed by another user."),
    "instance_not_running": _l("The case is not running, so its steps cannot be worked on."),
    "engine_error": _l("The process could not continue; the case is marked as an error for the process owner."),
    "stale": _l("Someone else changed this record at the same time; reload the page and try again."),
    "integrity": _l("The change conflicts with data already recorded."),
    "busy": _l("The case is busy; try again in a moment."),
}
ERROR = {
    "csrf": _l("The form has expired or was not sent from this site. Reload the page and try again."),
    "not_found": _l("The page or record does not exist, or it is not in one of your projects."),
    "forbidden": _l("Your roles do not allow this."),
    "method_not_allowed": _l("This address cannot be used that way."),
    "payload_too_large": _l("The upload is too large."),
    "uri_too_long": _l("The address is too long; go back and shorten the search."),
    "unsupported_media_type": _l("This type of file is not accepted."),
    "internal_error": _l("An unexpected error occurred; it has been logged."),
    "unavailable": _l("The service is temporarily unavailable."),
    "bad_request": _l("The request could not be understood."),
    "invalid_input": _l("Some of the input is not valid."),
    "too_many_requests": _l("Too many requests; wait a moment and try again."),
}


def error_text(code: str | None, message: str | None = None) -> str:
    """The readable text of a service or HTTP error: its coded message, else the text of its stable code."""
    translated = coded(message)
    if translated is not None:
        return translated
    table_value = CONFLICT.get(code or "") or ERROR.get(code or "")
    if table_value is not None:
        return str(table_value)
    if message:
        log.warning("uncoded error shown by its generic text: %s %r", code, str(message)[:200])
    return str(ERROR["bad_request"])


# what is wrong with an uploaded workbook as a whole, the same for every import; each adds its own wordings
WORKBOOK_WORDING = {
    "empty_file": _l("The file is empty."),
    "unreadable_workbook": _l("The workbook could not be read; save it again as an .xlsx file."),
    "unsupported_media_type": _l("Only .xlsx workbooks are accepted."),
}


def upload_problem(wordings: dict[str, Any], exc: Any, max_rows: int) -> str:
    """What is wrong with an uploaded workbook as a whole: the import's wording of the error's code (with the most
    rows a file may hold), else the error's own text."""
    wording = wordings.get(exc.code)
    if wording is None:
        return error_text(exc.code, exc.message)
    return str(wording) % {"max": max_rows}


# parameters of coded problems that are codes themselves, shown by their names
name_param("modules", lambda value, locale: "、".join(label(MODULE, m) for m in str(value).split(",") if m))
