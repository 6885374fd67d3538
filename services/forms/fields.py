"""Field builders shared by the step forms, with the titles and choice labels pages show."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validate
from marshmallow import fields as f

from app.models.types import MAX_ID
from services.forms.values import BoundedDate, PlainDecimal
from services.problems import N_, problem
from services.problems import register as register_problems
from services.text import writable

register_problems({"phone": N_("not a valid phone number")})

STRUCTURES = ("brick_concrete", "frame", "brick_wood", "simple")
USES = ("residential", "business", "production")
LEGAL_STATUSES = ("legal", "unregistered_legal", "legacy", "illegal")
SPECIAL_GROUPS = ("dibao", "disabled", "serious_illness", "only_child")
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")
ANCILLARY_CODES = ("ac_window", "ac_wall", "ac_cabinet", "water_meter_main", "water_meter_sub", "power_meter_main",
                   "power_meter_sub", "water_heater")
PHONE = r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$"
MAX_MONEY = Decimal("9999999999")

CHOICE_LABELS: dict[str, Any] = {
    "brick_concrete": _l("Brick-concrete"), "frame": _l("Frame"), "brick_wood": _l("Brick-wood"),
    "simple": _l("Simple"),
    "residential": _l("Residential"), "business": _l("Business"), "production": _l("Production"),
    "legal": _l("Legal"), "unregistered_legal": _l("Unregistered but legal"), "legacy": _l("Historical legacy"),
    "illegal": _l("Illegal construction"),
    "cash": _l("Cash compensation"), "swap": _l("Property swap"),
    "approve": _l("Approve"), "meeting": _l("Refer to collective decision"),
    "dibao": _l("Minimum living allowance"), "disabled": _l("Disabled"), "serious_illness": _l("Serious illness"),
    "only_child": _l("Only child"),
    "head": _l("Head of household"), "spouse": _l("Spouse"), "child": _l("Child"), "parent": _l("Parent"),
    "grandchild": _l("Grandchild"), "sibling": _l("Sibling"), "other": _l("Other"),
    "male": _l("Male"), "female": _l("Female"),
    "owner": _l("Owner"), "tenant": _l("Tenant"),
    "collective": _l("Collective land"), "state": _l("State-owned land"),
    "ac_window": _l("Window air conditioner"), "ac_wall": _l("Wall air conditioner"),
    "ac_cabinet": _l("Cabinet air conditioner"), "water_meter_main": _l("Water meter (main)"),
    "water_meter_sub": _l("Water meter (sub)"), "power_meter_main": _l("Power meter (main)"),
    "power_meter_sub": _l("Power meter (sub)"), "water_heater": _l("Water heater"),
}


def two_places(value: Decimal) -> None:
    """Money and areas have at most two decimals."""
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError(problem("two_places"))


def money(title: Any, *, required: bool = True, minimum: str = "0", maximum: Decimal = MAX_MONEY,
          **metadata: Any) -> f.Decimal:
    """A money or area field: plain digits with at most two decimals (checked before rounding), within bounds."""
    return PlainDecimal(places=2, as_string=True, required=required, allow_none=not required, allow_nan=False,
                        validate=[validate.Range(min=Decimal(minimum), max=maximum), two_places],
                        metadata={"title": title, **metadata})


def day(title: Any, *, back: int = 5, ahead: int = 1, required: bool = True) -> f.Date:
    """A date of the case's business (a payment, a signing): within `back` years before today and `ahead` after."""
    extra: dict[str, Any] = {"required": True} if required else {"load_default": None, "allow_none": True}
    return BoundedDate(back=back, ahead=ahead, metadata={"title": title}, **extra)


def text(title: Any, *, required: bool = True, max_len: int = 200, widget: str | None = None,
         show_for: tuple[str, ...] = ()) -> f.String:
    """A text field; a required one may not be blank, none may hold what the office's documents cannot (with
    show_for, pages show it only to those kinds of household)."""
    metadata: dict[str, Any] = {"title": title}
    if widget:
        metadata["x-widget"] = widget
    if show_for:
        metadata["x-show-for"] = list(show_for)
    return f.String(required=required, allow_none=not required,
                    validate=[validate.Length(min=1 if required else 0, max=max_len), writable], metadata=metadata)


def choice(title: Any, options: tuple[str, ...], *, required: bool = True, default: str | None = None) -> f.String:
    """One of a fixed set of codes, labelled for the page."""
    extra: dict[str, Any] = {"load_default": default} if default is not None else {"required": required}
    if not required and default is None:
        extra["allow_none"] = True
    return f.String(validate=validate.OneOf(options),
                    metadata={"title": title, "x-labels": {o: CHOICE_LABELS.get(o, o) for o in options}}, **extra)


class WholeNumber(f.Integer):
    """A whole number, from a page's text or JSON; a number with a fraction is refused, never cut off."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def integer(title: Any, *, required: bool = True, minimum: int = 0, maximum: int = 10000) -> f.Integer:
    """A whole number within bounds."""
    return WholeNumber(required=required, allow_none=not required, validate=validate.Range(min=minimum, max=maximum),
                     metadata={"title": title})


def rows(nested: Any, title: Any, *, minimum: int = 0, maximum: int = 100, required: bool = True,
         **metadata: Any) -> f.List:
    """A list of records (persons, buildings …) edited as the rows of a table."""
    return f.List(f.Nested(nested), required=required, validate=validate.Length(min=minimum, max=maximum),
                  metadata={"title": title, "x-widget": "table", **metadata})


def file_ref(title: Any, category: str) -> f.Integer:
    """A file of this household (a picker of its files on pages; the server refuses any other household's)."""
    return WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_ID),
                       metadata={"title": title, "x-widget": f"file:{category}"})


def ref(title: Any) -> f.Integer:
    """The id of a row of another module (a building, a person)."""
    return WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_ID),
                     metadata={"title": title, "x-widget": "ref"})


def declaration_tick() -> f.Boolean:
    """The conflict-of-interest declaration (回避声明) of the steps that need one: ticked before completing."""
    return f.Boolean(load_default=False, metadata={"title": _l("I have no conflict of interest with this household")})


def declaration_note() -> f.String:
    """An optional note to the conflict-of-interest declaration."""
    return text(_l("Declaration note"), required=False, max_len=500)
