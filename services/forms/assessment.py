"""评估作业 and 确权确户: the appraisal of each building, and the confirmed legal areas and persons."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validates_schema
from marshmallow import fields as f

from services.forms.fields import day, declaration_note, declaration_tick, file_ref, money, ref, rows, text
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems

register_problems({
    "exclusion_reason": N_("give the reason for the excluded area"),
})


class AppraisedBuilding(CodedSchema):
    building_id = ref(_l("Building"))
    unit_price = money(_l("Unit price (yuan/㎡)"), minimum="0.01", maximum=1000000)
    decoration_value = money(_l("Decoration value (yuan)"), required=False)


class AppraisalForm(CodedSchema):
    firm = text(_l("Appraisal firm"), max_len=128)
    appraiser_name = text(_l("Appraiser"), max_len=64)
    report_no = text(_l("Report number"), max_len=64)
    report_date = day(_l("Report date"), back=10)
    report_file = file_ref(_l("Appraisal report (file)"), "appraisal_report")
    buildings = rows(AppraisedBuilding, _l("Unit prices per building"), minimum=1, maximum=50,
                     **{"x-rows-from": "buildings"})
    ancillary_value = money(_l("Ancillary items value (yuan)"), required=False)
    equipment_value = money(_l("Equipment value (yuan)"), required=False)
    monthly_loss = money(_l("Monthly business-interruption loss (yuan)"), required=False)
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")
    no_conflict = declaration_tick()
    conflict_note = declaration_note()


class ConfirmedBuilding(CodedSchema):
    building_id = ref(_l("Building"))
    legal_area = money(_l("Confirmed legal area (㎡)"), maximum=100000)
    excluded_area = money(_l("Excluded area (㎡)"), required=False, maximum=100000)
    exclusion_reason = text(_l("Reason for exclusion"), required=False, max_len=500)

    @validates_schema
    def _reason(self, data: dict, **kwargs: Any) -> None:
        if data.get("excluded_area") and data["excluded_area"] > 0 and not data.get("exclusion_reason"):
            raise ValidationError(problem("exclusion_reason"), "exclusion_reason")


class ConfirmedPerson(CodedSchema):
    person_id = ref(_l("Person"))
    resettlement = f.Boolean(required=True, metadata={"title": _l("Resettlement person")})
    reason = text(_l("Basis"), required=False, max_len=500)


class RightsForm(CodedSchema):
    buildings = rows(ConfirmedBuilding, _l("Legal area per building"), minimum=1, maximum=50,
                     **{"x-rows-from": "buildings"})
    persons = rows(ConfirmedPerson, _l("Resettlement persons"), minimum=1, maximum=50, **{"x-rows-from": "persons"})
    basis = text(_l("Basis of determination"), max_len=2000, widget="textarea")
    determined_on = day(_l("Determined on"), back=10)
    table_file = file_ref(_l("Rights confirmation table (file)"), "rights_table")
