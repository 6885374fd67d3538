"""Text the office's formats can hold: refused at the door when it cannot be written, dropped by every writer anyway.

The agreement (.docx), the ledgers (.xlsx) and every XML export are XML 1.0, which cannot carry C0
control characters other than tab, newline and carriage return, the non-characters U+FFFE and U+FFFF,
or lone surrogates. A household name holding one of them would make every export of its project
fail, so free text is refused when it holds one (`writable`, a marshmallow validator, and
`unwritable_fields` for a whole body), and the writers drop them (`clean`, `clean_deep`) for rows
stored before the check existed.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from services.problems import N_, problem, register

# everything outside XML 1.0's Char production
UNWRITABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

register({"unwritable_text": N_("The text holds a character that cannot be saved or printed "
                                "(a control character or U+%(char)s); remove it.")})


def first_unwritable(value: str) -> str | None:
    """The first character of the text that XML 1.0 cannot hold, as four or more hex digits; None when none."""
    match = UNWRITABLE.search(value)
    return None if match is None else f"{ord(match.group()):04X}"


def writable(value: Any) -> None:
    """A marshmallow validator: the text can be written to the office's documents."""
    if isinstance(value, str):
        char = first_unwritable(value)
        if char is not None:
            raise ValidationError(problem("unwritable_text", char=char))


def unwritable_fields(data: Any, path: str = "") -> dict[str, list[str]]:
    """Every text of a JSON body (keys included) that cannot be written, by its dotted path."""
    found: dict[str, list[str]] = {}
    if isinstance(data, str):
        char = first_unwritable(data)
        if char is not None:
            found[path or "body"] = [problem("unwritable_text", char=char)]
    elif isinstance(data, Mapping):
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and first_unwritable(key) is not None:
                found[clean(name)] = [problem("unwritable_text", char=first_unwritable(key))]
                continue
            found.update(unwritable_fields(value, name))
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            found.update(unwritable_fields(value, f"{path}.{index}" if path else str(index)))
    return found


def clean(value: Any) -> Any:
    """Text without the characters XML 1.0 cannot hold; other values as they are."""
    return UNWRITABLE.sub("", value) if isinstance(value, str) else value


def clean_deep(value: Any) -> Any:
    """A context of dicts, lists and tuples with every text cleaned (what a document is rendered from)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {clean(key): clean_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_deep(item) for item in value]
    if isinstance(value, tuple):
        return tuple(clean_deep(item) for item in value)
    return value
