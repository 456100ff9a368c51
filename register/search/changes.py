"""Recording that a profile changed, in the caller's transaction."""

from __future__ import annotations

from flask import g, has_request_context

from register.extensions import db
from register.search.models import SearchChange


def record(profile) -> None:
    """Note that `profile`'s search document must be redone once this transaction commits."""
    if profile.id is None:
        db.session.flush()
    db.session.add(SearchChange(profile_id=profile.id))
    if has_request_context():
        g.search_changed = True
