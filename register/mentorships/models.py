"""A mentorship and everything the pair build in it.

The mentorship row itself is created by `introductions` when a request is
accepted. Around it: versions of the agreement (proposed by one, agreed by
the other), meetings, private notes, reminders sent (one row per mentorship
and step, so nothing is sent twice), the signed links those reminders carry,
and, after closing, reflections and evaluations. Whether a mentorship is
stalled is computed from these rows (see services.stalled_clause), never
stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.auth.models import MenteeAndMentor, User
from register.database import UTCDateTime, utcnow
from register.extensions import db


class Mentorship(MenteeAndMentor, db.Model):
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
    # A code from vocabulary.CLOSE_REASONS; close_note holds the words for "other".
    close_reason: Mapped[str | None] = mapped_column(Text)
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_active(self) -> bool:
        return self.status == self.ACTIVE

    def other(self, user) -> User:
        """The other person of the pair."""
        return self.mentor if user.id == self.mentee_id else self.mentee


class Agreement(db.Model):
    """One version of how the pair will work: proposed by one person, agreed by the other."""

    __tablename__ = "mentorship_agreement"
    __table_args__ = (Index("ix_mentorship_agreement_mentorship_status", "mentorship_id",
                            "status"),)

    PROPOSED = "proposed"
    AGREED = "agreed"
    # An agreed version a later one replaced, or a proposal a newer one replaced.
    SUPERSEDED = "superseded"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default=PROPOSED)
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    knowing: Mapped[list[str]] = mapped_column(JSON, default=list)
    frequency: Mapped[str] = mapped_column(String(20))
    duration: Mapped[str] = mapped_column(String(10))
    meeting_minutes: Mapped[int] = mapped_column(Integer)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    confidentiality: Mapped[str] = mapped_column(Text, default="")
    review_on: Mapped[date | None] = mapped_column(Date)
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    mentorship: Mapped[Mentorship] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    agreed_by: Mapped[User | None] = relationship(foreign_keys=[agreed_by_id])


class Meeting(db.Model):
    """A meeting, planned and then recorded as held or not; times are stored in UTC."""

    __tablename__ = "mentorship_meeting"
    __table_args__ = (Index("ix_mentorship_meeting_mentorship_starts", "mentorship_id",
                            "starts_at"),)

    PLANNED = "planned"
    HELD = "held"
    NOT_HELD = "not_held"
    CANCELLED = "cancelled"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    # The calendar's UID: the same for every update, so calendars move the event.
    uid: Mapped[str] = mapped_column(String(80), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default=PLANNED)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    minutes: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(20))
    place: Mapped[str] = mapped_column(Text, default="")
    agenda_goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    agenda: Mapped[str] = mapped_column(Text, default="")
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")

    mentorship: Mapped[Mentorship] = relationship()
    planned_by: Mapped[User | None] = relationship(foreign_keys=[planned_by_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    @property
    def ends_at(self) -> datetime:
        from datetime import timedelta

        return self.starts_at + timedelta(minutes=self.minutes)


class PrivateNote(db.Model):
    """A note only its author can read (never the other person, never administrators)."""

    __tablename__ = "mentorship_private_note"
    __table_args__ = (Index("ix_mentorship_private_note_mentorship_author", "mentorship_id",
                            "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentorship_meeting.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[Meeting | None] = relationship()


class Reminder(db.Model):
    """A step of the reminder schedule that has been sent: unique per mentorship and step,
    so two runs at once (the worker and the command) cannot both send it."""

    __tablename__ = "mentorship_reminder"
    __table_args__ = (UniqueConstraint("mentorship_id", "step",
                                       name="uq_mentorship_reminder_mentorship_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    # "day30", "review-2027-03-01", "stalled-20270301T090000" (a silence that began
    # then), "evaluation"; "stalled" alone from before silences were told apart.
    step: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PersonalLink(db.Model):
    """A signed, single-use, expiring link for one person: a check-in answer or an
    evaluation. Only the secret's hash is stored."""

    __tablename__ = "mentorship_link"
    __table_args__ = (Index("ix_mentorship_link_mentorship_user", "mentorship_id", "user_id"),)

    CHECKIN = "checkin"
    EVALUATION = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(12))
    step: Mapped[str] = mapped_column(String(40), default="")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For a check-in: "met", "not_yet" or "not_working".
    answer: Mapped[str | None] = mapped_column(String(12))

    mentorship: Mapped[Mentorship] = relationship()
    user: Mapped[User] = relationship()


class Reflection(db.Model):
    """One person's private reflection after closing."""

    __tablename__ = "mentorship_reflection"
    __table_args__ = (UniqueConstraint("mentorship_id", "user_id",
                                       name="uq_mentorship_reflection_mentorship_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    learned: Mapped[str] = mapped_column(Text, default="")
    differently: Mapped[str] = mapped_column(Text, default="")
    next_need: Mapped[str] = mapped_column(Text, default="")
    who_else: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Evaluation(db.Model):
    """One person's evaluation, on Kirkpatrick's levels; never shown to the other person."""

    __tablename__ = "mentorship_evaluation"
    __table_args__ = (UniqueConstraint("mentorship_id", "user_id",
                                       name="uq_mentorship_evaluation_mentorship_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(10))  # "mentor" or "mentee"
    usefulness: Mapped[int] = mapped_column(Integer)      # reaction, 1-5
    would_recommend: Mapped[bool] = mapped_column()       # reaction
    goals_met: Mapped[int] = mapped_column(Integer)       # learning, 1-5
    what_changed: Mapped[str] = mapped_column(Text, default="")   # behaviour
    mentor_gained: Mapped[str] = mapped_column(Text, default="")  # the mentor's side only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mentorship: Mapped[Mentorship] = relationship()


class MentorshipSettings(db.Model):
    """The administrators' settings for the phase: one row, id 1."""

    __tablename__ = "mentorship_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    confidentiality_default: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
