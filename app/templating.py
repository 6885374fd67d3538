"""Template filters and globals: local time, money, role names, translated codes and problems, the unread badge."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, url_for
from flask_babel import get_locale, get_translations
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app import labels
from app.cases.display import case_names, module_rows, module_tables
from app.timeparts import duration_text
from services import modules, notifications, personal
from services.roles import ROLES, role_label


def _catalog() -> Any:
    """The request's translations: looked up once per request and locale, not at every _() of a page."""
    locale = get_locale()
    cached = g.get("_catalog")
    if cached is None or cached[0] is not locale:  # first use, or inside force_locale
        cached = g._catalog = (locale, get_translations())
    return cached[1]


def install_gettext(app: Flask) -> None:
    """The templates' _(), ngettext() and pgettext() through _catalog (Flask-Babel's own look the
    translations up again at every call: a tenth of a long page's rendering)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalog().ugettext(s),
        ngettext=lambda s, p, n: _catalog().ungettext(s, p, n),
        pgettext=lambda c, s: _catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalog().unpgettext(c, s, p, n),
        newstyle=True)


def csrf_field(token: str | None = None) -> Markup:
    """The hidden CSRF input every form of the pages sends (a token made once per page may be passed in)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token or generate_csrf())


def register(app: Flask) -> None:
    """Install the filters, the templates' gettext and the context processor."""
    install_gettext(app)
    app.jinja_env.globals["csrf_field"] = csrf_field
    zone = ZoneInfo(app.config["TIMEZONE"])

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
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

    @app.template_global()
    def role_labels() -> dict[str, str]:
        """Every role's display name in the page's language (for long tables: one lookup per row)."""
        locale = str(get_locale() or "zh")
        return {code: role_label(code, locale) for code in ROLES}

    for name, table in (("status", labels.STATUS), ("kind", labels.KIND), ("nature", labels.NATURE),
                        ("action", labels.ACTION), ("module_title", labels.MODULE),
                        ("task_status", labels.TASK_STATUS), ("notification_kind", labels.NOTIFICATION_KIND),
                        ("project_kind", labels.PROJECT_KIND), ("project_status", labels.PROJECT_STATUS),
                        ("village_kind", labels.VILLAGE_KIND)):
        app.add_template_filter(lambda code, _table=table: labels.label(_table, code), name)
    app.add_template_filter(labels.problem, "problem")
    app.add_template_filter(duration_text, "duration")
    app.add_template_filter(labels.error_text, "error_text")
    app.add_template_global(labels.report_scope, "report_scope")
    app.add_template_global(module_rows, "module_rows")
    app.add_template_global(module_tables, "module_tables")
    app.add_template_global(case_names, "case_names")
    app.add_template_filter(personal.mask_personal, "masked")  # any stored dict or text, personal data masked
    app.add_template_global(modules.MODULES, "case_modules")

    @app.template_global()
    @pass_context
    def ref_label(context: Context, field: str, value: object) -> str:
        """The name a row's reference stands for (a building, a person, a dossier item): from the page's
        `ref_labels` (a page renders it with the form macros imported `with context`)."""
        table = (context.get("ref_labels") or {}).get(field, {})
        try:
            key = int(value) if field != "code" else value  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value or "")
        return table.get(key, str(value or ""))

    @app.template_global()
    def url_pattern(endpoint: str, key: str) -> str:
        """url_for(endpoint) with the integer `key` left as {}: one link per row of a long table, built once."""
        marker = 987_654_321
        return url_for(endpoint, **{key: marker}).replace("{", "{{").replace("}", "}}").replace(str(marker), "{}")

    @app.template_global()
    def has_endpoint(name: str) -> bool:
        """True when a page exists (areas other blueprints add show up in the menu only once they do)."""
        return name in current_app.view_functions

    @app.context_processor
    def globals_() -> dict:
        unread = 0
        if current_user.is_authenticated:
            unread = notifications.unread_count(current_user.id)
        return {"unread_count": unread, "locale": str(get_locale() or "zh"), "all_roles": list(ROLES)}
