"""Configuration: every environment variable the application reads, with its default."""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production defaults, overridable from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'relocation.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # a pooled connection idle longer than this is pinged before use (app/pool.py), a dead one replaced
    DB_PING_IDLE_SECONDS = float(os.environ.get("DB_PING_IDLE_SECONDS", "10"))
    # parsed diagrams kept per process (the least recently used beyond it are parsed again from the database)
    SPEC_CACHE_SIZE = int(os.environ.get("SPEC_CACHE_SIZE", "64"))
    BPMN_DIR = os.environ.get("BPMN_DIR", str(BASE_DIR / "bpmn"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    PG_BIN_DIR = os.environ.get("PG_BIN_DIR") or None  # where pg_dump/pg_restore are, when not on the usual paths
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    # longer addresses are answered 414 by the application (gunicorn.conf.py lets them through to it)
    MAX_URL_LENGTH = int(os.environ.get("MAX_URL_LENGTH", "4096"))
    TOKEN_TTL_HOURS = int(os.environ.get("TOKEN_TTL_HOURS", "12"))
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-pass-2026")
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    AGREEMENT_OFFICE = os.environ.get("AGREEMENT_OFFICE", "街道办事处")  # the implementing office (甲方) of agreements
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "zh")
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = ("zh", "en")
    WTF_CSRF_TIME_LIMIT = None
    # cookies: Secure unless SESSION_COOKIE_SECURE=0 (plain-http local development; `make run` sets it)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # a signed-in session ends this long after sign-in, or after this long without a request
    PERMANENT_SESSION_LIFETIME = int(os.environ.get("SESSION_HOURS", "8")) * 3600
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    # sign-in throttling: so many failures within the window lock the username (or the address) for a while
    LOGIN_WINDOW_MINUTES = int(os.environ.get("LOGIN_WINDOW_MINUTES", "15"))
    LOGIN_MAX_FAILURES_PER_USER = int(os.environ.get("LOGIN_MAX_FAILURES_PER_USER", "5"))
    LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("LOGIN_MAX_FAILURES_PER_IP", "20"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
    # how many reverse proxies in front set X-Forwarded-For/-Proto (0: none, the client address is the peer's)
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
    DUE_SOON_HOURS = int(os.environ.get("DUE_SOON_HOURS", "24"))
    PER_PAGE_MAX = 200
    # the worker: reminders before the due time, the supervisor after it (ISO 8601 durations)
    REMINDER_LEAD = os.environ.get("REMINDER_LEAD", "PT24H")
    SUPERVISOR_ESCALATION_AFTER = os.environ.get("SUPERVISOR_ESCALATION_AFTER", "P1D")
    WORKER_INTERVAL = float(os.environ.get("WORKER_INTERVAL", "10"))
    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_USER = os.environ.get("SMTP_USER") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_FROM = os.environ.get("SMTP_FROM", "noreply@localhost")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", False)
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    # a claim on an e-mail copy older than this was a worker that died; temporary refusals wait
    # SMTP_RETRY_SECONDS, doubling, up to SMTP_MAX_ATTEMPTS tries (see services/mailer.py)
    SMTP_LEASE_SECONDS = float(os.environ.get("SMTP_LEASE_SECONDS", "120"))
    SMTP_RETRY_SECONDS = float(os.environ.get("SMTP_RETRY_SECONDS", "60"))
    SMTP_MAX_ATTEMPTS = int(os.environ.get("SMTP_MAX_ATTEMPTS", "8"))
    TESTING = False


class TestConfig(Config):
    """Settings for the test suite; the database URL is supplied by the fixtures."""

    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105
    WTF_CSRF_ENABLED = False
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105
