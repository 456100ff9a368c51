"""A mentorship between a mentor and a mentee."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.auth.models import User
from register.database import UTCDateTime, utcnow
from register.extensions import db


class Mentorship(db.Model):
    """One relationship; while active it counts against the mentor's capacity."""

    __tablename__ = "mentorship"
    __table_args__ = (Index("ix_mentorship_mentor_status", "mentor_id", "status"),)

    ACTIVE = "active"
    CLOSED = "closed"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(Text)

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])
