"""核算, 协议 and 资金拨付: the calculation's choices, the agreement's terms, the payments."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validates_schema
from marshmallow import fields as f

from services.forms.fields import choice, day, file_ref, integer, money, rows, text
from services.problems import N_, CodedSchema, problem
from services.problems import register as register_problems

register_problems({
    "move_before_signing": N_("the moving deadline cannot be before the signing"),
    "voucher_twice": N_("a voucher number appears twice"),
})


class Adjustment(CodedSchema):
    label = text(_l("Adjustment"), max_len=128)
    amount = money(_l("Amount (yuan)"), minimum="-9999999999")
    reason = text(_l("Reason for the adjustment"), max_len=500)


class CalculationForm(CodedSchema):
    option = choice(_l("Compensation option"), ("cash", "swap"))
    policy_version = text(_l("Policy version (empty: the current one)"), required=False, max_len=32)
    signed_on = day(_l("Expected signing date (for the signing bonus)"), ahead=5, required=False)
    transition_months = integer(_l("Transition months"), required=False, minimum=0, maximum=120)
    swap_area = money(_l("Swap area chosen (㎡, swap only)"), required=False, maximum=100000)
    adjustments = rows(Adjustment, _l("Manual adjustments"), required=False, maximum=20)
    notes = text(_l("Calculation notes"), required=False, max_len=2000, widget="textarea")


class AgreementForm(CodedSchema):
    move_deadline = day(_l("Moving deadline"), ahead=10)
    household_signed_on = day(_l("Signed by the household on"))
    signed_scan = file_ref(_l("Scan of the signed agreement"), "signed_agreement")
    bank_account = text(_l("Household's bank account"), required=False, max_len=64)
    # paid the tenant's part of a business's compensation (only an agreement with such a part has one)
    tenant_bank_account = text(_l("Tenant's bank account"), required=False, max_len=64,
                               show_for=("shop", "enterprise"))
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")

    @validates_schema
    def _order(self, data: dict, **kwargs: Any) -> None:
        if data.get("move_deadline") and data.get("household_signed_on") and \
                data["move_deadline"] < data["household_signed_on"]:
            raise ValidationError(problem("move_before_signing"), "move_deadline")


class PaymentRow(CodedSchema):
    id = f.Integer(load_default=None, allow_none=True, metadata={"x-widget": "hidden"})
    payee = choice(_l("Paid to"), ("owner", "tenant"), default="owner")
    amount = money(_l("Amount (yuan)"), minimum="0.01")
    paid_on = day(_l("Paid on"))
    voucher_no = text(_l("Voucher number"), max_len=64)
    attachment_id = file_ref(_l("Voucher file"), "voucher")


class PaymentForm(CodedSchema):
    payments = rows(PaymentRow, _l("Payments"), maximum=100)
    notes = text(_l("Notes"), required=False, max_len=2000, widget="textarea")

    @validates_schema
    def _unique_vouchers(self, data: dict, **kwargs: Any) -> None:
        vouchers = [p.get("voucher_no") for p in data.get("payments") or []]
        if len(vouchers) != len(set(vouchers)):
            raise ValidationError(problem("voucher_twice"), "payments")
