"""Resident ID numbers (居民身份证号, GB 11643): validation by check digit, masking."""
from __future__ import annotations

import re
from datetime import date

from services.problems import N_, Problem
from services.problems import register as register_problems

register_problems({
    "id_shape": N_("an ID number has 17 digits and a check digit (0-9 or X)"),
    "id_birth_missing": N_("the birth date inside the ID number does not exist"),
    "id_birth_implausible": N_("the birth date inside the ID number is not plausible"),
    "id_check_digit": N_("the check digit of the ID number is wrong"),
})

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")


def normalise(value: str) -> str:
    """Upper-case, without spaces."""
    return value.strip().replace(" ", "").upper()


def problem(value: str) -> Problem | None:
    """Why the number is not a valid 18-digit ID number, or None when it is."""
    number = normalise(value)
    if not _SHAPE.match(number):
        return Problem("id_shape")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return Problem("id_birth_missing")
    if born.year < 1900 or born > date.today():
        return Problem("id_birth_implausible")
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != number[17]:
        return Problem("id_check_digit")
    return None


def check_digit(first17: str) -> str:
    """The check digit of the first seventeen digits (used to build test numbers)."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def birth_date(value: str) -> date:
    """The birth date a valid ID number carries."""
    number = normalise(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender(value: str) -> str:
    """'male' or 'female', from the seventeenth digit of a valid ID number."""
    return "male" if int(normalise(value)[16]) % 2 else "female"


def mask(value: str | None) -> str:
    """The number as lists show it: the first three and the last four characters."""
    if not value:
        return ""
    number = normalise(value)
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
