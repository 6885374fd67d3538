"""What the modules derive from the ones before them: the calculation's input and result, red lines."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale

from services.compensation import policy as policies
from services.compensation.calculator import calculate, money, payee_totals
from services.compensation.catalogue import version_for
from services.compensation.inputs import Ancillary, HouseholdInput
from services.compensation.inputs import Building as CalcBuilding
from services.compensation.inputs import Person as CalcPerson
from services.compensation.rules import bound_checks, catalogue_items, fmt2, yuan
from services.errors import InvalidInput
from services.modules.case import Case
from services.problems import N_, Problem, problem, register

register({
    "no_unit_price": N_("no unit price for building '%(building)s'"),
    "no_legal_area": N_("no confirmed legal area for building '%(building)s'"),
    "no_building": N_("the survey records no building"),
    "calc_needs_upstream": N_("the calculation needs the modules before it"),
    "payments_above_audit": N_("the payments would exceed the audited amount"),
    "payment_above_audited": N_("with this payment %(paid)s would be paid, more than the audited %(audited)s"),
})

UPSTREAM = {"calculation": ("survey", "appraisal", "rights"), "agreement": ("calculation",),
            "appraisal": ("survey",), "rights": ("survey",), "archive": ()}


def calculation_input(case: Case, values: dict[str, Any], valuation_year: int | None = None) -> HouseholdInput:
    """The calculator's input from the survey, the appraisal and the rights confirmation."""
    appraisal_doc = case.doc("appraisal")
    appraisal = {row["building_id"]: row for row in appraisal_doc.get("buildings") or []}
    surveyed = {row.get("id"): row for row in case.doc("survey").get("buildings") or [] if isinstance(row, dict)}
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
            decoration = appraisal.get(building.id, {}).get("decoration_value")
            buildings.append(CalcBuilding(structure=building.structure, legal_status=building.legal_status,
                                          use=building.use, area=Decimal(str(area)), unit_price=Decimal(str(price)),
                                          label=building.label or "", year_built=building.year_built,
                                          decoration_value=_amount(decoration),
                                          run_as_business=bool(surveyed.get(building.id, {}).get("run_as_business"))))
    if not case.buildings:
        problems["survey"] = [problem("no_building")]
    if problems:
        raise InvalidInput(problem("calc_needs_upstream"), problems)
    ancillary = tuple(Ancillary(code=row["code"], count=int(row["count"]), name=row.get("name") or "")
                      for row in case.doc("survey").get("ancillary") or [])
    surveyed_persons = {row.get("id"): row for row in case.doc("survey").get("persons") or [] if isinstance(row, dict)}
    persons = tuple(CalcPerson(resettlement=resettled.get(p.id, False), special_group=p.special_group,
                               quota_groups=quota_groups(surveyed_persons.get(p.id) or {}))
                    for p in case.persons)
    signed_on = values.get("signed_on")
    if isinstance(signed_on, str):
        signed_on = datetime.fromisoformat(signed_on).date()
    swap_area = values.get("swap_area")
    return HouseholdInput(kind=case.household.kind, option=values["option"], buildings=tuple(buildings),
                          ancillary=ancillary, persons=persons, signed_on=signed_on,
                          transition_months=values.get("transition_months"),
                          swap_area=Decimal(str(swap_area)) if swap_area not in (None, "") else None,
                          ancillary_value=_amount(appraisal_doc.get("ancillary_value")), valuation_year=valuation_year,
                          **business_input(case.doc("survey"), appraisal_doc))


def quota_groups(person: dict[str, Any]) -> tuple[str, ...]:
    """The groups of extra resettlement quota the survey found a person in (the only child is a special group)."""
    return tuple(g for g in ("unmarried_adult", "reserved") if person.get(g))


def business_input(survey: dict[str, Any], appraisal: dict[str, Any]) -> dict[str, Any]:
    """The tenant, monthly loss, equipment value and land area of a business, from the survey and the appraisal
    (the appraisal's figure first; the survey's equipment list adds up when the appraisal has none)."""
    business = survey.get("business") if isinstance(survey.get("business"), dict) else {}
    equipment = _amount(appraisal.get("equipment_value"))
    if equipment is None:
        values = [_amount(row.get("value")) for row in business.get("equipment") or [] if isinstance(row, dict)]
        equipment = sum((v for v in values if v is not None), Decimal(0)) if any(v is not None for v in values) \
            else None
    return {"tenant": (business.get("tenant") or "").strip(),
            "monthly_loss": _amount(appraisal.get("monthly_loss")) if appraisal.get("monthly_loss") not in (None, "")
            else _amount(business.get("monthly_loss")),
            "equipment_value": equipment,
            "land_area": _amount(business.get("land_area")) if business.get("land_area") not in (None, "")
            else _amount(survey.get("homestead_area"))}


def _amount(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


def _policy(case: Case, version: str) -> Any:
    """A policy version by name (NotFound when unknown), read once per case."""
    if version not in case.policies:
        case.policies[version] = policies.get(version)
    return case.policies[version]


def calculation_result(case: Case, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stored calculation: the accountant's choices, the items by the policy table, the total."""
    version = values.get("policy_version") or None
    row = _policy(case, version) if version else version_for(case.household, now)
    rules = row.rules if row is not None else policies.current_rules(policies.local_today(now))
    result = calculate(rules, calculation_input(case, values, policies.local_today(now).year))
    with force_locale("zh"):  # the stored items are the agreement's lines: in Chinese, whoever computed them
        items = [item.as_json() for item in result.items]
    total = result.total
    for number, adjustment in enumerate(values.get("adjustments") or [], 1):
        amount = money(Decimal(str(adjustment["amount"])))
        items.append({"code": f"adjustment.{number}", "label": adjustment["label"], "basis": adjustment["reason"],
                      "amount": fmt2(amount)})
        total += amount
    payees = payee_totals(items)
    return {"policy_version": row.version if row is not None else None, "items": items, "total": fmt2(total),
            "payees": {k: fmt2(v) for k, v in payees.items()} if payees["tenant"] else None,
            "computed_at": now.replace(microsecond=0).isoformat() + "Z",
            "upstream": {m: case.version(m) for m in UPSTREAM["calculation"]}}


def bound_figures(case: Case, appraisal: dict[str, Any] | None = None,
                  rights: dict[str, Any] | None = None) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """Each building's name, appraised unit price and confirmed legal area (as stored, or as being entered)."""
    prices = {r.get("building_id"): r.get("unit_price") for r in (appraisal or case.doc("appraisal")).get(
        "buildings") or [] if isinstance(r, dict)}
    areas = {r.get("building_id"): r.get("legal_area") for r in (rights or case.doc("rights")).get(
        "buildings") or [] if isinstance(r, dict)}
    return [(b.label, _number(prices.get(b.id)), _number(areas.get(b.id))) for b in case.buildings]


def _number(value: Any) -> Decimal | None:
    try:
        return _amount(value)
    except ArithmeticError:
        return None


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
    "check.adjustments.fail": N_("%(n)s manual adjustments outside the policy table"),
    "check.catalogue.fail": N_("Not in the catalogue of policy %(v)s, paid nothing: %(items)s"),
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
                             fresh=_yuan(fresh["total"]), stored=_yuan(calc.get("total"))))
    except InvalidInput:
        checks.append(_check("recomputed", False, "impossible"))
    row = _policy(case, calc["policy_version"]) if calc.get("policy_version") else None
    total = Decimal(str(calc.get("total", "0")))
    checks += [Check(code, ok, message) for code, ok, message in
               bound_checks(row.rules if row else {}, bound_figures(case), total)]
    if row is not None:
        known = {i["code"] for i in catalogue_items(row.rules)}
        dropped = [r.get("name") or r.get("code") for r in case.doc("survey").get("ancillary") or []
                   if isinstance(r, dict) and r.get("code") not in known]
        if dropped and not ((row.rules.get("use_appraised") or {}).get("ancillary")
                            and case.doc("appraisal").get("ancillary_value") not in (None, "")):
            checks.append(_check("catalogue", False, v=row.version, items="、".join(map(str, dropped))))
    adjustments = [i for i in calc.get("items") or [] if str(i.get("code", "")).startswith("adjustment.")]
    if adjustments:
        checks.append(_check("adjustments", False, n=len(adjustments)))
    threshold = Decimal(str((row.rules if row else {}).get("tracking_audit_threshold") or "0"))
    if threshold and total >= threshold:
        checks.append(_check("tracking_audit", True, t=yuan(threshold)))
    return checks


def _yuan(value: Any) -> str:
    """A stored amount (text) in a check's sentence: 1,234.00 元; what is not a number as it is."""
    number = _number(value)
    return yuan(number) if number is not None else str(value or "—")


def check_audited_cap(case: Case, stored: dict[str, Any]) -> None:
    """Refuse payments whose running total would pass the tracking audit's audited amount (when one was made)."""
    audited = _number((case.doc("payment").get("tracking_audit") or {}).get("audited_amount"))
    if audited is None:
        return
    paid = Decimal(0)
    for index, row in enumerate(stored.get("payments") or []):
        amount = _number(row.get("amount")) if isinstance(row, dict) else None
        paid += amount or 0
        if paid > audited:
            raise InvalidInput(problem("payments_above_audit"), {f"payments.{index}.amount": [
                problem("payment_above_audited", paid=yuan(paid), audited=yuan(audited))]})
