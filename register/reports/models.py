"""Figures kept per day once a day can no longer change, so the figures page reads a year
of requests from 365 small rows rather than 100,000 requests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date
from sqlalchemy.orm import Mapped, mapped_column

from register.database import UTCDateTime, utcnow
from register.extensions import db


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
