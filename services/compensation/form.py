"""The admin form of a rule table: its fields pre-filled from a version, and a new version from what was sent."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from app.models import PolicyVersion
from services.compensation import labels
from services.compensation import policy as policy_table
from services.compensation.defaults import KINDS, LEGAL_STATUSES, OPTIONS, SPECIAL_GROUPS, STRUCTURES
from services.compensation.rules import CODE, MAX_TIERS, fmt_ratio, to_decimal
from services.context import Actor
from services.errors import InvalidInput
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "percentage": N_("a percentage between 0 and 100, at most 2 decimal places"),
    "item_code_chars": N_("lower-case letters, digits and _, starting with a letter"),
    "item_in_table": N_("this item is already in the table"),
})

BLANK_TIERS = 2
NEW_ANCILLARY = 2
Submitted = Mapping[str, list[str]]


@dataclass(frozen=True)
class Field:
    """One input of the form: its name (the rule's dotted path), label, kind and choices."""

    name: str
    label: Any
    kind: str  # money | percent | integer | date | text | select | checks
    choices: tuple[tuple[str, Any], ...] = ()
    unit: str = ""


@dataclass
class Section:
    """A titled group of fields."""

    title: Any
    fields: list[Field] = field(default_factory=list)


def _money(name: str, label: Any, unit: str = "元") -> Field:
    return Field(name, label, "money", unit=unit)


def _ordered(codes: Any, known: Mapping[str, Any]) -> list[str]:
    """The known codes in their usual order, then the others alphabetically (JSONB does not keep key order)."""
    codes = list(codes or ())
    return [c for c in known if c in codes] + sorted(c for c in codes if c not in known)


def sections(rules: Mapping[str, Any]) -> list[Section]:
    """The form's fields for a rule table (its tiers plus blank rows, its ancillary items plus new ones)."""
    kinds = tuple((k, labels.KIND[k]) for k in KINDS)
    bases = tuple(labels.TEMPORARY_HOUSING_BASIS.items())
    tiers = len(rules.get("signing_bonus") or [])
    ancillary = _ordered(rules.get("ancillary_rate"), labels.ANCILLARY)
    bounds = _ordered(rules.get("bounds"), labels.BOUNDS)
    return [
        Section(_l("Building value by legal status"),
                [Field(f"building_ratio.{s}", labels.LEGAL_STATUS[s], "percent", unit="%") for s in LEGAL_STATUSES]),
        Section(_l("Decoration by structure"),
                [_money(f"decoration_rate.{s}", labels.STRUCTURE[s], "元/㎡") for s in STRUCTURES]),
        Section(_l("Ancillary items"),
                [_money(f"ancillary_rate.{c}", labels.ancillary(c), "元") for c in ancillary]
                + [f for i in range(NEW_ANCILLARY) for f in (
                    Field(f"ancillary_new.{i}.code", _l("New item %(n)s: code", n=i + 1), "text"),
                    _money(f"ancillary_new.{i}.amount", _l("New item %(n)s: amount", n=i + 1)))]),
        Section(_l("Moving allowance"),
                [_money(f"moving_allowance.{o}", labels.OPTION[o], "元/户") for o in OPTIONS]),
        Section(_l("Temporary housing allowance"), [
            _money("temporary_housing.area_rate", _l("State land, per ㎡ and month"), "元/㎡/月"),
            _money("temporary_housing.person_rate", _l("Collective land, per person and month"), "元/人/月"),
            *[Field(f"temporary_housing.months.{o}", _l("Default months: %(option)s", option=labels.OPTION[o]),
                    "integer", unit="月") for o in OPTIONS],
            *[Field(f"temporary_housing.basis.{k}", label, "select", bases) for k, label in kinds]]),
        Section(_l("Business interruption and hardship"), [
            Field("business_interruption.rate", _l("Business interruption rate"), "percent", unit="%"),
            Field("business_interruption.uses", _l("Uses that count as business"), "checks",
                  tuple(labels.USE.items())),
            _money("hardship.amount", _l("Hardship subsidy per household")),
            Field("hardship.groups", _l("Special groups that qualify"), "checks",
                  tuple((g, labels.SPECIAL_GROUP[g]) for g in SPECIAL_GROUPS))]),
        Section(_l("Time-limited signing bonus"), [f for i in range(min(tiers + BLANK_TIERS, MAX_TIERS)) for f in (
            Field(f"signing_bonus.{i}.until", _l("Tier %(n)s: signed on or before", n=i + 1), "date"),
            _money(f"signing_bonus.{i}.amount", _l("Tier %(n)s: bonus", n=i + 1)))]),
        Section(_l("Property swap"), [
            _money("swap.quota_per_person", _l("Quota area per resettlement person"), "㎡"),
            _money("swap.price_within_quota", _l("Price within the quota"), "元/㎡"),
            _money("swap.price_beyond_quota", _l("Price beyond the quota"), "元/㎡")]),
        Section(_l("Thresholds and red lines"), [
            _money("tracking_audit_threshold", _l("Tracking audit from")),
            *[_money(f"bounds.{b}", labels.BOUNDS.get(b, b), "") for b in bounds]]),
    ]


def _get(rules: Any, path: str) -> Any:
    node = rules
    for part in path.split("."):
        if isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def initial_values(rules: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for a rule table (ratios shown as percentages)."""
    values: dict[str, Any] = {}
    for section in sections(rules):
        for f in section.fields:
            value = _get(rules, f.name)
            if f.kind == "percent" and value is not None:
                value = f"{(Decimal(str(value)) * 100).normalize():f}"
            values[f.name] = value if value is not None else ([] if f.kind == "checks" else "")
    return values


def submitted_values(rules: Mapping[str, Any], form: Submitted) -> dict[str, Any]:
    """What was sent, shaped like initial_values (to show the form again with its errors)."""
    values = {}
    for section in sections(rules):
        for f in section.fields:
            sent = form.get(f.name) or []
            values[f.name] = list(sent) if f.kind == "checks" else (sent[0] if sent else "")
    return values


def _one(form: Submitted, name: str) -> str:
    values = form.get(name) or [""]
    return (values[0] or "").strip()


class _Builder:
    """Turns the sent form into a rule table, remembering which input each rule came from."""

    def __init__(self, base: Mapping[str, Any], form: Submitted) -> None:
        self.base = base
        self.form = form
        self.rules: dict[str, Any] = copy.deepcopy(dict(base))
        self.errors: dict[str, list[str]] = {}
        self.origin: dict[str, str] = {}  # rule path → form field

    def build(self) -> dict[str, Any]:
        tier_fields: list[tuple[int, Field]] = []
        for section in sections(self.base):
            for f in section.fields:
                if f.name.startswith("signing_bonus."):
                    tier_fields.append((int(f.name.split(".")[1]), f))
                elif f.name.startswith("ancillary_new."):
                    continue
                else:
                    self._set(f.name, self._read(f))
        self._tiers(sorted({i for i, _ in tier_fields}))
        self._new_ancillary()
        return self.rules

    def _read(self, f: Field) -> Any:
        if f.kind == "checks":
            return [v for v in self.form.get(f.name) or [] if isinstance(v, str)]
        raw = _one(self.form, f.name)
        if f.kind != "percent":
            return raw
        value = to_decimal(raw)
        if value is None or not 0 <= value <= 100 or value.as_tuple().exponent < -2:  # type: ignore[operator]
            self.errors[f.name] = [problem("percentage")]
            return _get(self.base, f.name)
        return fmt_ratio(value / 100)

    def _set(self, path: str, value: Any) -> None:
        *parents, leaf = path.split(".")
        node = self.rules
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    def _tiers(self, indexes: list[int]) -> None:
        tiers = []
        for i in indexes:
            until, amount = _one(self.form, f"signing_bonus.{i}.until"), _one(self.form, f"signing_bonus.{i}.amount")
            if not until and not amount:
                continue
            for part in ("until", "amount"):
                self.origin[f"signing_bonus.{len(tiers)}.{part}"] = f"signing_bonus.{i}.{part}"
            tiers.append({"until": until, "amount": amount})
        self.rules["signing_bonus"] = tiers

    def _new_ancillary(self) -> None:
        for i in range(NEW_ANCILLARY):
            code, amount = _one(self.form, f"ancillary_new.{i}.code"), _one(self.form, f"ancillary_new.{i}.amount")
            if not code and not amount:
                continue
            if not CODE.match(code):
                self.errors[f"ancillary_new.{i}.code"] = [problem("item_code_chars")]
            elif code in self.rules["ancillary_rate"]:
                self.errors[f"ancillary_new.{i}.code"] = [problem("item_in_table")]
            else:
                self.rules["ancillary_rate"][code] = amount
                self.origin[f"ancillary_rate.{code}"] = f"ancillary_new.{i}.amount"


def _header(form: Submitted, errors: dict[str, list[str]]) -> dict[str, Any]:
    values: dict[str, Any] = {"version": _one(form, "version"), "name": _one(form, "name"),
                              "comment": _one(form, "comment") or None}
    try:
        values["effective_from"] = date.fromisoformat(_one(form, "effective_from"))
    except ValueError:
        values["effective_from"] = None
        errors["effective_from"] = [problem("date")]
    return values


def submit(actor: Actor, base_version: str, form: Submitted, now: datetime) -> PolicyVersion:
    """Save the sent form as a new version based on base_version; InvalidInput names the form's fields."""
    base = policy_table.get(base_version)
    builder = _Builder(base.rules, form)
    values: dict[str, Any] = {"rules": builder.build()}
    errors = dict(builder.errors)
    values.update(_header(form, errors))
    _rules, problems = policy_table.check_version(values)
    for path, messages in problems.items():
        name = builder.origin.get(path, path)
        if name not in errors:
            errors[name] = list(messages)
    if errors:
        raise InvalidInput(problem("has_errors"), errors)
    return policy_table.create_version(actor, values, now, based_on=base.version)


def next_version_defaults(base_name: str, today: date) -> dict[str, Any]:
    """The header a new version starts with: the next free name, effective today."""
    return {"version": policy_table.suggest_version(today), "name": base_name,
            "effective_from": today.isoformat(), "comment": ""}

