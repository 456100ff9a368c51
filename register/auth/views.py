"""Account pages. Each view parses the form, calls one service, and commits."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import (
    AnonymousUserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from register.auth import bp, events, services, sessions, tokens
from register.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ConfirmForm,
    DeleteAccountForm,
    EndSessionsForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from register.auth.models import User
from register.extensions import db, limiter, login_manager
from register.web import error_response, log_outage, render, safe_next

# Pages that send email are limited per client address, so nobody can use
# the register to flood an inbox.
EMAIL_SENDING_LIMIT = "5 per minute;30 per hour"


@login_manager.user_loader
def _load_user(identifier: str) -> User | None:
    # Every request: the cookie's session must still be open on the server.
    return sessions.user_for(identifier)


@bp.before_app_request
def _recognise_the_session():
    # Look the session up before the view starts its own transaction, so the
    # record of its last use is written on its own (see sessions._touch).
    if request.endpoint == "static":
        return
    try:
        current_user._get_current_object()
    except (OperationalError, SQLAlchemyTimeoutError) as error:
        # The database is away: carry on as a visitor, so pages that need no
        # database (search) still answer; anything that does will say 503.
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.invalidate()
        log_outage(error)
        g._login_user = AnonymousUserMixin()


def _start_session(user: User, remember: bool = False) -> None:
    """Open a server-side session and log the browser in; the caller commits after."""
    # A fresh session at login: nothing set before it (by anyone) carries over,
    # and a session this browser had before ends on the server too.
    sessions.end(sessions.current_identifier())
    session.clear()
    sessions.start(user, remember=remember, user_agent=request.user_agent.string)
    # The remember-me cookie lasts REMEMBER_COOKIE_DURATION, as long as the row.
    login_user(user, remember=remember)


# Sign up -------------------------------------------------------------------


@bp.route("/auth/register", methods=["GET", "POST"])
@limiter.limit(EMAIL_SENDING_LIMIT, methods=["POST"])
def register():
    """Create an account; the same answer whether or not the address was known."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            services.register_user(form.name.data, form.email.data, form.password.data)
        except services.AuthError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            session["signup_email"] = services.normalise_email(form.email.data)
            return redirect(url_for("auth.check_email"))
    return render("auth/register.html", form=form, status=422 if form.errors else 200)


@bp.post("/auth/register/validate/<field>")
def validate_signup_field(field: str):
    """Inline validation: the error (or nothing) for one sign-up field.

    Only the shape of the input is judged, never whether an address has an
    account, so this cannot be used to find out who is registered.
    """
    form = SignupForm()
    if field not in {"name", "email", "password"}:
        abort(404)
    form.validate()
    return render("auth/_field_error_text.html", f=form[field])


@bp.get("/auth/check-email")
def check_email():
    """Tell the person where to look for the link we sent."""
    return render("auth/check_email.html", email=session.get("signup_email"))


@bp.route("/auth/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """Confirm an address: the link shows a button, the button confirms.

    Confirming by POST means a mail scanner that fetches the link does not
    use it up.
    """
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user = services.verify_email(token)
        except tokens.TokenError as error:
            db.session.rollback()
            return _token_problem(error, resend=True)
        if not current_user.is_authenticated or current_user.id != user.id:
            _start_session(user)
        db.session.commit()
        flash("Thank you: your email address is confirmed.", "success")
        return redirect(url_for("auth.account"))
    try:
        found = tokens.peek(token, tokens.VERIFY_EMAIL)
    except tokens.TokenError as error:
        return _token_problem(error, resend=True)
    return render("auth/verify.html", form=form, email=found.user.email)


def _token_problem(error: tokens.TokenError, *, resend: bool = False, reset: bool = False):
    return render(
        "auth/token_problem.html", status=400, message=str(error), resend=resend, reset=reset
    )


@bp.post("/auth/verify/resend")
@login_required
@limiter.limit(EMAIL_SENDING_LIMIT)
def resend_verification():
    """Send a new verification link to the logged-in person."""
    try:
        services.resend_verification(current_user)
    except services.AuthError as error:
        db.session.rollback()
        flash(error.message, "info")
    else:
        db.session.commit()
        flash(f"We have sent a new link to {current_user.email}.", "success")
    return redirect(url_for("auth.account"))


# Log in and out ----------------------------------------------------------


@bp.route("/auth/login", methods=["GET", "POST"])
def login():
    """Log in with email and password; throttled per account and per address."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data, form.password.data, address=request.remote_addr or "unknown"
            )
        except services.Throttled as error:
            db.session.rollback()
            events.log("login-throttled", level=logging.WARNING)
            form.form_errors.append(error.message)
            response = render("auth/login.html", form=form, status=429)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except services.AuthError as error:
            db.session.commit()  # keep the record of the failure: it feeds the throttle
            events.log("login-failed", level=logging.WARNING)
            form.form_errors.append(error.message)
            return render("auth/login.html", form=form, status=422)
        _start_session(user, remember=form.remember.data)
        db.session.commit()
        events.log("login", user, remember=bool(form.remember.data))
        return redirect(safe_next(form.next.data))
    return render("auth/login.html", form=form, status=422 if form.errors else 200)


@bp.route("/auth/logout", methods=["GET", "POST"])
def logout():
    """Log out. A GET only asks, so a link or a prefetch cannot log anyone out."""
    form = ConfirmForm()
    if form.validate_on_submit():
        sessions.end(sessions.current_identifier())
        db.session.commit()
        if current_user.is_authenticated:
            events.log("logout", current_user)
        logout_user()
        session.clear()
        flash("You have logged out.", "success")
        return redirect(url_for("main.index"))
    if not current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render("auth/logout.html", form=form)


# Forgotten password -------------------------------------------------------


@bp.route("/auth/forgot-password", methods=["GET", "POST"])
@limiter.limit(EMAIL_SENDING_LIMIT, methods=["POST"])
def forgot_password():
    """Ask for a reset link. The answer never says whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render("auth/reset_sent.html", email=services.normalise_email(form.email.data))
    return render("auth/forgot_password.html", form=form, status=422 if form.errors else 200)


@bp.route("/auth/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through the emailed link."""
    return _choose_password(token, tokens.RESET_PASSWORD, "Choose a new password")


@bp.route("/auth/welcome/<token>", methods=["GET", "POST"])
def claim_account(token: str):
    """An imported mentor claims their account by choosing a first password."""
    return _choose_password(token, tokens.INVITATION, "Choose a password for your account")


def _choose_password(token: str, purpose: str, heading: str):
    try:
        found = tokens.peek(token, purpose)
    except tokens.TokenError as error:
        return _token_problem(error, reset=True)
    form = ResetPasswordForm()
    form.account_email, form.account_name = found.user.email, found.user.name
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.password.data, purpose)
        except tokens.TokenError as error:
            db.session.rollback()
            return _token_problem(error, reset=True)
        except services.AuthError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            _start_session(user)
            db.session.commit()
            events.log("password-reset", user, through=purpose)
            flash("Your password has been changed and you are logged in.", "success")
            return redirect(url_for("auth.account"))
    return render("auth/reset_password.html", form=form, heading=heading,
                  status=422 if form.errors else 200)


# Account settings ----------------------------------------------------------


@bp.get("/account")
@login_required
def account():
    """Settings: email, password, verification, and deleting the account."""
    return _settings(ChangeEmailForm(formdata=None), ChangePasswordForm(formdata=None))


def _settings(email_form, password_form, status: int = 200, sessions_form=None):
    identifier = sessions.current_identifier()
    open_sessions = [
        {"id": record.id, "device": sessions.device(record), "started": record.created_at,
         "last_seen": record.last_seen_at, "current": sessions.is_current(record, identifier)}
        for record in sessions.live_sessions(current_user)]
    return render("account/settings.html", email_form=email_form, password_form=password_form,
                  logout_form=ConfirmForm(formdata=None), open_sessions=open_sessions,
                  sessions_form=sessions_form or EndSessionsForm(formdata=None), status=status)


@bp.post("/account/password")
@login_required
def change_password():
    """Change the password; every other session and remember-me cookie ends."""
    form = ChangePasswordForm()
    form.account_email, form.account_name = current_user.email, current_user.name
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except services.AuthError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            _start_session(current_user._get_current_object(),
                           remember=remembered in request.cookies)
            db.session.commit()
            events.log("password-changed", current_user)
            flash("Your password has been changed. Other devices have been logged out.",
                  "success")
            return redirect(url_for("auth.account"))
    return _settings(ChangeEmailForm(formdata=None), form, status=422)


@bp.post("/account/email")
@login_required
@limiter.limit(EMAIL_SENDING_LIMIT)
def change_email():
    """Start an email change: a link goes to the new address."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(current_user, form.current_password.data,
                                          form.email.data)
        except services.AuthError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            events.log("email-change-requested", current_user)
            flash(f"We have sent a link to {services.normalise_email(form.email.data)}. Your "
                  "address changes when you follow it.", "success")
            return redirect(url_for("auth.account"))
    return _settings(form, ChangePasswordForm(formdata=None), status=422)


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str):
    """Finish an email change from the link sent to the new address."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            changed = services.confirm_email_change(token)
        except (tokens.TokenError, services.AuthError) as error:
            db.session.rollback()
            return _token_problem(tokens.TokenError(str(error)))
        db.session.commit()
        events.log("email-changed", changed)
        flash("Your email address has been changed.", "success")
        return redirect(url_for("auth.account") if current_user.is_authenticated
                        else url_for("auth.login"))
    try:
        found = tokens.peek(token, tokens.CHANGE_EMAIL)
    except tokens.TokenError as error:
        return _token_problem(error)
    return render("account/confirm_email.html", form=form, new_email=found.new_email)


@bp.route("/account/email/cancel/<token>", methods=["GET", "POST"])
def cancel_email_change(token: str):
    """Stop an email change from the link sent to the address in use."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            stopped = services.cancel_email_change(token)
        except tokens.TokenError as error:
            db.session.rollback()
            return _token_problem(error)
        db.session.commit()
        events.log("email-change-stopped", level=logging.WARNING, in_time=stopped)
        logout_user()
        session.clear()
        if not stopped:
            return render("account/email_change_too_late.html", status=409)
        flash("The email change is stopped and your account is logged out everywhere. If you "
              "did not ask for it, choose a new password now.", "success")
        return redirect(url_for("auth.forgot_password"))
    try:
        found = tokens.peek(token, tokens.CANCEL_EMAIL_CHANGE)
    except tokens.TokenError as error:
        return _token_problem(error)
    return render("account/cancel_email_change.html", form=form, email=found.user.email)


@bp.post("/account/sessions/end-chosen")
@login_required
def end_chosen_sessions():
    """Log out the sessions chosen on the account page (never this one)."""
    form = EndSessionsForm()
    if form.validate_on_submit():
        ids = [int(value) for value in request.form.getlist("session") if value.isdigit()]
        try:
            ended = services.end_other_sessions(current_user, form.current_password.data, ids,
                                                keep=sessions.current_identifier())
        except services.AuthError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            events.log("sessions-ended", current_user, count=ended)
            flash(f"Logged out {ended} other session{'s' if ended != 1 else ''}.", "success")
            return redirect(url_for("auth.account"))
    return _settings(ChangeEmailForm(formdata=None), ChangePasswordForm(formdata=None),
                     status=422, sessions_form=form)


@bp.post("/account/sessions/end")
@login_required
def log_out_everywhere():
    """End every session of this account, this one included."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    ended = sessions.end_all(current_user)
    db.session.commit()
    events.log("sessions-ended", current_user, count=ended, everywhere=True)
    logout_user()
    session.clear()
    flash(f"You have logged out on every device ({ended} session{'s' if ended != 1 else ''}).",
          "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    """Delete the account after the password is given again."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_account(current_user, form.password.data)
        except services.AuthError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            events.log("account-deleted", current_user)
            logout_user()
            session.clear()
            flash("Your account has been deleted. Thank you for taking part.", "success")
            return redirect(url_for("main.index"))
    return render("account/delete.html", form=form, status=422 if form.errors else 200)


@bp.errorhandler(429)
def _too_many(error):
    return error_response(
        429,
        "You have asked for this too often in a short time. Wait a few minutes and try "
        "again; anything we already sent is on its way.",
        {"Retry-After": str(int(getattr(error, "retry_after", 60) or 60))},
    )
