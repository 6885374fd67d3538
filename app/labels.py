"""Display names of the codes the pages show (statuses, kinds, actions, modules)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS = {"running": _l("Running"), "completed": _l("Closed"), "suspended": _l("Suspended"),
          "error": _l("Error"), "cancelled": _l("Cancelled")}
KIND = {"collective_house": _l("Collective-land house"), "state_house": _l("State-land house"),
        "enterprise": _l("Enterprise"), "shop": _l("Shop")}
NATURE = {"collective": _l("Collective land"), "state": _l("State-owned land")}
ACTION = {"started": _l("Case opened"), "created": _l("Step opened"), "claimed": _l("Claimed"),
          "released": _l("Released"), "completed": _l("Completed"), "returned": _l("Returned"),
          "cancelled": _l("Withdrawn"), "closed": _l("Case closed"), "error": _l("Engine error"),
          "reassigned": _l("Reassigned"), "escalated": _l("Escalated")}
MODULE = {"survey": _l("Household survey"), "appraisal": _l("Appraisal"), "rights": _l("Rights confirmation"),
          "calculation": _l("Compensation calculation"), "calc_audit": _l("Calculation audit"),
          "policy_review": _l("Policy review"), "decision": _l("Collective decision"),
          "agreement": _l("Agreement"), "payment": _l("Payment"), "archive": _l("Archiving")}


def label(table: dict, code: str | None) -> str:
    """The display name of a code, or the code itself."""
    if not code:
        return "—"
    value = table.get(code)
    return str(value) if value is not None else code
