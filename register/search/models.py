"""The log of changes the search index must hear about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from register.database import UTCDateTime, utcnow
from register.extensions import db


class SearchChange(db.Model):
    """A profile changed in a way mentees might see; its search document must be redone.

    Written in the same transaction as the change. Each host's index follows
    this log from its own high-water mark, re-reading the profile's current
    row, so applying an entry twice or late does no harm.
    """

    __tablename__ = "search_change"
    __table_args__ = (Index("ix_search_change_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
