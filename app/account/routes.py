"""Account pages: the password change form and the list of the user's API tokens."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.account import bp
from app.models import utcnow
from app.security import start_session
from app.web import landing, page_actor
from services import identity, passwords, throttle, tokens
from services.errors import InvalidInput, TooManyRequests
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "passwords_differ": N_("The two new passwords differ."),
})


REQUIRED = problem("required")


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(REQUIRED), Length(max=256, message=problem("length_max", max=256))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), Length(
        max=passwords.MAX_LENGTH, message=problem("length_max", max=passwords.MAX_LENGTH))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(REQUIRED), EqualTo("new_password", message=problem("passwords_differ"))])


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    status = 200
    forced = current_user.must_change_password
    if form.validate_on_submit():
        try:
            revoked = identity.change_password(page_actor(), form.current_password.data, form.new_password.data,
                                               limits=throttle.Limits.from_config(current_app.config), now=utcnow())
        except InvalidInput as exc:
            for name, problems in (exc.fields or {}).items():
                getattr(form, name).errors = list(problems)
            status = 422
        except TooManyRequests as exc:
            form.current_password.errors = [exc.message]
            status = 429
        else:
            login_user(current_user._get_current_object())  # the session follows the new password
            start_session()
            flash(_("Your password has been changed.") + (" " + _("%(n)s API tokens were revoked.", n=revoked)
                                                          if revoked else ""), "success")
            return redirect(url_for(landing(current_user)) if forced else url_for("account.password"))
    elif form.is_submitted():
        status = 422
    return render_template("account/password.html", form=form, min_length=passwords.MIN_LENGTH,
                           forced=forced), status


@bp.get("/tokens")
@login_required
def token_list():
    now = utcnow()
    rows = tokens.list_for(current_user, now)
    return render_template("account/tokens.html", rows=rows, now=now, status=tokens.status)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    tokens.revoke(page_actor(), token_id, utcnow())
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("account.token_list"))
