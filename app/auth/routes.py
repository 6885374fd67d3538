"""Login and logout pages."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.auth import bp
from app.models import utcnow
from app.web import page_actor
from services import identity
from services.context import Actor


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = identity.authenticate(form.username.data, form.password.data)
        identity.record_login(Actor(user, request.remote_addr), success=user is not None,
                              username=form.username.data, now=utcnow())
        if user is not None:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        error = _l("Wrong username or password.")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    identity.record_logout(page_actor(), utcnow())
    logout_user()
    return redirect(url_for("auth.login"))
