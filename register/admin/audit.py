"""Writing to the audit log. Every admin action and profile state change goes through here."""

from __future__ import annotations

from register.admin.models import AuditEntry
from register.auth.models import User
from register.extensions import db


def record(actor: User | None, action: str, subject, summary: str = "") -> AuditEntry:
    """Add an entry in the caller's transaction: `actor` did `action` to `subject`, because."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=("register" if subject is None
                      else getattr(subject, "__tablename__", type(subject).__name__.lower())),
        subject_id=getattr(subject, "id", None),
        summary=summary.strip(),
    )
    db.session.add(entry)
    return entry
