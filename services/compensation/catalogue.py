"""The policy's catalogue of ancillary items and structures (构筑物): which items the survey offers, by name and
unit, and at what rate the calculation pays them. A version without a catalogue uses the default one."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Household, ModuleRecord, PolicyVersion, Project
from services.compensation import defaults
from services.compensation import policy as policy_table
from services.compensation.rules import catalogue_items
from services.errors import InvalidInput
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "ancillary_not_in_policy": N_("'%(code)s' is not an item of the policy in force"),
    "survey_items_unknown": N_("the survey lists items the policy does not know"),
})


def items(rules: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The catalogue of a rule table (the default one for a version without it)."""
    return catalogue_items(rules)


def by_code(rules: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The catalogue keyed by code."""
    return {i["code"]: i for i in items(rules)}


def _english() -> bool:
    return has_request_context() and str(get_locale() or "").startswith("en")


def name(item: Mapping[str, Any], english: bool | None = None) -> str:
    """An item's name in the reader's language (Chinese unless English is asked and given)."""
    english = _english() if english is None else english
    return str((item.get("name_en") if english else None) or item.get("name_zh") or item.get("name") or "")


def version_for(household: Household, now: datetime) -> PolicyVersion | None:
    """The policy version of the household's project (its own, if set), else the one in force today."""
    return version_for_project(household.project_id, now)


def version_for_project(project_id: int | None, now: datetime) -> PolicyVersion | None:
    """The policy version of a project (its own, if set), else the one in force today."""
    project = db.session.get(Project, project_id) if project_id else None
    if project is not None and project.policy_version_id:
        row = db.session.get(PolicyVersion, project.policy_version_id)
        if row is not None:
            return row
    return policy_table.current_version(policy_table.local_today(now))


def rules_for_project(project_id: int | None, now: datetime) -> dict[str, Any]:
    """The rule table in force for a project's households (the defaults while none is stored)."""
    row = version_for_project(project_id, now)
    return dict(row.rules) if row is not None else defaults.default_rules()


def rules_for(household: Household, now: datetime) -> dict[str, Any]:
    """The rule table in force for the household (the defaults while none is stored)."""
    return rules_for_project(household.project_id, now)


def _stored_survey(household: Household) -> dict[str, Any]:
    record = db.session.scalar(select(ModuleRecord).where(ModuleRecord.household_id == household.id,
                                                          ModuleRecord.module == "survey"))
    return dict(record.data) if record is not None and record.data else {}


def survey_items(household: Household, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A survey's items checked against the catalogue in force and stamped with its name and unit. An item
    the survey already held keeps its stored name and stays accepted after the policy dropped it."""
    return stamp_items(by_code(rules_for(household, now)), _stored_survey(household), doc)


def stamp_items(catalogue: Mapping[str, Mapping[str, Any]], stored: Mapping[str, Any],
                doc: dict[str, Any]) -> dict[str, Any]:
    """survey_items with the catalogue (by code) and the household's stored survey given ({} for a new one)."""
    before = {row.get("code"): row for row in stored.get("ancillary") or [] if isinstance(row, dict)}
    rows, problems = [], {}
    for index, row in enumerate(doc.get("ancillary") or []):
        code = row.get("code")
        item = catalogue.get(code)
        if item is not None:
            row = {**row, "name": item["name_zh"], "unit": item["unit"]}
        elif code in before:
            row = {**row, "name": before[code].get("name") or code, "unit": before[code].get("unit")}
        elif code not in (None, ""):
            problems[f"ancillary.{index}.code"] = [problem("ancillary_not_in_policy", code=code)]
        rows.append(row)
    if problems:
        raise InvalidInput(problem("survey_items_unknown"), problems)
    return {**doc, "ancillary": rows} if "ancillary" in doc else doc


def label(item: Mapping[str, Any]) -> str:
    """How the survey form offers an item: its name and unit."""
    return _("%(name)s (per %(unit)s)", name=name(item), unit=item.get("unit") or "")


def adjust_survey_schema(schema: dict[str, Any], household: Household, now: datetime) -> dict[str, Any]:
    """The survey form's item choice narrowed to the catalogue of the household's policy, with units; items of
    its stored survey that the policy no longer lists stay, marked."""
    code = (((schema.get("properties") or {}).get("ancillary") or {}).get("items") or {}).get(
        "properties", {}).get("code")
    if code is None:
        return schema
    catalogue = items(rules_for(household, now))
    labels = {i["code"]: label(i) for i in catalogue}
    units = {i["code"]: i["unit"] for i in catalogue}
    for row in _stored_survey(household).get("ancillary") or []:
        old = row.get("code") if isinstance(row, dict) else None
        if old and old not in labels:
            labels[old] = _("%(name)s (no longer in the policy)", name=row.get("name") or old)
            units[old] = row.get("unit") or ""
    code["enum"] = list(labels)
    code["x-labels"] = labels
    code["x-units"] = units
    return schema
