"""One function per email the register sends. Each queues a text and an HTML body."""

from __future__ import annotations

from flask import url_for

from register.auth.models import User
from register.mail.outbox import queue_email


def verify_email(user: User, token: str) -> None:
    """Ask a new account holder to confirm their address."""
    url = url_for("auth.verify_email", token=token, _external=True)
    queue_email(
        "verify-email",
        to=user.email,
        name=user.name,
        subject="Confirm your email address for Mentor Register",
        template="verify_email",
        user=user,
        url=url,
    )


def reset_password(user: User, token: str) -> None:
    """Send the link that lets someone choose a new password."""
    url = url_for("auth.reset_password", token=token, _external=True)
    queue_email(
        "reset-password",
        to=user.email,
        name=user.name,
        subject="Reset your Mentor Register password",
        template="reset_password",
        user=user,
        url=url,
    )


def confirm_new_email(user: User, new_email: str, token: str) -> None:
    """Ask the person to confirm a new address, sent to that new address."""
    url = url_for("auth.confirm_email_change", token=token, _external=True)
    queue_email(
        "confirm-new-email",
        to=new_email,
        name=user.name,
        subject="Confirm your new email address for Mentor Register",
        template="confirm_new_email",
        user=user,
        new_email=new_email,
        url=url,
    )


def email_changed(user: User, old_email: str) -> None:
    """Tell the old address that the account now uses another one."""
    queue_email(
        "email-changed",
        to=old_email,
        name=user.name,
        subject="Your Mentor Register email address was changed",
        template="email_changed",
        user=user,
        old_email=old_email,
    )


def password_changed(user: User) -> None:
    """Tell the account holder their password changed, in case it was not them."""
    queue_email(
        "password-changed",
        to=user.email,
        name=user.name,
        subject="Your Mentor Register password was changed",
        template="password_changed",
        user=user,
    )


def account_exists(user: User) -> None:
    """Someone tried to sign up with an address that already has an account.

    Sent instead of an error on the sign-up page, so the page never tells a
    stranger which addresses are registered.
    """
    queue_email(
        "account-exists",
        to=user.email,
        name=user.name,
        subject="You already have a Mentor Register account",
        template="account_exists",
        user=user,
        login_url=url_for("auth.login", _external=True),
        reset_url=url_for("auth.forgot_password", _external=True),
    )


def _profile_email(kind: str, profile, subject: str, template: str, **context) -> None:
    user = profile.user
    queue_email(
        kind,
        to=user.email,
        name=profile.display_name or user.name,
        subject=subject,
        template=template,
        profile=profile,
        editor_url=url_for("mentors.edit_profile", _external=True),
        profile_url=url_for("mentors.profile", profile_id=profile.id, _external=True),
        **context,
    )


def profile_approved(profile, message: str) -> None:
    """Tell a mentor their profile is now on the register."""
    _profile_email("profile-approved", profile, "Your mentor profile is now on the register",
                   "profile_approved", message=message)


def profile_changes_requested(profile, note: str) -> None:
    """Tell a mentor what the coordinators want changed before publishing."""
    _profile_email("profile-changes-requested", profile,
                   "Changes requested to your mentor profile", "profile_changes_requested",
                   note=note)


def profile_rejected(profile, reason: str) -> None:
    """Tell a mentor their profile will not be published, and why."""
    _profile_email("profile-rejected", profile, "Your mentor profile was not accepted",
                   "profile_rejected", reason=reason)


def profile_suspended(profile, reason: str) -> None:
    """Tell a mentor their profile has been taken off the register, and why."""
    _profile_email("profile-suspended", profile, "Your mentor profile has been suspended",
                   "profile_suspended", reason=reason)


def profile_reinstated(profile, reason: str) -> None:
    """Tell a mentor their profile is back on the register."""
    _profile_email("profile-reinstated", profile, "Your mentor profile is back on the register",
                   "profile_reinstated", reason=reason)


def invitation(user: User, profile, token: str) -> None:
    """Invite someone whose profile was imported to claim it by choosing a password."""
    queue_email(
        "invitation",
        to=user.email,
        name=user.name,
        subject="Your mentor profile on Mentor Register: set your password",
        template="invitation",
        profile=profile,
        url=url_for("auth.claim_account", token=token, _external=True),
    )
