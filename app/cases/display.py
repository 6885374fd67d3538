"""Showing a module's stored data as the office's file: the forms' Chinese labels, names instead of ids,
money in yuan with separators, local times, and none of the internal bookkeeping fields."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import labels
from services.compensation import labels as item_labels
from services.compensation.calculator import payee_totals
from services.forms import FORMS, json_schema
from services.modules import dossier
from services.roles import role_label

# fields a module stores beside what its form carries (computed, or written by the engine), with their labels
_EXTRA = {"by_name": _l("Signed by"), "at": _l("Signed at"), "number": _l("Agreement number"),
          "total": _l("Total"), "paid_total": _l("Paid in total"),
          "policy_version": _l("Policy version"), "computed_at": _l("Calculated at"),
          "head_name": _l("Head of household"), "address": _l("Address"),
          "option": _l("Compensation option"), "decision": _l("Decision"), "opinion": _l("Opinion")}
# bookkeeping that is no part of the office's file (one version number per module: the record's own; the owner's
# and tenant's totals are rows of the items table)
_SKIPPED = ("by", "by_username", "upstream", "revision", "template_version", "id", "payees")
_TIMES = ("at", "computed_at")
_REFS = {"building_id": "buildings", "person_id": "persons"}


@dataclass(frozen=True)
class Table:
    """A list of records of a module (persons, buildings, line items …) shown as a table."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)  # columns aligned right (amounts)


@dataclass(frozen=True)
class Names:
    """What the ids in a household's modules stand for: its buildings and persons by id and by position."""

    buildings: dict[int, str] = field(default_factory=dict)
    persons: dict[int, str] = field(default_factory=dict)
    building_order: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, survey: dict[str, Any] | None) -> Names:
        survey = survey or {}
        buildings = [b for b in survey.get("buildings") or [] if isinstance(b, dict)]
        persons = [p for p in survey.get("persons") or [] if isinstance(p, dict)]
        return cls({b.get("id"): str(b.get("label") or "") for b in buildings},
                   {p.get("id"): str(p.get("name") or "") for p in persons}, buildings)

    def ref(self, key: str, value: Any) -> str | None:
        table = self.buildings if _REFS.get(key) == "buildings" else self.persons if key in _REFS else None
        return table.get(value) if table is not None else None


def _labels(module: str) -> dict[str, dict[str, Any]]:
    return _labels_in(module, str(get_locale() or ""))


@lru_cache(maxsize=64)
def _labels_in(module: str, locale: str) -> dict[str, dict[str, Any]]:
    """The properties of a module's forms with their titles in a language (built once per language)."""
    props: dict[str, dict[str, Any]] = {}
    for form in FORMS.values():
        if form.module == module:
            props.update(json_schema(form).get("properties", {}))
    return props


def _hidden(prop: dict[str, Any] | None) -> bool:
    return bool(prop) and prop.get("x-widget") == "hidden"


def local_time(value: Any) -> str:
    """A stored UTC time (ISO text or datetime) in the office's time zone, to the minute."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(moment, datetime):
        return "" if value is None else str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def yuan(value: Any) -> str:
    """An amount as the office writes it: 1,176,540.02 元."""
    try:
        return _("%(amount)s yuan", amount=f"{Decimal(str(value)):,.2f}")
    except (InvalidOperation, ValueError):
        return str(value)


def _is_money(key: str, prop: dict[str, Any] | None) -> bool:
    if key in ("total", "paid_total", "amount"):
        return True
    return _is_decimal(prop) and not key.endswith("area")


def _is_decimal(prop: dict[str, Any] | None) -> bool:
    """Money and areas: decimals (at the top of a form) or numbers (inside its table rows)."""
    return bool(prop) and (prop.get("format") == "decimal" or prop.get("type") == "number")


def _value(key: str, prop: dict[str, Any] | None, value: Any, names: Names) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        item = prop.get("items") if prop else None
        return "、".join(_value(key, item, v, names) for v in value) or "—"
    if key in _REFS:
        return names.ref(key, value) or "—"
    if key in _TIMES:
        return local_time(value)
    if key == "attachment_id":
        return _("Attached")
    if prop and "x-labels" in prop:
        return str(prop["x-labels"].get(value, value))
    if prop and str(prop.get("x-widget") or "").startswith("file:"):
        from app.cases.files import file_label

        return file_label(value)
    if _is_money(key, prop):
        return yuan(value)
    if _is_decimal(prop):
        try:
            return f"{Decimal(str(value)):,.2f}"
        except (InvalidOperation, ValueError):
            return str(value)
    return str(value)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _title(prop: dict[str, Any] | None, key: str) -> str:
    if key == "policy_version":  # the form's title carries an instruction to the accountant
        return str(_EXTRA[key])
    if prop and prop.get("title"):
        return str(prop["title"])
    return str(_EXTRA.get(key, key))


def _signature(role: str, signature: dict[str, Any], locale: str) -> tuple[str, str]:
    who = signature.get("by_name") or signature.get("by") or ""
    when = local_time(signature.get("at")) if signature.get("at") else ""
    opinion = signature.get("opinion") or ""
    return (_("Signature: %(role)s", role=role_label(role, locale)), " · ".join(p for p in (who, when, opinion) if p))


def _rows(data: dict[str, Any], props: dict[str, dict[str, Any]], locale: str, names: Names) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in (data or {}).items():
        prop = props.get(key)
        if key in _SKIPPED or _hidden(prop) or _is_records(value) or key in ("items", "checks"):
            continue
        if value is None and prop and prop.get("x-show-for"):  # a part for other kinds of household
            continue
        if key == "signatures" and isinstance(value, dict):
            rows.extend(_signature(role, s, locale) for role, s in value.items() if isinstance(s, dict))
        elif isinstance(value, dict):
            inner_props = {**props, **(prop or {}).get("properties", {})}
            inner = _rows(value, inner_props, locale, names)
            title = _("Tracking audit") if key == "tracking_audit" else _title(prop, key)
            rows.extend((f"{title} · {label}", shown) for label, shown in inner)
        elif prop is None and key == "option":
            rows.append((_title(None, key), _value(key, _labels("calculation").get("option"), value, names)))
        elif prop is None and key == "decision":
            rows.append((_title(None, key), _value(key, _labels("calc_audit").get("decision"), value, names)))
        else:
            rows.append((_title(prop, key), _value(key, prop, value, names)))
    return rows


def module_rows(module: str, data: dict[str, Any], locale: str, names: Names | None = None) -> list[tuple[str, str]]:
    """(label, shown value) pairs of a module's data; signatures and nested parts flattened, record lists left out."""
    return _rows(data, _labels(module), locale, names or Names())


def _item_label(item: dict[str, Any], names: Names) -> str:
    """A line item's label; a building's items named by the building (主房), as the survey calls it."""
    code = str(item.get("code") or "")
    kind, _dot, position = code.partition(".")
    if kind in ("building_value", "decoration") and position.isdigit():
        order = names.building_order
        index = int(position) - 1
        if 0 <= index < len(order) and order[index].get("label"):
            building = order[index]
            if kind == "building_value":
                return str(item_labels.named_building_value(building["label"], building.get("legal_status", "")))
            return str(item_labels.named_decoration(building["label"], building.get("structure", "")))
    return str(item.get("label") or code)


def _items_table(items: list[Any], total: Any, names: Names) -> Table:
    rows = [[_item_label(i, names), str(i.get("basis") or ""), yuan(i.get("amount"))]
            for i in items if isinstance(i, dict)]
    if total is not None:
        rows.append([_("Total"), "", yuan(total)])
        payees = payee_totals([i for i in items if isinstance(i, dict)])
        if payees["tenant"]:  # a business with a tenant: what each of them is paid (they add up to the total)
            rows += [[_("Owner's total"), "", yuan(payees["owner"])], [_("Tenant's total"), "", yuan(payees["tenant"])]]
    return Table(_("Compensation items"), [_("Item"), _("Basis of calculation"), _("Amount")], rows,
                 [False, False, True])


def _checks_table(checks: list[Any]) -> Table:
    rows = [[_("Passed") if c.get("ok") else _("Not passed"), labels.check_text(c)]
            for c in checks if isinstance(c, dict)]
    return Table(_("Red-line checks"), [_("Result"), _("Finding")], rows, [False, False])


def _tables(data: dict[str, Any], props: dict[str, dict[str, Any]], names: Names, prefix: str = "") -> list[Table]:
    tables: list[Table] = []
    for key, value in (data or {}).items():
        prop = props.get(key) or {}
        if key == "items" and isinstance(value, list) and value:
            tables.append(_items_table(value, data.get("total"), names))
        elif key == "checks" and isinstance(value, list) and value:
            tables.append(_checks_table(value))
        elif _is_records(value):
            item_props = (prop.get("items") or {}).get("properties", {})
            keys = [k for k in item_props if not _hidden(item_props[k])]
            for record in value:  # columns the form does not know, in the order they first appear
                keys.extend(k for k in record if k not in keys and k not in item_props and k not in _SKIPPED)
            columns = [_title(item_props.get(k), k) for k in keys]
            rows = [[_ref_or_value(k, item_props.get(k), record.get(k), names) for k in keys] for record in value]
            tables.append(Table(prefix + _title(prop or None, key), columns, rows,
                                [_is_money(k, item_props.get(k)) for k in keys]))
        elif isinstance(value, dict) and key != "signatures":
            tables.extend(_tables(value, prop.get("properties", {}), names, prefix + _title(prop or None, key) + " · "))
    return tables


def _ref_or_value(key: str, prop: dict[str, Any] | None, value: Any, names: Names) -> str:
    if key == "payee" and value in (None, ""):  # a payment recorded before payees were: the owner's
        value = "owner"
    if key == "code" and prop and prop.get("x-widget") == "ref":
        return next((str(label) for code, label, *_rest in dossier.DOSSIER if code == value), str(value))
    return _value(key, prop, value, names)


def module_tables(module: str, data: dict[str, Any], names: Names | None = None) -> list[Table]:
    """The lists of records in a module's data (persons, buildings, line items, checks …), one table each."""
    return _tables(data, _labels(module), names or Names())


def case_names(case: Any) -> Names:
    """The names of a case's buildings and persons, from its survey."""
    record = case.records.get("survey")
    return Names.of(record.data if record is not None and isinstance(record.data, dict) else None)
