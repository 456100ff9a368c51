"""Sessions the server can end: one LoginSession row per logged-in browser.

The browser's session (and remember-me) cookie carries "user id:secret"; the
row keeps the secret's hash, when the session was last used and when it must
end. Flask-Login's user loader asks `user_for()` on every request, so a
session ended here stops working at once, even in a cookie copied earlier.

Lifetimes: an ordinary session ends after SESSION_IDLE_MINUTES without a
request or SESSION_ABSOLUTE_HOURS after login, whichever comes first; a
remembered one ("keep me logged in") ends REMEMBER_DAYS after login.

Functions here flush, never commit, except the touch that records a session's
last use, which is its own small transaction (see `_touch`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import joinedload

from register.auth.models import LoginSession, User
from register.database import utcnow, writing
from register.extensions import db


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(identifier: str | None) -> tuple[int, str] | None:
    user_id, _, secret = (identifier or "").partition(":")
    if not user_id.isdigit() or len(secret) < 20:
        return None
    return int(user_id), secret


def _lifetimes() -> tuple[timedelta, timedelta, timedelta]:
    config = current_app.config
    return (timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
            timedelta(days=config["REMEMBER_DAYS"]))


def start(user: User, *, remember: bool = False, user_agent: str | None = None,
          now: datetime | None = None) -> str:
    """Open a session for `user`; returns the identifier Flask-Login keeps in the cookie."""
    now = now or utcnow()
    _, absolute, remembered = _lifetimes()
    # The person's sessions that can never be used again go, so rows do not pile up.
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id,
        or_(LoginSession.ended_at.is_not(None), LoginSession.expires_at <= now)))
    secret = secrets.token_urlsafe(32)
    db.session.add(LoginSession(
        user_id=user.id, secret_hash=_digest(secret), remember=remember, created_at=now,
        last_seen_at=now, expires_at=now + (remembered if remember else absolute),
        user_agent=(user_agent or "")[:200] or None,
    ))
    db.session.flush()
    user.login_secret = secret
    return user.get_id()


def _live(record: LoginSession | None, now: datetime) -> bool:
    if record is None or record.ended_at is not None or record.expires_at <= now:
        return False
    idle, _, remembered = _lifetimes()
    return record.last_seen_at + (remembered if record.remember else idle) > now


def user_for(identifier: str | None, *, now: datetime | None = None) -> User | None:
    """The person whose live session this identifier names, or None; records the visit."""
    parts = _split(identifier)
    if parts is None:
        return None
    user_id, secret = parts
    now = now or utcnow()
    record = db.session.scalar(select(LoginSession).options(joinedload(LoginSession.user))
                               .where(LoginSession.secret_hash == _digest(secret)))
    if record is None or record.user_id != user_id or not _live(record, now):
        return None
    user = record.user
    if not user.is_active:
        return None
    if now - record.last_seen_at >= timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"]):
        _touch(record, now)
    user.login_secret = secret
    return user


def _touch(record: LoginSession, now: datetime) -> None:
    # The idle clock needs a write, but most requests are reads that must not
    # take SQLite's write lock for it, so it is written at most once a minute,
    # in a short transaction of its own. Only when this request already holds
    # the write lock (a POST on SQLite) does it ride along with the request's
    # commit instead of waiting on itself.
    session = db.session()
    if (session.in_transaction() and session.get_bind().dialect.name == "sqlite"
            and _holds_write_lock()):
        record.last_seen_at = now
        return
    statement = (update(LoginSession).where(LoginSession.id == record.id)
                 .values(last_seen_at=now))
    with writing(), db.engine.begin() as connection:
        connection.execute(statement)


def _holds_write_lock() -> bool:
    # Mirrors register.database: requests that change state, and all work
    # outside a request, begin their SQLite transactions with the write lock.
    from flask import has_request_context, request

    from register.database import SAFE_METHODS

    return not has_request_context() or request.method not in SAFE_METHODS


def current_identifier() -> str | None:
    """The identifier of the session making this request, if any."""
    from flask import session

    return session.get("_user_id")


def end(identifier: str | None, *, now: datetime | None = None) -> None:
    """End the session this identifier names (logging out)."""
    parts = _split(identifier)
    if parts is None:
        return
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.secret_hash == _digest(parts[1]), LoginSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def end_all(user: User, *, keep: str | None = None, now: datetime | None = None) -> int:
    """End every session of `user` but the one `keep` names; returns how many ended."""
    return _end(user, keep=keep, now=now)


def _end(user: User, *conditions, keep: str | None, now: datetime | None) -> int:
    """End `user`'s open sessions that meet `conditions`, never the one `keep` names."""
    statement = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None), *conditions)
    parts = _split(keep)
    if parts is not None:
        statement = statement.where(LoginSession.secret_hash != _digest(parts[1]))
    ended = db.session.execute(statement.values(ended_at=now or utcnow())
                               .execution_options(synchronize_session=False))
    return ended.rowcount


def live_sessions(user: User, *, now: datetime | None = None) -> list[LoginSession]:
    """The sessions of `user` still open, newest first, for the account page."""
    now = now or utcnow()
    found = db.session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
        LoginSession.expires_at > now).order_by(LoginSession.last_seen_at.desc()))
    return [record for record in found if _live(record, now)]


def end_chosen(user: User, ids: list[int], *, keep: str | None = None,
               now: datetime | None = None) -> int:
    """End those of `user`'s sessions whose ids are given, never the one `keep` names."""
    if not ids:
        return 0
    return _end(user, LoginSession.id.in_(ids), keep=keep, now=now)


def is_current(record: LoginSession, identifier: str | None) -> bool:
    """True when `record` is the session `identifier` names (this browser's)."""
    parts = _split(identifier)
    return parts is not None and record.secret_hash == _digest(parts[1])


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def device(record: LoginSession) -> str:
    """A few words naming the browser and system a session was opened from."""
    agent = record.user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "A browser")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    return f"{browser} on {system}" if system else browser
