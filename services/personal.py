"""Personal data (ID numbers, phones, bank accounts) masked wherever it is shown or exported.

Pages, lists, exports and the API show these masked by default; a full view is an explicit action of a
role that needs it (`services.modules.service.reveal_personal`), and every full view is audited.
"""
from __future__ import annotations

import re
from typing import Any

from services import idnumbers

ID_NUMBER_KEYS = frozenset({"id_number", "head_id_number"})
PHONE_KEYS = frozenset({"phone", "mobile", "contact_phone"})
ACCOUNT_KEYS = frozenset({"bank_account", "tenant_bank_account", "account_no"})
# an 18-character ID number standing anywhere in a text (notes, audit details): not part of a longer number
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_id_number(value: str | None) -> str:
    """An ID number as every list shows it: 110**********1315."""
    return idnumbers.mask(value)


def mask_phone(value: str | None) -> str:
    """A phone number with its middle digits hidden: 139****5678 (a short number keeps its last two)."""
    if not value:
        return ""
    text = str(value).strip()
    digits = sum(c.isdigit() for c in text)
    if digits >= 7:
        keep_head, keep_tail = 3, 4
    else:
        keep_head, keep_tail = 0, 2
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen <= keep_head or seen > digits - keep_tail else "*")
        else:
            out.append(c)
    return "".join(out)


def mask_account(value: str | None) -> str:
    """A bank account with only its last four characters: ************1234."""
    if not value:
        return ""
    text = "".join(str(value).split())
    return "*" * max(len(text) - 4, 0) + text[-4:]


def mask_text(text: str) -> str:
    """A free text with every ID number and mobile number in it masked."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def mask_personal(obj: Any, *, texts: bool = True) -> Any:
    """A copy of any stored value (dict, list, text) with its personal data masked.

    ID numbers, phones and bank accounts are masked under their keys at any depth, and (unless `texts` is
    false, as for a form the clerk edits) ID and mobile numbers standing inside other texts too (a note, a
    raw audit detail). Anything else is kept as it is.
    """
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            if isinstance(value, str) and key in ID_NUMBER_KEYS:
                out[key] = mask_id_number(value)
            elif isinstance(value, str) and key in PHONE_KEYS:
                out[key] = mask_phone(value)
            elif isinstance(value, str) and key in ACCOUNT_KEYS:
                out[key] = mask_account(value)
            else:
                out[key] = mask_personal(value, texts=texts)
        return out
    if isinstance(obj, list | tuple):
        return [mask_personal(v, texts=texts) for v in obj]
    if isinstance(obj, str) and texts:
        return mask_text(obj)
    return obj


_MASKERS = {**{k: mask_id_number for k in ID_NUMBER_KEYS}, **{k: mask_phone for k in PHONE_KEYS},
            **{k: mask_account for k in ACCOUNT_KEYS}}


def keep_masked(posted: Any, stored: Any) -> Any:
    """Posted form data in which a masked number, handed out as it was shown, stands for the stored full one.

    A page shows ID numbers, phones and accounts masked; the clerk who leaves one untouched sends the mask
    back, and the record keeps the full number. A changed value is taken as typed. Rows are matched by their
    `id` when they have one, else by position.
    """
    if not isinstance(posted, dict) or not isinstance(stored, dict):
        return posted
    out = dict(posted)
    for key, value in posted.items():
        old = stored.get(key)
        masker = _MASKERS.get(key)
        if masker and isinstance(value, str) and isinstance(old, str) and value != old and value == masker(old):
            out[key] = old
        elif isinstance(value, list) and isinstance(old, list):
            by_id = {row.get("id"): row for row in old if isinstance(row, dict) and row.get("id") is not None}
            out[key] = [keep_masked(row, by_id.get(_row_id(row)) if _row_id(row) is not None
                                    else (old[i] if i < len(old) else None))
                        for i, row in enumerate(value)]
        elif isinstance(value, dict):
            out[key] = keep_masked(value, old)
    return out


def _row_id(row: Any) -> Any:
    if not isinstance(row, dict) or row.get("id") in (None, ""):
        return None
    try:
        return int(row["id"])
    except (TypeError, ValueError):
        return None
