"""Template filters and globals: local time, money, role names, the unread badge."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import get_locale
from flask_login import current_user

from app import labels
from app.cases.display import module_rows
from services import notifications
from services.roles import ROLES, role_label


def register(app: Flask) -> None:
    """Install the filters and the context processor."""

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)

    @app.template_filter("money")
    def money(value: object) -> str:
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return str(value or "")
        return f"{amount:,.2f}"

    @app.template_filter("role")
    def role(code: str) -> str:
        return role_label(code, str(get_locale() or "zh"))

    for name, table in (("status", labels.STATUS), ("kind", labels.KIND), ("nature", labels.NATURE),
                        ("action", labels.ACTION), ("module_title", labels.MODULE)):
        app.add_template_filter(lambda code, _table=table: labels.label(_table, code), name)
    app.add_template_global(module_rows, "module_rows")

    @app.context_processor
    def globals_() -> dict:
        unread = 0
        if current_user.is_authenticated:
            unread = notifications.unread_count(current_user.id)
        return {"unread_count": unread, "locale": str(get_locale() or "zh"), "all_roles": list(ROLES)}
