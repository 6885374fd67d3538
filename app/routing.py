"""Ids in paths: ASCII digits only, within the id range; anything else names no record."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

MAX_ID = 2**31 - 1


class IdConverter(BaseConverter):
    """A row id in a path: ASCII digits (never another script's, which `int()` would read); a number beyond the
    id range names nothing, so it is an unknown id."""

    regex = r"[0-9]+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        """The id, or 0 (which no row has) when it is out of range."""
        return int(value) if len(value) <= 10 and 0 < int(value) <= MAX_ID else 0

    def to_url(self, value: int) -> str:
        """The id as digits."""
        return str(int(value))


def register(app: Flask) -> None:
    """Every id in a path, pages (<int:…>) and API (<id:…>) alike, goes through IdConverter."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["int"] = IdConverter
