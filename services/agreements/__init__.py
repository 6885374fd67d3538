"""Agreements (协议): the unified template filled with a household's agreement, as .docx and as a printable page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import Household
from services import audit
from services.access import get_household
from services.agreements.amounts import figures, to_capitals
from services.agreements.context import DEFAULT_OFFICE, agreement_data, build
from services.agreements.render import DOCX, SheetBlock, filename, render_context, sheet
from services.context import Actor
from services.tx import transaction

__all__ = ["DEFAULT_OFFICE", "DOCX", "AgreementFile", "AgreementSheet", "agreement_data", "document", "figures",
           "has_agreement", "page", "to_capitals"]


@dataclass(frozen=True)
class AgreementFile:
    """An agreement as a download: its file name (the number), the .docx bytes and what it was made from."""

    filename: str
    content: bytes
    number: str
    revision: int
    template_version: str
    draft: bool = False


@dataclass(frozen=True)
class AgreementSheet:
    """An agreement as the printable page shows it: the household, the number and the filled blocks."""

    household: Household
    number: str
    revision: int
    template_version: str
    blocks: list[SheetBlock]
    draft: bool = False


def has_agreement(household_id: int) -> bool:
    """True once the household's agreement has been drafted and numbered."""
    return agreement_data(household_id) is not None


def document(actor: Actor, household_id: int, *, office: str, timezone: str, now: datetime,
             draft: bool = False) -> AgreementFile:
    """The .docx of a household of the actor's projects (with draft, its draft before it is numbered, marked as
    such); the download is audited. NotFound without one."""
    household = get_household(actor.user, household_id)
    context = build(household.id, office=office, timezone=timezone, draft=draft)
    content = render_context(context)
    with transaction():
        audit.record(actor, "agreement.download", "agreement", context["number"], household_id=household.id,
                     after={"number": context["number"], "revision": context["revision"],
                            "template_version": context["template_version"],
                            **({"draft": True} if context["draft"] else {})}, at=now)
    name = filename(f"协议草稿_{household.code}") if context["draft"] else filename(context["number"])
    return AgreementFile(name, content, context["number"], context["revision"], context["template_version"],
                         context["draft"])


def page(actor: Actor, household_id: int, *, office: str, timezone: str, draft: bool = False) -> AgreementSheet:
    """The printable agreement of a household of the actor's projects (with draft, its draft before it is
    numbered); NotFound without one."""
    household = get_household(actor.user, household_id)
    context = build(household.id, office=office, timezone=timezone, draft=draft)
    return AgreementSheet(household, context["number"], context["revision"], context["template_version"],
                          sheet(context), context["draft"])
