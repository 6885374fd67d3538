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
from services.compensation.defaults import (
    DEFAULT_RULES,
    HARDSHIP_GROUPS,
    KINDS,
    LEGAL_STATUSES,
    OPTIONS,
    QUOTA_GROUPS,
    SPECIAL_GROUPS,
    STRUCTURES,
    TENANT_ITEMS,
    UNITS,
)
from services.compensation.rules import CODE, MAX_TIERS, catalogue_items, fmt_ratio, to_decimal
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
    """A titled group of fields; a table's fields come in rows of the same columns."""

    title: Any
    fields: list[Field] = field(default_factory=list)
    columns: int = 0  # fields per row when the section is a table (the catalogue)

    @property
    def rows(self) -> list[list[Field]]:
        return [self.fields[i:i + self.columns] for i in range(0, len(self.fields), self.columns)] \
            if self.columns else []


OPTIONAL = ("building_value_method", "replacement", "use_appraised", "minimum_compensation", "small_home",
            "residential_business", "equipment", "enterprise_moving", "land_use", "tenant_share", "extra_quota",
            "transition")
INTERRUPTION = (("rate", _l("Share of the value of the buildings")), ("months", _l("Months × the monthly loss")))
HARDSHIP_PER = (("household", _l("Once per household")), ("person", _l("Per person of the group")))
TENANT_LABELS = {"business_interruption": labels.BUSINESS_INTERRUPTION, "equipment": labels.EQUIPMENT,
                 "decoration": _l("Decoration")}
GROUPS = (("ancillary", _l("Ancillary item")), ("structure", _l("Structure (构筑物)")))
METHODS = (("appraised", _l("Appraised unit price × legal area")),
           ("replacement", _l("Replacement price × newness rate + location value")))
APPRAISED = (("decoration", _l("Decoration: the appraised value")),
             ("ancillary", _l("Ancillary items and structures: the appraised value")))
CATALOGUE_COLUMNS = 6


def filled(rules: Mapping[str, Any]) -> dict[str, Any]:
    """A rule table with the sections an older version lacks taken from the defaults, its catalogue spelt out."""
    out = copy.deepcopy(dict(rules))
    for key in OPTIONAL:
        out.setdefault(key, copy.deepcopy(DEFAULT_RULES[key]))
    old = out.get("business_interruption") or {}
    out.setdefault("interruption", {"method": "rate", "months": 6, "rate": old.get("rate"),
                                    "uses": list(old.get("uses") or [])})
    hardship = out["hardship"] = dict(out.get("hardship") or {})
    hardship.setdefault("per", "household")
    hardship.setdefault("amounts", {g: hardship.get("amount") for g in HARDSHIP_GROUPS})
    out["catalogue"] = catalogue_items(out)
    return out


def _catalogue_row(i: int, item: Mapping[str, Any] | None) -> list[Field]:
    units = tuple((u, u) for u in UNITS)
    title = item.get("name_zh") if item else _l("New item %(n)s", n=i + 1)
    prefix = f"catalogue.{i}" if item else f"ancillary_new.{i}"
    return [Field(f"{prefix}.code", _l("%(item)s: code", item=title), "hidden" if item else "text"),
            Field(f"{prefix}.name_zh", _l("%(item)s: Chinese name", item=title), "text"),
            Field(f"{prefix}.name_en", _l("%(item)s: English name", item=title), "text"),
            Field(f"{prefix}.unit", _l("%(item)s: unit", item=title), "select", units),
            _money(f"{prefix}.rate" if item else f"{prefix}.amount", _l("%(item)s: rate", item=title), "元"),
            Field(f"{prefix}.group", _l("%(item)s: kind", item=title), "select", GROUPS)] + \
        ([Field(f"{prefix}.remove", _l("%(item)s: remove", item=title), "checks", (("1", _l("Remove")),))]
         if item else [])


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
    catalogue = catalogue_items(rules)
    bounds = _ordered(rules.get("bounds"), labels.BOUNDS)
    structures = tuple((s, labels.STRUCTURE[s]) for s in STRUCTURES)
    return [
        Section(_l("Building value by legal status"),
                [Field(f"building_ratio.{s}", labels.LEGAL_STATUS[s], "percent", unit="%") for s in LEGAL_STATUSES]),
        Section(_l("Decoration by structure"),
                [_money(f"decoration_rate.{s}", labels.STRUCTURE[s], "元/㎡") for s in STRUCTURES]),
        Section(_l("Building valuation"), [
            Field("building_value_method", _l("How a building's value is found"), "select", METHODS),
            *[_money(f"replacement.price.{s}", _l("Replacement price: %(structure)s", structure=label), "元/㎡")
              for s, label in structures],
            *[Field(f"replacement.useful_life.{s}", _l("Useful life: %(structure)s", structure=label), "integer",
                    unit="年") for s, label in structures],
            Field("replacement.floor_rate", _l("Lowest newness rate"), "percent", unit="%"),
            _money("replacement.location_price", _l("Location value (区位价)"), "元/㎡"),
            Field("use_appraised", _l("Use the appraisal's values for"), "checks", APPRAISED),
            _money("minimum_compensation.amount", _l("Minimum building compensation per household (保底)"), "元"),
            _money("small_home.min_area", _l("Small homes: area topped up to"), "㎡"),
            _money("small_home.price", _l("Small homes: price of the top-up"), "元/㎡"),
            _money("residential_business.per_area", _l("Residential run as a business: extra per ㎡"), "元/㎡"),
            Field("residential_business.rate", _l("Residential run as a business: extra share of its value"),
                  "percent", unit="%")]),
        Section(_l("Ancillary items and structures"),
                [f for i, item in enumerate(catalogue) for f in _catalogue_row(i, item)], CATALOGUE_COLUMNS + 1),
        Section(_l("New ancillary items"),
                [f for i in range(NEW_ANCILLARY) for f in _catalogue_row(i, None)], CATALOGUE_COLUMNS),
        Section(_l("Moving allowance"),
                [_money(f"moving_allowance.{o}", labels.OPTION[o], "元/户") for o in OPTIONS]),
        Section(_l("Temporary housing allowance"), [
            _money("temporary_housing.area_rate", _l("State land, per ㎡ and month"), "元/㎡/月"),
            _money("temporary_housing.person_rate", _l("Collective land, per person and month"), "元/人/月"),
            *[Field(f"temporary_housing.months.{o}", _l("Default months: %(option)s", option=labels.OPTION[o]),
                    "integer", unit="月") for o in OPTIONS],
            *[Field(f"temporary_housing.basis.{k}", label, "select", bases) for k, label in kinds]]),
        Section(_l("Businesses and tenants"), [
            Field("interruption.method", _l("Business interruption loss by"), "select", INTERRUPTION),
            Field("interruption.rate", _l("Business interruption rate"), "percent", unit="%"),
            Field("interruption.months", _l("Months of business interruption"), "integer", unit="月"),
            Field("interruption.uses", _l("Uses that count as business"), "checks", tuple(labels.USE.items())),
            Field("equipment.share", _l("Equipment moving: share of the appraised equipment value"), "percent",
                  unit="%"),
            _money("enterprise_moving.per_area", _l("Moving allowance by area, per ㎡"), "元/㎡"),
            _money("enterprise_moving.minimum", _l("Moving allowance by area, at least"), "元"),
            Field("enterprise_moving.kinds", _l("Moving allowance by area for"), "checks", kinds),
            _money("land_use.per_area", _l("Land-use right, per ㎡ of land"), "元/㎡"),
            Field("land_use.kinds", _l("Land-use right for"), "checks", kinds),
            *[Field(f"tenant_share.{i}", _l("Tenant's share: %(item)s", item=TENANT_LABELS[i]), "percent", unit="%")
              for i in TENANT_ITEMS]]),
        Section(_l("Hardship, extra quota and transition"), [
            Field("hardship.per", _l("Hardship subsidy paid"), "select", HARDSHIP_PER),
            _money("hardship.amount", _l("Hardship subsidy per household")),
            *[_money(f"hardship.amounts.{g}", _l("Hardship subsidy per person: %(group)s",
                                                   group=labels.SPECIAL_GROUP[g])) for g in HARDSHIP_GROUPS],
            Field("hardship.groups", _l("Special groups that qualify"), "checks",
                  tuple((g, labels.SPECIAL_GROUP[g]) for g in SPECIAL_GROUPS)),
            *[_money(f"extra_quota.{g}", _l("Extra quota per person: %(group)s", group=labels.QUOTA_GROUP[g]), "㎡")
              for g in QUOTA_GROUPS],
            _money("extra_quota.cash_price", _l("Extra quota taken in cash, per ㎡"), "元/㎡"),
            Field("transition.promised_months", _l("Promised delivery after (months, 0: no promise)"), "integer",
                  unit="月"),
            _money("transition.overdue_factor", _l("Transition allowance after the promised delivery: times"), "×")]),
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
    rules = filled(rules)
    for section in sections(rules):
        for f in section.fields:
            value = _get(rules, f.name)
            if f.name == "use_appraised":
                value = [k for k, on in (value or {}).items() if on]
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
        self.rules: dict[str, Any] = filled(base)
        self.errors: dict[str, list[str]] = {}
        self.origin: dict[str, str] = {}  # rule path → form field

    def build(self) -> dict[str, Any]:
        tier_fields: list[tuple[int, Field]] = []
        for section in sections(self.base):
            for f in section.fields:
                if f.name.startswith("signing_bonus."):
                    tier_fields.append((int(f.name.split(".")[1]), f))
                elif f.name.startswith(("ancillary_new.", "catalogue.")):
                    continue
                elif f.name == "use_appraised":
                    sent = set(self._read(f))
                    self.rules["use_appraised"] = {k: k in sent for k, _label in APPRAISED}
                else:
                    self._set(f.name, self._read(f))
        self._tiers(sorted({i for i, _ in tier_fields}))
        self._catalogue()
        self._new_ancillary()
        self.rules.pop("ancillary_rate", None)  # the catalogue's rates make it anew
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

    def _catalogue(self) -> None:
        items = []
        for i, item in enumerate(catalogue_items(self.base)):
            if _one(self.form, f"catalogue.{i}.remove"):
                continue
            row = {"code": item["code"]}
            for part in ("name_zh", "name_en", "unit", "rate", "group"):
                row[part] = _one(self.form, f"catalogue.{i}.{part}")
                self.origin[f"catalogue.{len(items)}.{part}"] = f"catalogue.{i}.{part}"
            items.append(row)
        self.rules["catalogue"] = items

    def _new_ancillary(self) -> None:
        codes = {i["code"] for i in self.rules["catalogue"]}
        for i in range(NEW_ANCILLARY):
            code, amount = _one(self.form, f"ancillary_new.{i}.code"), _one(self.form, f"ancillary_new.{i}.amount")
            if not code and not amount:
                continue
            if not CODE.match(code):
                self.errors[f"ancillary_new.{i}.code"] = [problem("item_code_chars")]
            elif code in codes:
                self.errors[f"ancillary_new.{i}.code"] = [problem("item_in_table")]
            else:
                index = len(self.rules["catalogue"])
                self.rules["catalogue"].append({
                    "code": code, "name_zh": _one(self.form, f"ancillary_new.{i}.name_zh") or code,
                    "name_en": _one(self.form, f"ancillary_new.{i}.name_en"),
                    "unit": _one(self.form, f"ancillary_new.{i}.unit") or "个", "rate": amount,
                    "group": _one(self.form, f"ancillary_new.{i}.group") or "ancillary"})
                codes.add(code)
                for part in ("name_zh", "name_en", "unit", "group"):
                    self.origin[f"catalogue.{index}.{part}"] = f"ancillary_new.{i}.{part}"
                self.origin[f"catalogue.{index}.rate"] = f"ancillary_new.{i}.amount"


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

