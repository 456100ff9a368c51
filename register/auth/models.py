"""Accounts, the one-time tokens we email, and the record of login failures."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.database import UTCDateTime, utcnow
from register.extensions import db


class User(UserMixin, db.Model):
    """A person with an account: mentee, mentor, administrator, or several of these."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # None for accounts that were imported and not yet claimed, and after deletion.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Bumped when the password changes: every session and remember-me cookie
    # carries it, so the old ones stop working.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tokens: Mapped[list[EmailToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # The secret of the LoginSession this request runs in (not stored here):
    # set by register.auth.sessions when a session starts or is recognised.
    login_secret = None

    def get_id(self) -> str:
        """Flask-Login's identifier: the id and this browser's session secret together."""
        return f"{self.id}:{self.login_secret or ''}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.deleted_at is None

    @property
    def verified(self) -> bool:
        """True once the person has proved they read mail at this address."""
        return self.email_verified_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class EmailToken(db.Model):
    """A single-use token sent by email: verify an address, reset a password, change email.

    Only a hash of the secret is stored, so a copy of the database cannot be
    used to take over accounts.
    """

    __tablename__ = "email_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # For an email change: the address being verified.
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginAttempt(db.Model):
    """One failed login, kept briefly so throttling works across worker processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_created", "email", "created_at"),
        Index("ix_login_attempt_address_created", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginSession(db.Model):
    """One logged-in browser, so a session can be ended on the server.

    The browser's cookie carries a random secret; only its hash is stored.
    A session ends when its owner logs out (this one) or everywhere (all),
    when the password changes (all the others), when it has been idle too
    long, or when it reaches its absolute lifetime, whatever the cookie says.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A hint for the person reviewing their sessions, cut short; never used to decide.
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class MenteeAndMentor:
    """For a row between a mentee and a mentor (a request, a mentorship): which of the
    two a person is. The row has `mentee_id` and `mentor_id` columns."""

    def party(self, user) -> str | None:
        """'mentee' or 'mentor' when `user` is one of the two, else None."""
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if user.id == self.mentee_id:
            return "mentee"
        if user.id == self.mentor_id:
            return "mentor"
        return None
