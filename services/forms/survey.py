"""调查建档: the household survey — people, land and buildings, ancillary items, business details."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, pre_load, validate, validates, validates_schema
from marshmallow import fields as f

from services import idnumbers
from services.forms.fields import (
    ANCILLARY_CODES,
    CHOICE_LABELS,
    LEGAL_STATUSES,
    PHONE,
    RELATIONS,
    SPECIAL_GROUPS,
    STRUCTURES,
    USES,
    WholeNumber,
    choice,
    integer,
    money,
    rows,
    text,
)
from services.forms.values import not_after_this_year
from services.problems import N_, CodedSchema, Template, problem
from services.problems import register as register_problems

register_problems({
    "one_head": N_("exactly one member is the head of household"),
    "id_twice": N_("an ID number appears twice"),
    "ancillary_once": N_("list each ancillary item once, with its count"),
    "building_names": N_("give each building its own name"),
})


class PersonRow(CodedSchema):
    id = f.Integer(load_default=None, allow_none=True, metadata={"x-widget": "hidden"})
    name = text(_l("Full name"), max_len=64)
    id_number = f.String(required=True, metadata={"title": _l("ID number"), "x-widget": "id_number"})
    relation = choice(_l("Relation to the head"), RELATIONS)
    hukou_here = f.Boolean(load_default=True, metadata={"title": _l("Hukou here")})
    special_group = choice(_l("Special group"), SPECIAL_GROUPS, required=False)
    unmarried_adult = f.Boolean(load_default=False, metadata={"title": _l("Unmarried adult child")})
    reserved = f.Boolean(load_default=False, metadata={"title": _l("Reserved population")})

    @pre_load
    def _normalise(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id_number"), str):
            data = {**data, "id_number": idnumbers.normalise(data["id_number"])}
        return data

    @validates("id_number")
    def _valid_id(self, value: str, **kwargs: Any) -> None:
        problem = idnumbers.problem(value)
        if problem:
            raise ValidationError(problem)


class BuildingRow(CodedSchema):
    id = f.Integer(load_default=None, allow_none=True, metadata={"x-widget": "hidden"})
    label = text(_l("Building"), max_len=64)
    certified_area = money(_l("Certified area (㎡)"), required=False, maximum=100000)
    measured_area = money(_l("Measured area (㎡)"), maximum=100000)
    structure = choice(_l("Structure"), STRUCTURES)
    floors = integer(_l("Floors"), minimum=1, maximum=60)
    year_built = WholeNumber(required=False, allow_none=True, metadata={"title": _l("Year built")},
                             validate=[validate.Range(min=1900, max=2100), not_after_this_year])
    use = choice(_l("Use"), USES)
    legal_status = choice(_l("Legal status"), LEGAL_STATUSES)
    run_as_business = f.Boolean(load_default=False, metadata={"title": _l("Run as a business")})


class AncillaryRow(CodedSchema):
    # the policy's catalogue decides the codes (services.compensation.catalogue): the form of a household lists
    # those of its project's policy; the service refuses any other code
    code = f.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error=Template("code_unknown")),
                    metadata={"title": _l("Item"), "x-labels": {c: CHOICE_LABELS.get(c, c) for c in ANCILLARY_CODES}})
    count = integer(_l("Count"), minimum=1, maximum=100000)
    # the item's name and unit as the policy called them when the survey was saved (set by the service)
    name = f.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                    metadata={"x-widget": "hidden"})
    unit = f.String(load_default=None, allow_none=True, validate=validate.Length(max=8),
                    metadata={"x-widget": "hidden"})


class EquipmentRow(CodedSchema):
    name = text(_l("Equipment"), max_len=128)
    count = integer(_l("Count"), minimum=1, maximum=10000)
    value = money(_l("Book value (yuan)"), required=False)


class BusinessPart(CodedSchema):
    licence_no = text(_l("Business licence number"), required=False, max_len=64)
    business_area = money(_l("Business area (㎡)"), required=False, maximum=100000)
    tenant = text(_l("Tenant"), required=False, max_len=128)
    equipment = rows(EquipmentRow, _l("Equipment list"), required=False, maximum=500)
    interruption_basis = text(_l("Basis of the business-interruption loss"), required=False, max_len=2000,
                              widget="textarea")
    monthly_loss = money(_l("Average monthly profit or loss (yuan)"), required=False)
    land_area = money(_l("Land-use area (㎡)"), required=False, maximum=10000000)


class SurveyForm(CodedSchema):
    head_name = text(_l("Head of household"), max_len=64)
    phone = f.String(load_default=None, allow_none=True, validate=validate.Regexp(
        PHONE, error=Template("phone")), metadata={"title": _l("Phone")})
    address = text(_l("Address"), max_len=255)
    land_nature = choice(_l("Land nature"), ("collective", "state"))
    homestead_area = money(_l("Homestead area (㎡)"), required=False, maximum=100000)
    persons = rows(PersonRow, _l("Household members"), minimum=1, maximum=50)
    buildings = rows(BuildingRow, _l("Buildings"), minimum=1, maximum=50)
    ancillary = rows(AncillaryRow, _l("Ancillary items and structures"), required=False, maximum=100)
    business = f.Nested(BusinessPart, load_default=None, allow_none=True,
                        metadata={"title": _l("Enterprise or shop"), "x-show-for": ["enterprise", "shop"]})
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")

    @validates_schema
    def _consistent(self, data: dict, partial: Any = None, **kwargs: Any) -> None:
        persons = data.get("persons") or []
        if persons:
            heads = [p for p in persons if p.get("relation") == "head"]
            if len(heads) != 1:
                raise ValidationError(problem("one_head"), "persons")
            numbers = [p.get("id_number") for p in persons]
            if len(numbers) != len(set(numbers)):
                raise ValidationError(problem("id_twice"), "persons")
        codes = [a.get("code") for a in data.get("ancillary") or []]
        if len(codes) != len(set(codes)):
            raise ValidationError(problem("ancillary_once"), "ancillary")
        labels = [b.get("label") for b in data.get("buildings") or []]
        if len(labels) != len(set(labels)):
            raise ValidationError(problem("building_names"), "buildings")
