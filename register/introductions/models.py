"""An introductory request from a mentee to a mentor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.auth.models import MenteeAndMentor, User
from register.database import UTCDateTime, utcnow
from register.extensions import db
from register.mentors.models import MentorProfile


class IntroRequest(MenteeAndMentor, db.Model):
    """What the mentee asked, and what became of it, with the time of each step."""

    __tablename__ = "intro_request"
    __table_args__ = (
        Index("ix_intro_request_mentor_state", "mentor_id", "state"),
        Index("ix_intro_request_mentee_state", "mentee_id", "state"),
        Index("ix_intro_request_state_created", "state", "created_at"),
        # The figures read a period's requests from these alone, not from the wide rows:
        # outcomes, reasons, answer times and the mentor's profile (for the sector) ...
        Index("ix_intro_request_figures", "created_at", "state", "decline_reason",
              "answered_at", "closed_note", "profile_id"),
        # ... and what was asked for (SQLite only: PostgreSQL's json has no btree order).
        Index("ix_intro_request_asked", "created_at", "profile_id", "knowing",
              "contexts").ddl_if(dialect="sqlite"),
    )

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("mentor_profile.id", ondelete="CASCADE"))

    subject: Mapped[str] = mapped_column(String(150))
    aspiration: Mapped[str] = mapped_column(Text)
    why_you: Mapped[str] = mapped_column(Text)
    ask: Mapped[str] = mapped_column(String(10))           # see vocabulary.ASKS
    kind: Mapped[str] = mapped_column(String(10))          # formal, informal, either
    contexts: Mapped[list[str]] = mapped_column(JSON, default=list)
    knowing: Mapped[list[str]] = mapped_column(JSON, default=list)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[str] = mapped_column(Text, default="")

    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    decline_reason: Mapped[str | None] = mapped_column(String(20))
    response_message: Mapped[str | None] = mapped_column(Text)
    # Why the request ended without the mentor answering (paused, suspended).
    closed_note: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A match proposed by a coordinator travels as a request marked with who proposed it.
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True)
    proposal_note: Mapped[str | None] = mapped_column(Text)

    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    profile: Mapped[MentorProfile] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])

    @property
    def is_proposed(self) -> bool:
        """Proposed by the coordinators rather than sent by the mentee."""
        return self.proposed_by_id is not None

    @property
    def is_open(self) -> bool:
        return self.state == self.PENDING
