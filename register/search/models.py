"""The log of changes the search index must hear about."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Text, UniqueConstraint
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


class SearchQueryStat(db.Model):
    """How often a query (with its filters) was searched on a day, for the coordinators.

    No user identity: only the normalised words, the filters and counts. Written
    in batches from each web process's memory (see stats.py), never inside a
    search; rows older than twelve months are deleted by the worker.
    """

    __tablename__ = "search_query_stat"
    __table_args__ = (UniqueConstraint("day", "words", "filters"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    words: Mapped[str] = mapped_column(Text)  # the normalised query words, joined by spaces
    filters: Mapped[str] = mapped_column(Text, default="")  # canonical, see stats.filters_of
    searches: Mapped[int] = mapped_column(default=0)
    results: Mapped[int] = mapped_column(default=0)  # the result count last seen
