"""What a mentee wants from mentoring, in their own words and in the register's vocabulary."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.auth.models import User
from register.database import UTCDateTime, utcnow
from register.extensions import db


class MenteeObjectives(db.Model):
    """One per account. Private: only its owner and the coordinators see it."""

    __tablename__ = "mentee_objectives"
    __table_args__ = (Index("ix_mentee_objectives_waiting", "facilitated", "waiting_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    # 1 to 5 objectives in the mentee's words; lists are replaced, never changed in place.
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    knowing: Mapped[list[str]] = mapped_column(JSON, default=list)
    contexts: Mapped[list[str]] = mapped_column(JSON, default=list)
    development_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    sector: Mapped[str] = mapped_column(String(20), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    # A mentor in training needs practice hours; some mentees are glad to help.
    welcome_in_training: Mapped[bool] = mapped_column(default=False)
    # True: a coordinator finds them a mentor. False: they search themselves.
    facilitated: Mapped[bool] = mapped_column(default=False)
    # When they last asked for facilitated matching: the queue is oldest first.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
