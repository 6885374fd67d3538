"""Login and logout pages."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.auth import bp
from app.models import utcnow
from app.security import start_session
from app.web import landing, page_actor
from services import identity, throttle
from services.errors import TooManyRequests, Unauthorized
from services.problems import problem


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(problem("required")), Length(
        max=64, message=problem("length_max", max=64))])
    password = PasswordField(_l("Password"), validators=[DataRequired(problem("required")), Length(
        max=256, message=problem("length_max", max=256))])


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for(landing(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(landing(current_user)))
    form = LoginForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        try:
            user = identity.sign_in(form.username.data, form.password.data, ip=request.remote_addr,
                                    limits=throttle.Limits.from_config(current_app.config), now=utcnow())
        except TooManyRequests as exc:
            error = _l("Too many failed sign-ins. Try again in %(minutes)s minutes.",
                       minutes=max(1, -(-exc.retry_after // 60)))
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        except Unauthorized:
            error, status = _l("Wrong username or password."), 401
        else:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            start_session()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, error=error), status, headers


@bp.post("/logout")
@login_required
def logout():
    identity.record_logout(page_actor(), utcnow())
    logout_user()
    return redirect(url_for("auth.login"))
