"""What the modules derive from the ones before them: the calculation's input and result, red lines."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale

from services.compensation import policy as policies
from services.compensation.calculator import calculate, money
from services.compensation.inputs import Ancillary, HouseholdInput
from services.compensation.inputs import Building as CalcBuilding
from services.compensation.inputs import Person as CalcPerson
from services.compensation.rules import fmt2
from services.errors import InvalidInput
from services.modules.case import Case
from services.problems import N_, Problem, problem, register

register({
    "no_unit_price": N_("no unit price for building '%(building)s'"),
    "no_legal_area": N_("no confirmed legal area for building '%(building)s'"),
    "no_building": N_("the survey records no building"),
    "calc_needs_upstream": N_("the calculation needs the modules before it"),
})

UPSTREAM = {"calculation": ("survey", "appraisal", "rights"), "agreement": ("calculation",),
            "appraisal": ("survey",), "rights": ("survey",), "archive": ()}


def calculation_input(case: Case, values: dict[str, Any]) -> HouseholdInput:
    """The calculator's input from the survey, the appraisal and the rights confirmation."""
    appraisal = {row["building_id"]: row for row in case.doc("appraisal").get("buildings") or []}
    rights = case.doc("rights")
    confirmed = {row["building_id"]: row for row in rights.get("buildings") or []}
    resettled = {row["person_id"]: bool(row.get("resettlement")) for row in rights.get("persons") or []}
    problems: dict[str, list[str]] = {}
    buildings = []
    for building in case.buildings:
        price = appraisal.get(building.id, {}).get("unit_price")
        area = confirmed.get(building.id, {}).get("legal_area")
        if price is None:
            problems.setdefault("appraisal", []).append(problem("no_unit_price", building=building.label))
        if area is None:
            problems.setdefault("rights", []).append(problem("no_legal_area", building=building.label))
        if price is not None and area is not None:
            buildings.append(CalcBuilding(structure=building.structure, legal_status=building.legal_status,
                                          use=building.use, area=Decimal(str(area)), unit_price=Decimal(str(price)),
                                          label=building.label or ""))
    if not case.buildings:
        problems["survey"] = [problem("no_building")]
    if problems:
        raise InvalidInput(problem("calc_needs_upstream"), problems)
    ancillary = tuple(Ancillary(code=row["code"], count=int(row["count"])) for row in case.doc("survey").get(
        "ancillary") or [])
    persons = tuple(CalcPerson(resettlement=resettled.get(p.id, False), special_group=p.special_group)
                    for p in case.persons)
    signed_on = values.get("signed_on")
    if isinstance(signed_on, str):
        signed_on = datetime.fromisoformat(signed_on).date()
    swap_area = values.get("swap_area")
    return HouseholdInput(kind=case.household.kind, option=values["option"], buildings=tuple(buildings),
                          ancillary=ancillary, persons=persons, signed_on=signed_on,
                          transition_months=values.get("transition_months"),
                          swap_area=Decimal(str(swap_area)) if swap_area not in (None, "") else None)


def _policy(case: Case, version: str) -> Any:
    """A policy version by name (NotFound when unknown), read once per case."""
    if version not in case.policies:
        case.policies[version] = policies.get(version)
    return case.policies[version]


def calculation_result(case: Case, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stored calculation: the accountant's choices, the items by the policy table, the total."""
    version = values.get("policy_version") or None
    row = _policy(case, version) if version else policies.current_version(policies.local_today(now))
    rules = row.rules if row is not None else policies.current_rules(policies.local_today(now))
    result = calculate(rules, calculation_input(case, values))
    with force_locale("zh"):  # the stored items are the agreement's lines: in Chinese, whoever computed them
        items = [item.as_json() for item in result.items]
    total = result.total
    for number, adjustment in enumerate(values.get("adjustments") or [], 1):
        amount = money(Decimal(str(adjustment["amount"])))
        items.append({"code": f"adjustment.{number}", "label": adjustment["label"], "basis": adjustment["reason"],
                      "amount": fmt2(amount)})
        total += amount
    return {"policy_version": row.version if row is not None else None, "items": items, "total": fmt2(total),
            "computed_at": now.replace(microsecond=0).isoformat() + "Z",
            "upstream": {m: case.version(m) for m in UPSTREAM["calculation"]}}


CHECK_WORDING = {
    "check.legal_area.ok": N_("Building %(b)s: legal area %(legal)s㎡ within the measured area %(measured)s㎡"),
    "check.legal_area.fail": N_("Building %(b)s: legal area %(legal)s㎡ exceeds the measured area %(measured)s㎡"),
    "check.legal_area.missing": N_("Building %(b)s: no legal area confirmed (measured %(measured)s㎡)"),
    "check.resettlement.person": N_("%(name)s is a resettlement person without hukou here"),
    "check.resettlement.ok": N_("%(n)s resettlement persons, each with hukou here"),
    "check.resettlement.fail": N_("%(n)s resettlement persons, not all with hukou here"),
    "check.calculated.fail": N_("The calculation has not been made"),
    "check.current.ok": N_("The calculation uses the latest survey, appraisal and rights confirmation"),
    "check.current.fail": N_("Changed since the calculation: %(modules)s"),
    "check.recomputed.ok": N_("Recomputed with policy %(v)s: %(fresh)s, the same as the stored %(stored)s"),
    "check.recomputed.fail": N_("Recomputed with policy %(v)s: %(fresh)s, not the stored %(stored)s"),
    "check.recomputed.impossible": N_("The calculation cannot be recomputed: a module before it is incomplete"),
    "check.bounds.ok": N_("Total %(total)s within the policy's limit %(limit)s"),
    "check.bounds.fail": N_("Total %(total)s exceeds the policy's limit %(limit)s"),
    "check.adjustments.fail": N_("%(n)s manual adjustments outside the policy table"),
    "check.tracking_audit.ok": N_("Above %(t)s: the payment will go through tracking audit"),
}
register(CHECK_WORDING)


@dataclass(frozen=True)
class Check:
    """One red-line check of a calculation: its code, passed or not, and why (a coded problem with the figures)."""

    code: str
    ok: bool
    message: Problem

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "ok": self.ok, "message": str(self.message), "problem": self.message.code,
                "params": self.message.params}


def _check(code: str, ok: bool, wording: str | None = None, **params: Any) -> Check:
    """A check worded by its outcome: check.<code>.ok or check.<code>.fail unless another wording is named."""
    return Check(code, ok, problem(f"check.{code}.{wording or ('ok' if ok else 'fail')}", **params))


def red_lines(case: Case, now: datetime) -> list[Check]:
    """The office's red lines for a calculation; a failed one blocks approval without a written override."""
    checks: list[Check] = []
    calc = case.doc("calculation")
    rights = case.doc("rights")
    confirmed = {row["building_id"]: row for row in rights.get("buildings") or []}
    for building in case.buildings:
        row = confirmed.get(building.id)
        measured = fmt2(building.measured_area)
        if row is None or row.get("legal_area") in (None, ""):
            checks.append(_check("legal_area", False, "missing", b=building.label, measured=measured))
            continue
        legal = Decimal(str(row["legal_area"]))
        checks.append(_check("legal_area", legal <= building.measured_area, b=building.label, legal=fmt2(legal),
                             measured=measured))
    resettled = {row["person_id"] for row in rights.get("persons") or [] if row.get("resettlement")}
    for person in case.persons:
        if person.id in resettled and not person.hukou_here:
            checks.append(_check("resettlement", False, "person", name=person.name))
    if resettled:
        checks.append(_check("resettlement", all(p.hukou_here for p in case.persons if p.id in resettled),
                             n=len(resettled)))
    if not calc.get("items"):
        return checks + [_check("calculated", False)]
    upstream = calc.get("upstream") or {}
    stale = [m for m in ("survey", "appraisal", "rights") if upstream.get(m) != case.version(m)]
    checks.append(_check("current", not stale, modules=",".join(stale)) if stale else _check("current", True))
    try:
        fresh = calculation_result(case, calc, now)
        checks.append(_check("recomputed", fresh["total"] == calc.get("total"), v=fresh["policy_version"],
                             fresh=fresh["total"], stored=calc.get("total")))
    except InvalidInput:
        checks.append(_check("recomputed", False, "impossible"))
    row = _policy(case, calc["policy_version"]) if calc.get("policy_version") else None
    bounds = (row.rules if row else {}).get("bounds") or {}
    total = Decimal(str(calc.get("total", "0")))
    limit = Decimal(str(bounds.get("max_total_per_household") or "0"))
    if limit:
        checks.append(_check("bounds", total <= limit, total=fmt2(total), limit=fmt2(limit)))
    adjustments = [i for i in calc.get("items") or [] if str(i.get("code", "")).startswith("adjustment.")]
    if adjustments:
        checks.append(_check("adjustments", False, n=len(adjustments)))
    threshold = Decimal(str((row.rules if row else {}).get("tracking_audit_threshold") or "0"))
    if threshold and total >= threshold:
        checks.append(_check("tracking_audit", True, t=fmt2(threshold)))
    return checks
