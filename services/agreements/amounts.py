"""Money as an agreement writes it: figures with thousands separators and 人民币大写 (Chinese capital numerals)."""
# The capitals follow the banks' rules for filling in vouchers (《正确填写票据和结算凭证的基本规定》):
# 壹拾 keeps its 壹; a zero inside a group, or before a group that does not start with its 仟, is written once
# as 零; an amount ending at 元 or 角 gets 整, one ending at 分 does not; a zero 角 before a non-zero 分 is 零.
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("仟", "佰", "拾", "")
GROUPS = ("", "万", "亿")
CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 12  # 万亿: beyond every amount the agreements' columns (14, 2) can hold


def to_decimal(amount: Decimal | int | str | float) -> Decimal:
    """The amount as a Decimal with two places, half up; ValueError for anything that is not a finite number."""
    if isinstance(amount, bool):
        raise ValueError("an amount cannot be a boolean")
    try:
        value = Decimal(str(amount).strip()) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    try:
        value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    return value if value != 0 else Decimal("0.00")


def figures(amount: Decimal | int | str | float) -> str:
    """The amount in figures as an agreement prints it: 1,234,567.89 (a leading minus when negative)."""
    return f"{to_decimal(amount):,.2f}"


def _group(digits: str, started: bool) -> str:
    """One group of four digits in capitals; a leading zero counts once something was written before it."""
    out: list[str] = []
    zero = False
    for digit, place in zip(digits.rjust(4, "0"), PLACES, strict=True):
        if digit == "0":
            zero = zero or started or bool(out)
            continue
        if zero and (started or out):
            out.append("零")
        zero = False
        out.append(DIGITS[int(digit)] + place)
    return "".join(out)


def _yuan(yuan: int) -> str:
    """The whole yuan in capitals, without the unit (0 gives an empty string)."""
    text = str(yuan)
    groups = []
    while text:
        groups.insert(0, text[-4:])
        text = text[:-4]
    out = ""
    pending_zero = False
    for index, digits in enumerate(groups):
        level = len(groups) - 1 - index
        if int(digits) == 0:
            pending_zero = pending_zero or bool(out)
            continue
        part = _group(digits, started=bool(out))
        if pending_zero and not part.startswith("零"):
            part = "零" + part
        pending_zero = False
        out += part + GROUPS[level]
    return out


def to_capitals(amount: Decimal | int | str | float) -> str:
    """The amount in 人民币大写, e.g. 1234567.89 → 壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分; negatives start with 负."""
    value = to_decimal(amount)
    if abs(value) >= LIMIT:
        raise ValueError("the amount is too large for the capitals (at most 9999亿)")
    sign = "负" if value < 0 else ""
    cents = int(abs(value) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if cents == 0:
        return "零元整"
    out = _yuan(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    elif fen and yuan:
        out += "零"
    if fen:
        out += DIGITS[fen] + "分"
    else:
        out += "整"
    return sign + out
