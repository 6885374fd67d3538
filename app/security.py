"""Security of every response and every signed-in session: headers, the session's idle and absolute timeouts,
and the client address behind reverse proxies."""
from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from app.models import utcnow
from app.web import page_actor
from services import identity

# No inline script anywhere; styles may be inline because bpmn-js writes style attributes on its SVG, and its
# icon font and the site's favicon are data: URLs.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# what is not a page (JSON, the BPMN XML, spreadsheets …) is never a document that may run anything
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
SEEN_RESOLUTION = 60  # seconds: the last-seen time in the cookie is refreshed at most this often


def register(app: Flask) -> None:
    """Trust the configured proxies, time signed-in sessions out and put the headers on every response."""
    hops = app.config.get("PROXY_HOPS") or 0
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.before_request(expire_idle_session)
    app.before_request(require_password_change)
    app.after_request(security_headers)


def start_session() -> None:
    """Mark the start of a freshly signed-in session (the login page calls this)."""
    now = int(time.time())
    session["since"] = session["seen"] = now
    session.permanent = True


def _expired(now: int) -> str | None:
    seen, since = session.get("seen"), session.get("since")
    idle = current_app.config.get("SESSION_IDLE_MINUTES", 0) * 60
    if idle and isinstance(seen, int) and now - seen > idle:
        return "idle"
    if isinstance(since, int) and now - since > current_app.permanent_session_lifetime.total_seconds():
        return "lifetime"
    return None


def expire_idle_session() -> Response | None:
    """Sign a page session out after SESSION_IDLE_MINUTES without a request, or PERMANENT_SESSION_LIFETIME after
    sign-in (the cookie's own expiry slides with every request, so it does not bound a session by itself)."""
    if request.endpoint == "static" or request.path.startswith("/api/") or not current_user.is_authenticated:
        return None
    now = int(time.time())
    reason = _expired(now)
    if reason is None:
        if not isinstance(session.get("since"), int):
            session["since"] = now
        if not isinstance(session.get("seen"), int) or now - session["seen"] >= SEEN_RESOLUTION:
            session["seen"] = now
        return None
    identity.record_logout(page_actor(), utcnow(), reason=reason)
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Your session has expired; please sign in again."), "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


# what a user with a temporary password may still open: the password page, signing out, the language switch
OPEN_BEFORE_CHANGE = frozenset({"static", "account.password", "auth.logout", "auth.login", "main.set_language",
                                "main.healthz"})


def require_password_change() -> Response | None:
    """A user whose password an administrator set (a temporary one) must change it before any other page."""
    if request.path.startswith("/api/") or request.endpoint in OPEN_BEFORE_CHANGE \
            or not current_user.is_authenticated or not current_user.must_change_password:
        return None
    return redirect(url_for("account.password"))


def security_headers(response: Response) -> Response:
    """The security headers, on every response (a route that set a stricter policy of its own keeps it)."""
    page = response.mimetype == "text/html" or request.endpoint == "static"
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY if page else NOT_A_PAGE_POLICY)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
