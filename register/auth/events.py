"""A log line for every security event on an account, for the operators' log (ASVS V16).

One line per event on the `register.security` logger: what happened, the
account's id (never its address, name or password), and the client address.
"""

from __future__ import annotations

import logging

from flask import has_request_context, request

logger = logging.getLogger("register.security")
# Successful logins matter as much as failures, so INFO passes whatever the app's level.
logger.setLevel(logging.INFO)


def log(event: str, user=None, level: int = logging.INFO, **details) -> None:
    """Record `event` ("login-failed", "sessions-ended", ...) for `user`, if known."""
    fields = {"event": event}
    if user is not None and getattr(user, "id", None) is not None:
        fields["user"] = user.id
    if has_request_context():
        fields["address"] = request.remote_addr or "unknown"
    fields.update(details)
    logger.log(level, " ".join(f"{key}={value}" for key, value in fields.items()))
