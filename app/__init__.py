"""The Flask application factory."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, has_request_context, request, session
from sqlalchemy import event
from sqlalchemy.orm import joinedload

from app import pool, routing
from app.config import BASE_DIR, Config
from app.extensions import babel, csrf, db, login_manager, migrate
from app.models.types import MAX_ID
from services import engine as bpmn_engine
from services.context import Office, configure_office


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides settings (tests pass their database URL here)."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    app.json.ensure_ascii = False
    register_extensions(app)
    routing.register(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_templating(app)
    register_security(app)
    connect_receivers()
    return app


def _select_locale() -> str:
    """Chinese by default; ?lang= (kept in the session) or, for the API, Accept-Language switch it."""
    if not has_request_context():  # the worker, the CLI: what they store and send is in Chinese
        return "zh"
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in ("zh", "en"):
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(["zh", "en"], default="zh")
    return "zh"


def register_extensions(app: Flask) -> None:
    """Bind the extensions; SQLite gets WAL, a busy timeout and foreign keys."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
        if uri.startswith("sqlite:///") and ":memory:" not in uri:
            from pathlib import Path

            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    bpmn_engine.configure(app.config["SPEC_CACHE_SIZE"])
    configure_office(Office(timezone=app.config["TIMEZONE"]))
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories=str(
        BASE_DIR / "app" / "translations"))
    with app.app_context():
        if uri.startswith("sqlite"):
            event.listen(db.engine, "connect", _sqlite_pragmas)
        for engine in db.engines.values():
            pool.install(engine, app.config["DB_PING_IDLE_SECONDS"])

    from app.models import User, WorkGroup

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        """The session's user, if still active and still with the password the session was signed in with."""
        number, _, stamp = user_id.partition(":")
        if not (number.isascii() and number.isdigit()) or len(number) > 10 or int(number) > MAX_ID:
            return None
        user = db.session.get(User, int(number), options=[joinedload(User.roles),
                                                          joinedload(User.groups).joinedload(WorkGroup.project)])
        if user is None or not user.active or stamp != user.session_stamp:
            return None
        return user


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    """One blueprint per area."""
    from app.account import bp as account_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.cases import bp as cases_bp
    from app.duties import bp as duties_bp
    from app.inbox import bp as inbox_bp
    from app.integrity import bp as integrity_bp
    from app.main import bp as main_bp
    from app.policies import bp as policies_bp
    from app.processes import bp as processes_bp
    from app.setup import bp as setup_bp
    from app.staff import bp as staff_bp
    from app.supervisor import bp as supervisor_bp
    from app.trail import bp as trail_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(policies_bp)
    app.register_blueprint(supervisor_bp)
    app.register_blueprint(integrity_bp)
    app.register_blueprint(processes_bp)
    app.register_blueprint(setup_bp)
    app.register_blueprint(trail_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(duties_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)


def register_errorhandlers(app: Flask) -> None:
    """Service errors and HTTP errors become JSON under /api and pages elsewhere."""
    from app.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    """The flask CLI commands: seed-demo, bpmn, users."""
    from app.cli import register

    register(app)


def register_templating(app: Flask) -> None:
    """Filters and globals the templates use."""
    from app.templating import register

    register(app)


def register_security(app: Flask) -> None:
    """Security headers, session timeouts and proxy awareness."""
    from app.security import register

    register(app)


def connect_receivers() -> None:
    """Connect the signal receivers and the audit chain (idempotent)."""
    from services import audit, notifications

    notifications.connect_receivers()
    audit.install(db.session)
