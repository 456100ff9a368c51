"""The outbox: every email is a row first, written in the transaction that caused it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from register.database import UTCDateTime, utcnow
from register.extensions import db


class OutboxMessage(db.Model):
    """An email waiting to be sent, being sent, sent, or given up on."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),
                      Index("ix_outbox_message_claimed_until", "claimed_until"))

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across retries, so a receiver can tell a repeat from a new message.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    recipient_name: Mapped[str] = mapped_column(String(120), default="")
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A sender claims a message until this time; if it dies, the claim lapses.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # Files sent with the message (a meeting's .ics): [{filename, content_type, data}].
    attachments: Mapped[list[dict] | None] = mapped_column(JSON)
