"""The home page (each role's landing), the administration page, health check, language switch and the
notification centre."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.main import bp
from app.models import utcnow
from app.web import landing, page_actor
from services import access, health, mailer, notifications


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(landing(current_user)))


@bp.get("/admin")
@login_required
def administration():
    """The administrator's landing: what the administrator may use, one link each."""
    access.require_role(current_user, "admin")
    return render_template("main/admin.html")


@bp.get("/healthz")
def healthz():
    if not health.database_ok():
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("zh", "en"):
        session["lang"] = code
    target = request.referrer or url_for("main.index")
    if urlparse(target).netloc not in ("", request.host):
        target = url_for("main.index")
    return redirect(target)


@bp.get("/notifications")
@login_required
def notification_centre():
    rows = notifications.for_user(current_user.id, limit=200)
    undelivered = mailer.failed_count() if current_user.has_role("admin") else 0
    return render_template("main/notifications.html", rows=rows, render=notifications.render,
                           finding_of=notifications.finding_of, undelivered=undelivered)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read_notification(notification_id: int):
    row = notifications.mark_read(page_actor(), notification_id, utcnow())
    if row.task_id and request.form.get("open") == "task":
        return redirect(url_for("inbox.task", task_id=row.task_id))
    if notifications.finding_of(row) and request.form.get("open") == "finding":
        return redirect(url_for("integrity.finding", finding_id=notifications.finding_of(row)))
    return redirect(url_for("main.notification_centre"))


@bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    notifications.mark_all_read(page_actor(), utcnow())
    return redirect(url_for("main.notification_centre"))
