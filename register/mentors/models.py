"""A mentor's public profile, its moderation state, and reports about it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.auth.models import User
from register.database import UTCDateTime, utcnow
from register.extensions import db


class MentorProfile(db.Model):
    """What a mentor offers, as mentees see it, and where it stands in moderation."""

    __tablename__ = "mentor_profile"

    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    # The mentor deleted their account: the row stays, emptied, for the figures.
    DELETED = "deleted"
    STATES = (DRAFT, SUBMITTED, PUBLISHED, REJECTED, SUSPENDED, DELETED)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    headline: Mapped[str] = mapped_column(String(160), default="")
    organisation: Mapped[str] = mapped_column(String(160), default="")
    sector: Mapped[str] = mapped_column(String(20), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    # Lists are replaced, never changed in place, so SQLAlchemy sees every change.
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    knowing: Mapped[list[str]] = mapped_column(JSON, default=list)
    contexts: Mapped[list[str]] = mapped_column(JSON, default=list)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(10), default="")
    time_commitment: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int] = mapped_column(default=2)
    in_training: Mapped[bool] = mapped_column(default=False)
    training_body: Mapped[str] = mapped_column(String(160), default="")
    linkedin_url: Mapped[str] = mapped_column(String(255), default="")

    state: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    # The coordinators' last word to the mentor: changes wanted, or why rejected or suspended.
    moderation_note: Mapped[str | None] = mapped_column(Text)
    # A published profile edited since an administrator last looked at it.
    edited_since_review: Mapped[bool] = mapped_column(default=False)
    paused: Mapped[bool] = mapped_column(default=False)
    away_until: Mapped[date | None] = mapped_column(Date)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_paused(self, today: date | None = None) -> bool:
        """Paused by the mentor; a pause with an end date lifts by itself on that date."""
        if not self.paused:
            return False
        today = today or utcnow().date()
        return self.away_until is None or today < self.away_until

    def __repr__(self) -> str:
        return f"<MentorProfile {self.id} {self.state}>"


class ProfileReport(db.Model):
    """Someone's concern about a profile, and how a coordinator resolved it."""

    __tablename__ = "profile_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("mentor_profile.id", ondelete="CASCADE"), index=True
    )
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolution_note: Mapped[str | None] = mapped_column(Text)

    profile: Mapped[MentorProfile] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
