"""The rules for accounts: signing up, proving an address, logging in, and the rest.

Functions here change the session and flush; the caller commits. A rule that
is broken raises AuthError with a message meant for the person, and the
field it concerns when there is one.
"""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from register.auth import sessions, tokens
from register.auth.models import EmailToken, LoginAttempt, User
from register.auth.passwords import (
    check_password,
    hash_password,
    needs_rehash,
    password_problems,
    spend_hashing_time,
)
from register.database import utcnow
from register.errors import RuleBroken
from register.extensions import db
from register.mail import messages
from register.mail.models import OutboxMessage

WRONG_CREDENTIALS = "The email address or password is not right. Check both and try again."


class AuthError(RuleBroken):
    """A rule about accounts was broken."""


class Throttled(AuthError):
    """Too many failed attempts; `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def normalise_email(email: str) -> str:
    """The form in which we store and compare addresses."""
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The live account with this address, if any."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _set_password(user: User, password: str) -> None:
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise AuthError(problems[0], field="password")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    if user.id is not None:
        # Whoever held the old password may have left sessions open or links
        # waiting (an email change to their own address): all of them end.
        sessions.end_all(user)
        tokens.void(user, tokens.RESET_PASSWORD, tokens.INVITATION, tokens.CHANGE_EMAIL,
                    tokens.VERIFY_EMAIL, tokens.CANCEL_EMAIL_CHANGE)


def register_user(name: str, email: str, password: str) -> User | None:
    """Create an account and send the verification email.

    Returns None when the address already has an account: its owner is told by
    email instead, and the caller answers exactly as for a new account.
    """
    email = normalise_email(email)
    problems = password_problems(password, email=email, name=name.strip())
    if problems:
        raise AuthError(problems[0], field="password")
    existing = find_user(email)
    if existing is not None:
        # The same hashing work as a new account, so the time taken says nothing.
        spend_hashing_time(password)
        if existing.password_hash is None:
            # An imported, unclaimed account: let its owner claim it by resetting.
            messages.reset_password(existing, tokens.issue(existing, tokens.RESET_PASSWORD))
        else:
            messages.account_exists(existing)
        return None
    user = User(name=name.strip(), email=email)
    user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    messages.verify_email(user, tokens.issue(user, tokens.VERIFY_EMAIL))
    return user


def resend_verification(user: User) -> None:
    """Send a fresh verification link; earlier ones stop working."""
    if user.verified:
        raise AuthError("Your email address is already confirmed.")
    tokens.void(user, tokens.VERIFY_EMAIL)
    messages.verify_email(user, tokens.issue(user, tokens.VERIFY_EMAIL))


def verify_email(signed_token: str) -> User:
    """Confirm the address the token was sent to."""
    token = tokens.redeem(signed_token, tokens.VERIFY_EMAIL)
    user = token.user
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


def check_login_allowed(email: str, address: str) -> None:
    """Raise Throttled when this account has failed too often lately from this address,
    this address has failed too often on any accounts, or the account has failed far too
    often from everywhere.

    The tight limit is per account *and* address, so a stranger guessing from
    elsewhere cannot lock the owner out; the account-wide limit ramps up more
    slowly (many more failures, over a longer window) and only stops guessing
    spread over many addresses.
    """
    config = current_app.config
    email = normalise_email(email)
    now = utcnow()
    pair_window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    account_window = timedelta(minutes=config["LOGIN_ACCOUNT_WINDOW_MINUTES"])
    for conditions, limit, window in (
        ((LoginAttempt.email == email, LoginAttempt.address == address),
         config["LOGIN_MAX_FAILURES_PER_PAIR"], pair_window),
        ((LoginAttempt.address == address,), config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
         pair_window),
        ((LoginAttempt.email == email,), config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
         account_window),
    ):
        count, oldest = db.session.execute(
            select(func.count(), func.min(LoginAttempt.created_at)).where(
                *conditions, LoginAttempt.created_at >= now - window
            )
        ).one()
        if count >= limit:
            wait = max(1, math.ceil((oldest + window - now).total_seconds()))
            minutes = max(1, math.ceil(wait / 60))
            raise Throttled(
                "Too many unsuccessful attempts to log in. For your security, wait "
                f"{minutes} minute{'s' if minutes != 1 else ''} and try again, "
                "or reset your password.",
                retry_after=wait,
            )


def authenticate(email: str, password: str, *, address: str) -> User:
    """The user these credentials belong to; records failures and enforces the throttle."""
    email = normalise_email(email)
    address = address[:64]
    check_login_allowed(email, address)
    user = find_user(email)
    # The password is checked whether or not the account exists (against a
    # stand-in hash if not), so the time taken does not reveal which do.
    matches = check_password(user.password_hash if user else None, password)
    if user is None or not user.is_active or not matches:
        db.session.add(LoginAttempt(email=email, address=address[:64]))
        db.session.flush()
        raise AuthError(WRONG_CREDENTIALS)
    # Only this address's failures are forgiven: a stranger's guesses from
    # elsewhere still count towards the account-wide limit.
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email,
                                                  LoginAttempt.address == address[:64]))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if the address has an account; say nothing either way."""
    user = find_user(email)
    if user is None or not user.is_active:
        return
    messages.reset_password(user, tokens.issue(user, tokens.RESET_PASSWORD))


def reset_password(signed_token: str, new_password: str,
                   purpose: str = tokens.RESET_PASSWORD) -> User:
    """Set a new password through a reset or invitation link, which is then used up."""
    token = tokens.peek(signed_token, purpose)
    user = token.user
    _set_password(user, new_password)  # voids this token along with the others
    # A reset link proves the person reads mail at this address.
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    messages.password_changed(user)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one."""
    if not check_password(user.password_hash, current_password):
        raise AuthError("Your current password is not right.", field="current_password")
    if current_password == new_password:
        raise AuthError("Choose a password different from your current one.", field="password")
    _set_password(user, new_password)
    messages.password_changed(user)


def request_email_change(user: User, current_password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; the change happens when it is followed."""
    if not check_password(user.password_hash, current_password):
        raise AuthError("Your current password is not right.", field="current_password")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise AuthError("This is already your email address.", field="email")
    tokens.void(user, tokens.CHANGE_EMAIL, tokens.CANCEL_EMAIL_CHANGE)
    # The address in use now hears of it at once, with a way to stop it, in
    # case the request came from someone else in this account.
    # The token remembers the address it was sent to, so following it after the
    # change went through is recognised.
    messages.email_change_requested(user, new_email, tokens.issue(
        user, tokens.CANCEL_EMAIL_CHANGE, new_email=user.email))
    if find_user(new_email) is not None:
        # Do not reveal that the address is taken; the confirmation will explain.
        return
    messages.confirm_new_email(user, new_email, tokens.issue(user, tokens.CHANGE_EMAIL,
                                                             new_email=new_email))


def end_other_sessions(user: User, password: str, ids: list[int], *, keep: str | None) -> int:
    """Log out the chosen sessions of `user` elsewhere, after checking the password again."""
    if not check_password(user.password_hash, password):
        raise AuthError("Your password is not right.", field="current_password")
    if not ids:
        raise AuthError("Choose at least one session to log out.")
    return sessions.end_chosen(user, ids, keep=keep)


def cancel_email_change(signed_token: str) -> bool:
    """Stop a pending email change from the link sent to the address in use.

    Someone else may have asked for it from inside the account, so every
    session ends too. False when it is too late: the address had already
    changed (the sessions still end, and the person is told whom to ask).
    """
    token = tokens.redeem(signed_token, tokens.CANCEL_EMAIL_CHANGE)
    user = token.user
    tokens.void(user, tokens.CHANGE_EMAIL)
    sessions.end_all(user)
    return token.new_email is None or user.email == token.new_email


def confirm_email_change(signed_token: str) -> User:
    """Switch the account to the new address once the link sent there is followed."""
    token = tokens.redeem(signed_token, tokens.CHANGE_EMAIL)
    user = token.user
    if find_user(token.new_email) is not None:
        raise AuthError("Another account now uses that email address, so it cannot be yours too.")
    old_email = user.email
    user.email = token.new_email
    user.email_verified_at = utcnow()
    messages.email_changed(user, old_email)
    return user


def delete_account(user: User, password: str) -> None:
    """Remove the person's data; keep an anonymous row so figures still add up."""
    if not check_password(user.password_hash, password):
        raise AuthError("Your password is not right.", field="password")
    _leave_the_register(user)
    email = user.email
    db.session.execute(delete(EmailToken).where(EmailToken.user_id == user.id))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == email))
    user.name = "Deleted account"
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.password_hash = None
    user.is_admin = False
    user.deleted_at = utcnow()
    sessions.end_all(user)


def _leave_the_register(user: User) -> None:
    # Before the name and address go: the people waiting on this account are
    # told, its profile leaves the register, and its mentorships end. Requests,
    # profiles and mentorships live in areas above this one, which listen
    # (register/signals.py).
    from register import signals

    signals.account_leaving.send(user)


def create_admin(email: str, *, name: str | None = None, password: str | None = None
                 ) -> tuple[User, bool]:
    """Promote the account with this address, or create it; True when created.

    A new administrator needs a password; the operator running the command
    vouches for the address, so it counts as verified.
    """
    email = normalise_email(email)
    user = find_user(email)
    created = user is None
    if created:
        if not password:
            raise AuthError("A new administrator needs a password.", field="password")
        user = User(email=email, name=(name or email.partition("@")[0]).strip())
        _set_password(user, password)
        user.email_verified_at = utcnow()
        db.session.add(user)
    user.is_admin = True
    db.session.flush()
    return user, created
