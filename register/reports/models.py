"""Figures kept per day once a day can no longer change, so the figures page reads a year
of requests from 365 small rows rather than 100,000 requests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Index
from sqlalchemy.orm import Mapped, mapped_column

from register.database import UTCDateTime, utcnow
from register.extensions import db
from register.mentors.models import MentorProfile
from register.mentorships.models import Meeting, Mentorship


class RequestDay(db.Model):
    """The requests sent on one day, counted by sector: outcomes, decline reasons, what was
    asked for, and how many hours the mentors took to answer.

    Written by register.reports.rollups once the day is 16 days old (every request
    sent that day has had its answer or expired by then); never changed after.
    """

    __tablename__ = "report_request_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # {sector: {"s": {state: n}, "r": {reason: n}, "k": {knowing: n}, "c": {context: n},
    #           "h": {hours to answer: n}}}
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Indexes that only the figures read, declared here so the figures' needs stay in one
# place (migration 0010 builds them). Each holds every column its query reads, so the
# query walks the index alone and never the wide rows (bench/reports_bench.py).

# Time to the first meeting held (the earliest starts_at of a mentorship's held
# meetings is the first entry under (mentorship, "held")), and whether a mentorship
# stalled (any meeting not cancelled that started, was recorded or made lately).
Index("ix_mentorship_meeting_figures", Meeting.mentorship_id, Meeting.status,
      Meeting.starts_at, Meeting.recorded_at, Meeting.created_at)
# Meetings held in a period and their minutes.
Index("ix_mentorship_meeting_held", Meeting.status, Meeting.starts_at, Meeting.minutes,
      Meeting.mentorship_id)
# Mentorships started in a period (and which of them are active), closed in a period
# (and why).
Index("ix_mentorship_started", Mentorship.started_at, Mentorship.status)
Index("ix_mentorship_closed", Mentorship.closed_at, Mentorship.status,
      Mentorship.close_reason)
# The supply snapshot groups the published profiles by their lists and sector: in this
# order, SQLite reads the groups straight off the index, with no sort. (SQLite only:
# PostgreSQL's json has no btree order.)
Index("ix_mentor_profile_supply", MentorProfile.state, MentorProfile.knowing,
      MentorProfile.contexts, MentorProfile.sector, MentorProfile.paused,
      MentorProfile.away_until, MentorProfile.capacity,
      MentorProfile.user_id).ddl_if(dialect="sqlite")
