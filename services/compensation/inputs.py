"""The calculation's typed input, and its validation from JSON (the preview API and the calculation step)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, post_load, pre_load, validate, validates
from marshmallow import fields as f

from services.compensation.defaults import (
    KINDS,
    LEGAL_STATUSES,
    OPTIONS,
    QUOTA_GROUPS,
    SPECIAL_GROUPS,
    STRUCTURES,
    USES,
)
from services.errors import InvalidInput
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems

register_problems({
    "signing_date_implausible": N_("not a plausible signing date"),
})

MAX_BUILDINGS = 50
MAX_ANCILLARY = 100
MAX_PERSONS = 100
LIMITS = {"buildings": MAX_BUILDINGS, "ancillary": MAX_ANCILLARY, "persons": MAX_PERSONS}
MAX_AREA = Decimal("100000")
MAX_UNIT_PRICE = Decimal("1000000")


@dataclass(frozen=True)
class Building:
    """One building: what it is, how legal, its area (㎡) and appraised unit price (元/㎡)."""

    structure: str
    legal_status: str
    use: str
    area: Decimal
    unit_price: Decimal
    label: str = ""  # the survey's name of the building (主房); items are named by it when given
    year_built: int | None = None  # for the newness rate (成新率) of the replacement method
    decoration_value: Decimal | None = None  # the appraisal's decoration value, used when the policy says so
    run_as_business: bool = False  # a residential building the survey found run as a business (住改商)


@dataclass(frozen=True)
class Ancillary:
    """A count of one ancillary item (air conditioners, meters …) by its code."""

    code: str
    count: int
    name: str = ""  # the name the survey stored it under: an item the policy dropped is shown, unpriced, by it


@dataclass(frozen=True)
class Person:
    """A member of the household: resettlement person or not, special group if any."""

    resettlement: bool
    special_group: str | None = None
    quota_groups: tuple[str, ...] = ()  # extra resettlement quota: only_child, unmarried_adult, reserved


@dataclass(frozen=True)
class HouseholdInput:
    """Everything the calculation reads about one household."""

    kind: str
    option: str
    buildings: tuple[Building, ...] = ()
    ancillary: tuple[Ancillary, ...] = ()
    persons: tuple[Person, ...] = ()
    signed_on: date | None = None
    transition_months: int | None = None
    swap_area: Decimal | None = field(default=None)
    ancillary_value: Decimal | None = None  # the appraisal's value of all ancillary items and structures
    valuation_year: int | None = None  # the year the newness rate is counted to (default: the signing year)
    tenant: str = ""  # the business's tenant (承租户) as the survey records it; empty: the owner runs it
    monthly_loss: Decimal | None = None  # the recorded monthly loss (average monthly profit) of the business
    equipment_value: Decimal | None = None  # the appraised value of the equipment (or the survey list's sum)
    land_area: Decimal | None = None  # the land-use area (㎡) of an enterprise


def _two_places(value: Decimal) -> None:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError(problem("two_places"))


def _decimal(maximum: Decimal, *, required: bool = True) -> f.Decimal:
    return f.Decimal(required=required, allow_none=not required, allow_nan=False,
                     validate=[validate.Range(min=Decimal(0), max=maximum), _two_places])


class BuildingSchema(CodedSchema):
    structure = f.String(required=True, validate=validate.OneOf(STRUCTURES))
    legal_status = f.String(required=True, validate=validate.OneOf(LEGAL_STATUSES))
    use = f.String(required=True, validate=validate.OneOf(USES))
    area = _decimal(MAX_AREA)
    unit_price = _decimal(MAX_UNIT_PRICE)
    year_built = f.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1800, max=2100))
    decoration_value = _decimal(MAX_UNIT_PRICE * 1000, required=False)
    run_as_business = f.Boolean(load_default=False)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Building:
        return Building(**data)


class AncillarySchema(CodedSchema):
    code = f.String(required=True, validate=validate.Length(min=1, max=32))
    count = f.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10000))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Ancillary:
        return Ancillary(**data)


class PersonSchema(CodedSchema):
    resettlement = f.Boolean(required=True)
    special_group = f.String(load_default=None, allow_none=True, validate=validate.OneOf(SPECIAL_GROUPS))
    quota_groups = f.List(f.String(validate=validate.OneOf(QUOTA_GROUPS)), load_default=list,
                          validate=validate.Length(max=len(QUOTA_GROUPS)))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Person:
        return Person(**{**data, "quota_groups": tuple(data.get("quota_groups") or ())})


class HouseholdSchema(CodedSchema):
    kind = f.String(required=True, validate=validate.OneOf(KINDS))
    buildings = f.List(f.Nested(BuildingSchema), load_default=list,
                       validate=validate.Length(max=MAX_BUILDINGS))
    ancillary = f.List(f.Nested(AncillarySchema), load_default=list,
                       validate=validate.Length(max=MAX_ANCILLARY))
    persons = f.List(f.Nested(PersonSchema), load_default=list, validate=validate.Length(max=MAX_PERSONS))
    signed_on = f.Date(load_default=None, allow_none=True)
    transition_months = f.Integer(load_default=None, allow_none=True, strict=True,
                                  validate=validate.Range(min=0, max=120))
    swap_area = _decimal(MAX_AREA, required=False)
    ancillary_value = _decimal(MAX_UNIT_PRICE * 1000, required=False)
    valuation_year = f.Integer(load_default=None, allow_none=True, strict=True,
                               validate=validate.Range(min=2000, max=2100))
    tenant = f.String(load_default="", validate=validate.Length(max=128))
    monthly_loss = _decimal(MAX_UNIT_PRICE * 1000, required=False)
    equipment_value = _decimal(MAX_UNIT_PRICE * 1000, required=False)
    land_area = _decimal(MAX_AREA * 10, required=False)

    @pre_load
    def _bounded_lists(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            problems = {name: [problem("items_max", max=limit)] for name, limit in LIMITS.items()
                        if isinstance(data.get(name), list) and len(data[name]) > limit}
            if problems:
                raise ValidationError(problems)
        return data

    @validates("signed_on")
    def _sane_date(self, value: date | None, **kwargs: Any) -> None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValidationError(problem("signing_date_implausible"))


class PreviewSchema(CodedSchema):
    """The body of POST /calculations/preview."""

    option = f.String(required=True, validate=validate.OneOf(OPTIONS))
    policy_version = f.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))
    household = f.Nested(HouseholdSchema, required=True)


def field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as {"household.buildings.0.area": [problems]}."""
    if not isinstance(messages, dict):
        problems = messages if isinstance(messages, list) else [messages]
        return {prefix or "body": [p if isinstance(p, str) else str(p) for p in problems]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        out.update(field_errors(value, name))
    return out


def household_input(option: str, household: dict[str, Any]) -> HouseholdInput:
    """Loaded household values (as HouseholdSchema returns them) as the calculation's input."""
    return HouseholdInput(
        kind=household["kind"], option=option,
        buildings=tuple(household.get("buildings") or ()),
        ancillary=tuple(household.get("ancillary") or ()),
        persons=tuple(household.get("persons") or ()),
        signed_on=household.get("signed_on"),
        transition_months=household.get("transition_months"),
        swap_area=household.get("swap_area"),
        ancillary_value=household.get("ancillary_value"),
        valuation_year=household.get("valuation_year"),
        tenant=household.get("tenant") or "",
        monthly_loss=household.get("monthly_loss"),
        equipment_value=household.get("equipment_value"),
        land_area=household.get("land_area"),
    )


def parse_preview(data: Any) -> tuple[HouseholdInput, str | None]:
    """A preview request body as (input, requested policy version); InvalidInput names the bad fields."""
    if not isinstance(data, dict):
        raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
    try:
        values = PreviewSchema().load(data)
    except ValidationError as exc:
        raise InvalidInput(problem("request_has_errors"), field_errors(exc.messages)) from None
    return household_input(values["option"], values["household"]), values["policy_version"]
