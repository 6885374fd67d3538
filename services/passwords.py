"""The password policy: long enough, more than one kind of character, not the username, not a well-known password.

Applied wherever a password is set (a new user, a password change); problems are worded in English like every
service's field problems, and the pages show them translated.
"""
from __future__ import annotations

import re

from services.problems import N_, Problem, problem
from services.problems import register as register_problems

register_problems({
    "password_required": N_("a password is required"),
    "password_short": N_("at least %(min)s characters"),
    "password_kinds": N_("mix at least two kinds of characters: lower case, upper case, digits, symbols"),
    "password_username": N_("must not contain the username"),
    "password_common": N_("this password is too well known"),
})

MIN_LENGTH = 10
MAX_LENGTH = 256

# well-known passwords of ten characters or more (lower case, as compared); the short ones fail on length anyway
COMMON = frozenset({
    "1234567890", "0123456789", "12345678910", "1234567890a", "a123456789", "123456789a", "1q2w3e4r5t",
    "1qaz2wsx3edc", "qwertyuiop", "qwerty123456", "qwe123456789", "asdfghjkl;", "zxcvbnm123", "password12",
    "password123", "password1234", "passw0rd123", "p@ssw0rd123", "p@ssword123", "password!23", "abc1234567",
    "abcd123456", "abcdefghij", "aa123456789", "iloveyou12", "admin12345", "admin123456", "administrator",
    "admin@12345", "welcome123", "changeme123", "letmein123", "1111111111", "0000000000", "5201314520",
    "woaini1314", "woaini520", "a1b2c3d4e5", "qq123456789", "abc123456789", "1234qwerasdf", "zaq12wsxcde",
    "relocation123", "chaiqian123", "zhengqian123",
})

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]"))


def problems(password: str, username: str | None = None) -> list[Problem]:
    """What is wrong with a new password under the policy; empty when it is acceptable."""
    if not isinstance(password, str) or not password:
        return [problem("password_required")]
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(problem("password_short", min=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        found.append(problem("at_most_chars", max=MAX_LENGTH))
    if sum(1 for pattern in _CLASSES if pattern.search(password)) < 2:
        found.append(problem("password_kinds"))
    folded = password.strip().lower()
    name = (username or "").strip().lower()
    if name and (folded == name or folded == name[::-1] or (len(name) >= 3 and name in folded)):
        found.append(problem("password_username"))
    if folded in COMMON:
        found.append(problem("password_common"))
    return found
