"""Single-use, expiring tokens for links we email.

The link carries a random secret, signed with the app's key so a forged or
mangled link is refused before the database is asked. Only the secret's hash
is stored; the row says what it is for, whom, until when, and whether it has
been used.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, Signer
from sqlalchemy import select, update

from register.auth.models import EmailToken, User
from register.database import utcnow
from register.extensions import db

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"
CHANGE_EMAIL = "change-email"
INVITATION = "invitation"
CANCEL_EMAIL_CHANGE = "cancel-email-change"

LIFETIMES = {
    VERIFY_EMAIL: timedelta(hours=48),
    RESET_PASSWORD: timedelta(hours=1),
    CHANGE_EMAIL: timedelta(hours=48),
    INVITATION: timedelta(days=14),
    CANCEL_EMAIL_CHANGE: timedelta(hours=48),
}


class TokenError(Exception):
    """The link cannot be used; the message says why, in words for the person holding it."""


def _signer(purpose: str) -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=f"register.{purpose}")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(user: User, purpose: str, *, new_email: str | None = None) -> str:
    """Create a token for `user` and return the signed string to put in a link."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        EmailToken(
            user=user,
            purpose=purpose,
            secret_hash=_digest(secret),
            new_email=new_email,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    db.session.flush()
    return _signer(purpose).sign(secret).decode()


def peek(signed: str, purpose: str) -> EmailToken:
    """The token a link stands for, if it can still be used; raises TokenError if not."""
    try:
        secret = _signer(purpose).unsign(signed).decode()
    except (BadSignature, UnicodeDecodeError) as error:
        raise TokenError("This link is not valid. Check that you copied all of it.") from error
    token = db.session.scalar(
        select(EmailToken).where(
            EmailToken.secret_hash == _digest(secret), EmailToken.purpose == purpose
        )
    )
    if token is None:
        raise TokenError("This link is not valid. Check that you copied all of it.")
    if token.used_at is not None:
        raise TokenError("This link has already been used.")
    if token.expires_at <= utcnow():
        raise TokenError("This link has expired.")
    if not token.user.is_active:
        raise TokenError("This link is not valid.")
    return token


def redeem(signed: str, purpose: str) -> EmailToken:
    """Check the token and mark it used, in the caller's transaction."""
    token = peek(signed, purpose)
    # A conditional update, so two clicks racing each other cannot both succeed.
    used = db.session.execute(
        update(EmailToken)
        .where(EmailToken.id == token.id, EmailToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if used.rowcount != 1:
        raise TokenError("This link has already been used.")
    return token


def void(user: User, *purposes: str) -> None:
    """Make every unused token of these purposes for `user` unusable."""
    db.session.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user.id,
            EmailToken.purpose.in_(purposes),
            EmailToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
