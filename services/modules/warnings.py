"""Warnings while a module is entered: values that break an office rule, shown at once next to their field,
never blocking the clerk (the reviewing steps' red lines decide)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from app.models import utcnow
from services.compensation.rules import fmt2
from services.modules.case import Case
from services.problems import N_, Problem, problem, register

register({
    "warn_legal_above_measured": N_("The legal area %(legal)s㎡ exceeds the measured area %(measured)s㎡ of "
                                    "%(b)s; the calculation audit will flag it."),
})


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def entry_warnings(case: Case, module: str, values: dict[str, Any]) -> dict[str, list[Problem]]:
    """Field path → warnings for the values of a module as entered (stored or just typed)."""
    out: dict[str, list[Problem]] = {}
    if module in ("appraisal", "rights", "calculation"):
        out.update(_bound_warnings(case, module, values))
    if module == "rights":
        measured = {b.id: (b.label, b.measured_area) for b in case.buildings}
        for index, row in enumerate(values.get("buildings") or []):
            if not isinstance(row, dict):
                continue
            legal = _decimal(row.get("legal_area"))
            building = measured.get(_int(row.get("building_id")))
            if legal is not None and building is not None and building[1] is not None and legal > building[1]:
                out[f"buildings.{index}.legal_area"] = [problem(
                    "warn_legal_above_measured", legal=fmt2(legal), measured=fmt2(building[1]), b=building[0])]
    return out


def _bound_warnings(case: Case, module: str, values: dict[str, Any]) -> dict[str, list[Problem]]:
    """The policy's red lines (unit price, area, total) that the values as entered break, at their fields."""
    from services.compensation.catalogue import rules_for
    from services.compensation.rules import bound_checks
    from services.modules.compute import bound_figures

    rules = rules_for(case.household, utcnow())
    entered = {module: values} if module in ("appraisal", "rights") else {}
    figures = bound_figures(case, entered.get("appraisal"), entered.get("rights"))
    total = _decimal(case.doc("calculation").get("total")) if module == "calculation" else None
    rows = {b.label: index for index, b in enumerate(case.buildings)}
    out: dict[str, list[Problem]] = {}
    for code, ok, message in bound_checks(rules, figures, total):
        if ok:
            continue
        if code == "max_unit_price" and module == "appraisal":
            field = f"buildings.{rows.get(message.params.get('b'), 0)}.unit_price"
        elif code == "max_area" and module == "rights":
            field = "buildings"
        elif module == "calculation":
            field = "option"
        else:
            continue
        out.setdefault(field, []).append(message)
    return out


def limits(case: Case, module: str) -> dict[str, dict[str, str]]:
    """What the page's script checks as the clerk types: for each row field, the figure it should not exceed."""
    if module != "rights":
        return {}
    return {"legal_area": {str(b.id): fmt2(b.measured_area) for b in case.buildings if b.measured_area is not None}}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
