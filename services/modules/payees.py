"""Who is paid what: the owner's (产权人) and the business tenant's (承租户) parts of an agreement, the payments made
to each, and the rules that keep each payee's payments within and, at completion, equal to their part."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.compensation.rules import yuan
from services.errors import InvalidInput
from services.forms.fields import CHOICE_LABELS
from services.modules.case import Case
from services.problems import N_, name_param, problem, register

PAYEES = ("owner", "tenant")
OWNER = "owner"
ZERO = Decimal("0.00")

register({
    "payee_no_tenant": N_("the agreement has no tenant's part"),
    "payee_no_tenant_part": N_("the agreement has no tenant's part: the payments go to the owner"),
    "payments_above_payee": N_("the payments to a payee would exceed their agreed part"),
    "payment_above_payee": N_("with this payment %(sum)s would be paid to the %(payee)s, more than the agreed "
                              "%(part)s"),
    "payee_paid_of_agreed": N_("%(payee)s: paid %(paid)s of the agreed %(agreed)s"),
    "tenant_account_without_tenant": N_("only an agreement with a tenant's part has a tenant's bank account"),
})


def _payee_name(code: Any, locale: str) -> str:
    """A payee by its name: the code in the API's English wording, else the form's label (产权人, 承租人)."""
    if locale.startswith("en") or code not in PAYEES:
        return str(code)
    return str(CHOICE_LABELS[code])


name_param("payee", _payee_name)


@dataclass(frozen=True)
class PayeeProgress:
    """One payee's agreed part, what the payments shown pay them, and what remains."""

    payee: str
    agreed: Decimal
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.agreed - self.paid

    @property
    def label(self) -> str:
        return str(CHOICE_LABELS[self.payee])


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def tenant_part(payees: Any) -> Decimal:
    """The tenant's part of stored payees ({"owner": …, "tenant": …}, or None without one)."""
    return (_decimal(payees.get("tenant")) or ZERO) if isinstance(payees, dict) else ZERO


def agreed_parts(case: Case) -> dict[str, Decimal] | None:
    """What the agreement settles with each payee (the owner's part alone without a tenant's); each part as an
    amount to pay, whichever side pays it (a swap's difference the household pays counts as its size). None
    while the agreement has no total."""
    total = case.agreement_total()
    if total is None:
        return None
    payees = case.doc("agreement").get("payees")
    tenant = tenant_part(payees)
    if not tenant:
        return {OWNER: abs(total)}
    owner = _decimal(payees.get("owner")) or ZERO
    return {OWNER: abs(owner), "tenant": abs(tenant)}


def payee_of(row: Any) -> str:
    """A payment's payee; a payment stored before payees were recorded is the owner's."""
    payee = row.get("payee") if isinstance(row, dict) else None
    return payee if payee in PAYEES else OWNER


def paid_parts(payments: Any) -> dict[str, Decimal]:
    """The sum of the payments (as stored or as typed: what is not a number counts as nothing) per payee."""
    paid = dict.fromkeys(PAYEES, ZERO)
    for row in payments if isinstance(payments, list) else []:
        paid[payee_of(row)] += (_decimal(row.get("amount")) if isinstance(row, dict) else None) or ZERO
    return paid


def progress(case: Case, payments: Any) -> list[PayeeProgress]:
    """Per payee of the agreement: agreed, paid by the payments shown, remaining (the payment step's summary)."""
    parts = agreed_parts(case)
    if parts is None:
        return []
    paid = paid_parts(payments)
    return [PayeeProgress(payee, agreed, paid[payee]) for payee, agreed in parts.items()]


def check_payments(case: Case, stored: dict[str, Any]) -> None:
    """Refuse a payment to the tenant when the agreement has no tenant's part, and payments whose running sum
    per payee would pass that payee's agreed part (on every save and at completion)."""
    parts = agreed_parts(case)
    if parts is None:
        return
    rows = stored.get("payments") or []
    wrong = {f"payments.{i}.payee": [problem("payee_no_tenant_part")]
             for i, row in enumerate(rows) if payee_of(row) not in parts}
    if wrong:
        raise InvalidInput(problem("payee_no_tenant"), wrong)
    paid = dict.fromkeys(parts, ZERO)
    for index, row in enumerate(rows):
        payee = payee_of(row)
        paid[payee] += _decimal(row.get("amount")) or ZERO
        if paid[payee] > parts[payee]:
            raise InvalidInput(problem("payments_above_payee"), {f"payments.{index}.amount": [
                problem("payment_above_payee", payee=payee, sum=yuan(paid[payee]), part=yuan(parts[payee]))]})


def check_settled(case: Case, stored: dict[str, Any]) -> Decimal:
    """The payments' total, once every payee is paid their part in full (else InvalidInput naming each one
    short); without an agreed total, any payments settle."""
    payments = stored.get("payments") or []
    paid = paid_parts(payments)
    total = sum(paid.values(), ZERO)
    parts = agreed_parts(case)
    if parts is None:
        return total
    if len(parts) == 1:  # the owner alone: the payments add up to the agreement
        if total != parts[OWNER]:
            raise InvalidInput(problem("payments_mismatch"), {"payments": [
                problem("paid_of_agreed", paid=f"{total:.2f}", agreed=f"{parts[OWNER]:.2f}")]})
        return total
    short = [problem("payee_paid_of_agreed", payee=payee, paid=f"{paid[payee]:.2f}", agreed=f"{agreed:.2f}")
             for payee, agreed in parts.items() if paid[payee] != agreed]
    if short:
        raise InvalidInput(problem("payments_mismatch"), {"payments": short})
    return total


def check_tenant_account(case: Case, values: dict[str, Any]) -> None:
    """A tenant's bank account belongs only to an agreement whose calculation gives the tenant a part."""
    if values.get("tenant_bank_account") and not tenant_part(case.doc("calculation").get("payees")):
        raise InvalidInput(problem("tenant_account_without_tenant"),
                           {"tenant_bank_account": [problem("tenant_account_without_tenant")]})

