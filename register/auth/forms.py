"""Forms check the shape of what was typed; services check everything else."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from register.auth.passwords import MAX_LENGTH, password_problems


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email_field(label="Email address"):
    return EmailField(
        label,
        filters=[_strip],
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254, message="An email address can be at most 254 characters."),
            Email("Enter an email address like name@example.org.", check_deliverability=False),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class _NewPasswordMixin:
    """Applies the password rules as the person types and when the form is sent."""

    # Set by the view when the form itself does not ask for them (reset, change).
    account_email = ""
    account_name = ""

    def validate_password(self, field):
        email = self.account_email or getattr(getattr(self, "email", None), "data", None) or ""
        name = self.account_name or getattr(getattr(self, "name", None), "data", None) or ""
        problems = password_problems(field.data or "", email=email, name=name)
        if problems:
            raise ValidationError(problems[0])


class SignupForm(_NewPasswordMixin, FlaskForm):
    name = StringField(
        "Full name",
        filters=[_strip],
        validators=[
            DataRequired("Enter your name."),
            Length(max=120, message="A name can be at most 120 characters."),
        ],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field()
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password.")],
        description="At least 10 characters. A few unrelated words make a strong one.",
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password.")],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(_NewPasswordMixin, FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a new password.")],
        description="At least 10 characters. A few unrelated words make a strong one.",
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )


class ChangePasswordForm(ResetPasswordForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )


class ChangeEmailForm(FlaskForm):
    email = _email_field("New email address")
    # Its own id: the account page shows three forms that each ask for the password.
    current_password = PasswordField(
        "Current password",
        id="email-current-password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password to confirm.")],
        render_kw={"autocomplete": "current-password"},
    )


class ConfirmForm(FlaskForm):
    """An empty form: a button and its CSRF token, for actions confirmed by a click."""


class EndSessionsForm(FlaskForm):
    """Log out chosen sessions elsewhere; the password is asked again, so someone holding
    a stolen session cannot shut the owner out. The sessions are the `session` checkboxes."""

    current_password = PasswordField(
        "Your password",
        id="sessions-current-password",
        validators=[DataRequired("Enter your password to log those sessions out.")],
        render_kw={"autocomplete": "current-password"},
    )
