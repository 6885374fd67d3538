"""Display names of the codes the pages show (statuses, kinds, actions, modules) and readable error texts."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from services.problems import WORDING

STATUS = {"running": _l("Running"), "completed": _l("Closed"), "suspended": _l("Suspended"),
          "error": _l("Error"), "cancelled": _l("Cancelled")}
TASK_STATUS = {"ready": _l("Open"), "completed": _l("Completed"), "cancelled": _l("Withdrawn")}
KIND = {"collective_house": _l("Collective-land house"), "state_house": _l("State-land house"),
        "enterprise": _l("Enterprise"), "shop": _l("Shop")}
NATURE = {"collective": _l("Collective land"), "state": _l("State-owned land")}
ACTION = {"started": _l("Case opened"), "created": _l("Step opened"), "claimed": _l("Claimed"),
          "released": _l("Released"), "completed": _l("Completed"), "returned": _l("Returned"),
          "cancelled": _l("Withdrawn"), "closed": _l("Case closed"), "error": _l("Engine error"),
          "reassigned": _l("Reassigned"), "escalated": _l("Escalated"), "reminded": _l("Reminder sent"),
          "timer": _l("Timer fired"), "migrated": _l("Moved to a new process version")}
MODULE = {"survey": _l("Household survey"), "appraisal": _l("Appraisal"), "rights": _l("Rights confirmation"),
          "calculation": _l("Compensation calculation"), "calc_audit": _l("Calculation audit"),
          "policy_review": _l("Policy review"), "decision": _l("Collective decision"),
          "agreement": _l("Agreement"), "payment": _l("Payment"), "archive": _l("Archiving")}
NOTIFICATION_KIND = {"returned": _l("Returned"), "sign": _l("To sign"), "audit": _l("To review"),
                     "reminder": _l("Due soon"), "overdue": _l("Overdue"), "escalated": _l("Escalated"),
                     "assigned": _l("Assigned")}


def label(table: dict, code: str | None) -> str:
    """The display name of a code, or the code itself."""
    if not code:
        return "—"
    value = table.get(code)
    return str(value) if value is not None else code


# Field problems as the services and marshmallow word them (English, for the API) → what a page shows.
_PROBLEMS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^(Missing data for required field|Field may not be null|This field is required)\.$"),
     _l("This field is required.")),
    (re.compile(r"^Length must be between 1 and (?P<max>\d+)\.$"),
     _l("This field is required (at most %(max)s characters).")),
    (re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
     _l("Enter between %(min)s and %(max)s characters.")),
    (re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"), _l("Enter at least %(min)s characters.")),
    (re.compile(r"^(Longer than maximum length (?P<max>\d+)\.|at most (?P<max2>\d+) characters)$"),
     _l("Enter at most %(max)s characters.")),
    (re.compile(r"^Not a valid integer\.$"), _l("Enter a whole number.")),
    (re.compile(r"^(Not a valid number\.|Special numeric values .*)$"), _l("Enter a number.")),
    (re.compile(r"^Number too large\.$"), _l("The number is too large.")),
    (re.compile(r"^Not a valid date\.$"), _l("Enter a date as YYYY-MM-DD.")),
    (re.compile(r"^Must be greater than or equal to -9{6,} and less than or equal to 9{6,}\.$"), _l("Enter a number.")),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to 9{6,}\.$"),
     _l("Enter at least %(min)s.")),
    (re.compile(r"^Must be greater than or equal to -9{6,} and less than or equal to (?P<max>\S+)\.$"),
     _l("Enter at most %(max)s.")),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.$"),
     _l("Enter a value from %(min)s to %(max)s.")),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"), _l("Enter at least %(min)s.")),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), _l("Enter at most %(max)s.")),
    (re.compile(r"^(Must|must) be one of: .*$"), _l("Choose one of the listed options.")),
    (re.compile(r"^String does not match expected pattern\.$"), _l("The format is not valid.")),
    (re.compile(r"^(Not a valid (string|boolean)\.|Invalid value\.|Invalid input\.|Invalid type\.)$"),
     _l("The value is not valid.")),
    (re.compile(r"^Unknown field\.$"), _l("This field is not part of the form.")),
    (re.compile(r"^not a valid phone number$"),
     _l("Enter an 11-digit mobile number or a landline such as 0571-87654321.")),
    (re.compile(r"^letters, digits, - and _ only$"), _l("Use letters, digits, - and _ only.")),
    (re.compile(r"^already exists in this project$"), _l("This code already exists in the project.")),
    (re.compile(r"^not a work group of this project$"), _l("Not a work group of this project.")),
    (re.compile(r"^give the reason for the excluded area$"), _l("Give the reason for the excluded area.")),
    (re.compile(r"^the dossier must be complete before the case closes$"),
     _l("The dossier must be complete before the case is closed.")),
    (re.compile(r"^give the reason for the return$"), _l("Give the reason for the return.")),
    (re.compile(r"^this step cannot send the case back$"), _l("This step cannot send the case back.")),
    (re.compile(r"^at most 2 decimal places$"), _l("Use at most two decimal places.")),
    (re.compile(r"^an ID number has 17 digits and a check digit \(0-9 or X\)$"),
     _l("An ID number has 17 digits and a check digit (0-9 or X).")),
    (re.compile(r"^the birth date inside the ID number does not exist$"),
     _l("The birth date in the ID number does not exist.")),
    (re.compile(r"^the birth date inside the ID number is not plausible$"),
     _l("The birth date in the ID number is not plausible.")),
    (re.compile(r"^the check digit of the ID number is wrong$"), _l("The check digit of the ID number is wrong.")),
    (re.compile(r"^exactly one member is the head of household$"),
     _l("Exactly one member must be the head of household.")),
    (re.compile(r"^an ID number appears twice$"), _l("An ID number appears twice.")),
    (re.compile(r"^list each ancillary item once, with its count$"),
     _l("List each ancillary item once, with its count.")),
    (re.compile(r"^give each building its own name$"), _l("Give each building its own name.")),
    (re.compile(r"^the moving deadline cannot be before the signing$"),
     _l("The moving deadline cannot be before the signing.")),
    (re.compile(r"^a voucher number appears twice$"), _l("A voucher number appears twice.")),
    # the password policy (services/passwords.py) and the password change
    (re.compile(r"^at least (?P<min>\d+) characters$"), _l("Use at least %(min)s characters.")),
    (re.compile(r"^mix at least two kinds of characters: .*$"),
     _l("Mix at least two kinds of characters: lower case, upper case, digits, symbols.")),
    (re.compile(r"^must not contain the username$"), _l("Must not contain the username.")),
    (re.compile(r"^this password is too well known$"), _l("This password is too well known; choose another.")),
    (re.compile(r"^a password is required$"), _l("This field is required.")),
    (re.compile(r"^wrong password$"), _l("The current password is wrong.")),
    (re.compile(r"^must differ from the current password$"), _l("The new password must differ from the current one.")),
]


def coded(text: Any) -> str | None:
    """A coded problem (services.problems) in the reader's language, translated by its code; None if not coded."""
    code = getattr(text, "code", None)
    template = WORDING.get(code) if isinstance(code, str) else None
    if template is None:
        return None
    params = getattr(text, "params", None) or {}
    translated = gettext(template)
    try:
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return translated


def problem(text: Any) -> str:
    """A field problem in the reader's language; unknown wordings are shown as they are."""
    translated = coded(text)
    if translated is not None:
        return translated
    raw = str(text)
    for pattern, message in _PROBLEMS:
        found = pattern.match(raw)
        if found:
            params = {k: v for k, v in found.groupdict().items() if v is not None}
            if "max2" in params:
                params["max"] = params.pop("max2")
            return str(message) % params if params else str(message)
    return raw


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
    """The readable text of a service or HTTP error, by its stable code; the raw message otherwise."""
    translated = coded(message)
    if translated is not None:
        return translated
    table_value = CONFLICT.get(code or "") or ERROR.get(code or "")
    if table_value is not None:
        return str(table_value)
    return message or str(ERROR["bad_request"])
