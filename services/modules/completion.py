"""Completing a step writes its module: the draft and the submitted data, validated in full, with the
checks a real office makes before it lets the case move on."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Agreement, AgreementCounter, Household, HumanTask, Project
from services.agreements.layout import CURRENT as CURRENT_LAYOUT
from services.context import Actor
from services.errors import InvalidInput
from services.forms.registry import StepForm
from services.modules import compute, dossier, payees
from services.modules.case import Case, load
from services.modules.service import _inputs, _load, _store, agreement_terms
from services.modules.store import write
from services.problems import N_, name_param, problem
from services.problems import register as register_problems


def _item_name(code: str, locale: str) -> str:
    """A dossier item by its name (English for the API's wording, else the reader's language)."""
    if locale.startswith("en"):
        with force_locale("en"):
            return dossier.label(code)
    return dossier.label(code)


def _money(amount: str, locale: str) -> str:
    """An amount as the API writes it (1234.50), or with thousands separators on pages (1,234.50); an amount
    already written out (1,234.50 元) as it is."""
    try:
        return amount if locale.startswith("en") else f"{Decimal(amount):,.2f}"
    except (ArithmeticError, ValueError, TypeError):
        return str(amount)


name_param("item", _item_name)
name_param("paid", _money)
name_param("agreed", _money)
register_problems({
    "checks_failed": N_("checks failed: approve only with a written reason"),
    "check_failed": N_("failed: %(check)s"),
    "signed_agreement_first": N_("upload the household's signed agreement first"),
    "payments_mismatch": N_("payments must add up to the agreement"),
    "paid_of_agreed": N_("paid %(paid)s of the agreed %(agreed)s"),
    "dossier_incomplete": N_("the dossier is not complete"),
    "dossier_missing": N_("missing: %(item)s"),
})

TEMPLATE_VERSION = CURRENT_LAYOUT  # new agreements are drawn with the current wording
register_problems({
    "checks_failed_override": N_("%(n)s red-line checks failed: approve only with a written reason."),
    "signed_scan_missing": N_("Print the draft agreement, have the household sign it, upload the signed scan "
                              "(category: signed agreement), then complete this step."),
})


def complete_module(actor: Actor, row: HumanTask, household: Household, form: StepForm, data: Any,
                    now: datetime) -> dict[str, Any]:
    """Validate and store what completing this step writes; return the stored values for the gateways."""
    case = load(household)
    if form.section:
        values = _load(form, data, partial=False)
        stored = {**form.dump(values), "by": actor.username, "by_name": actor.user.display_name,
                  "at": now.replace(microsecond=0).isoformat() + "Z"}
        section = form.section.format(role=row.role)
        write(actor, household, form.module, stored, now=now, section=section, task_id=row.id, records=case.records)
        return stored
    if not isinstance(data, dict):
        raise InvalidInput(problem("data_not_object"), {"data": [problem("not_object")]})
    draft = _inputs(form, case.doc(form.module))
    values = _load(form, {**draft, **data}, partial=False, case=case)
    stored = _store(actor, case, form, values, now, row, final=True)
    stored = _finish(actor, case, form, values, stored, now)
    write(actor, household, form.module, stored, now=now, task_id=row.id, records=case.records)
    return stored


def _finish(actor: Actor, case: Case, form: StepForm, values: dict[str, Any], stored: dict[str, Any],
            now: datetime) -> dict[str, Any]:
    module = form.module
    if module in ("appraisal", "rights"):
        stored["upstream"] = {"survey": case.version("survey")}
    elif module in ("calc_audit", "policy_review"):
        checks = compute.red_lines(case, now)
        stored["checks"] = [c.as_json() for c in checks]
        failed = [c.message for c in checks if not c.ok]
        if failed and not values.get("override_reason"):
            raise InvalidInput(problem("checks_failed"),
                               {"override_reason": [problem("checks_failed_override", n=len(failed)), *failed]})
    elif module == "agreement":
        stored.update(agreement_terms(case))
        stored["upstream"] = {"calculation": case.version("calculation")}
        stored.update(_number(case, stored, now))
        if not stored.get("signed_scan") and "signed_agreement" not in case.categories_with_files():
            raise InvalidInput(problem("signed_agreement_first"), {"signed_scan": [problem("signed_scan_missing")]})
    elif module == "payment":
        # each payee (the owner, and the tenant when the agreement gives them a part) paid their part in full
        stored["paid_total"] = f"{payees.check_settled(case, stored):.2f}"
    elif module == "archive":
        rows = dossier.checklist(case.household.kind, case.categories_with_files(), values.get("checklist"))
        stored["checklist"] = rows
        missing = [r["code"] for r in rows if r["required"] and not r["present"]]
        if missing:
            raise InvalidInput(problem("dossier_incomplete"),
                               {"checklist": [problem("dossier_missing", item=m) for m in missing]})
    return stored


def _number(case: Case, stored: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The agreement's number (given once per household, per project and year) and its revision."""
    household = case.household
    agreement = db.session.scalar(select(Agreement).where(Agreement.household_id == household.id))
    if agreement is None:
        counter = db.session.scalar(select(AgreementCounter).where(
            AgreementCounter.project_id == household.project_id, AgreementCounter.year == now.year)
            .with_for_update())
        if counter is None:
            counter = AgreementCounter(project_id=household.project_id, year=now.year, last=0)
            db.session.add(counter)
        counter.last += 1
        project = db.session.get(Project, household.project_id)
        agreement = Agreement(household_id=household.id, project_id=household.project_id,
                              number=f"{project.code}-{now.year}-{counter.last:04d}", revision=1, created_at=now)
        db.session.add(agreement)
    else:
        agreement.revision += 1
    agreement.template_version = TEMPLATE_VERSION
    agreement.policy_version = stored.get("policy_version")
    agreement.option = stored.get("option")
    agreement.total = Decimal(str(stored["total"])) if stored.get("total") is not None else None
    agreement.snapshot = {k: stored.get(k) for k in ("items", "total", "payees", "option", "move_deadline",
                                                     "household_signed_on", "head_name", "address")}
    agreement.updated_at = now
    db.session.flush()
    return {"number": agreement.number, "revision": agreement.revision, "template_version": TEMPLATE_VERSION}
