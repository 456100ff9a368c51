"""Meetings as iCalendar (RFC 5545) events, through the maintained `icalendar` package.

Times are written in UTC, which every calendar converts to its owner's zone.
Each meeting keeps one UID for its whole life and a SEQUENCE that grows with
every change, so a calendar moves or removes the event it already has.
"""

from __future__ import annotations

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from register.database import utcnow
from register.mentorships.models import Meeting

PRODUCT_ID = "-//Mentor Register//Mentorship meetings//EN"


def _sender_address() -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    address = sender[1] if isinstance(sender, tuple) else sender
    if "<" in address:
        address = address.rpartition("<")[2].rstrip(">")
    return address.strip() or "register@localhost"


def meeting_calendar(meeting: Meeting, *, method: str = "PUBLISH", summary: str,
                     description: str = "") -> str:
    """The .ics text for `meeting`: METHOD REQUEST for an invitation, CANCEL once cancelled,
    PUBLISH for a plain download."""
    cancelled = meeting.status == Meeting.CANCELLED
    if cancelled:
        method = "CANCEL"
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", utcnow().replace(microsecond=0))
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if meeting.place:
        event.add("location", meeting.place)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organiser = vCalAddress(f"mailto:{_sender_address()}")
    organiser.params["cn"] = vText("Mentor Register")
    event.add("organizer", organiser)
    mentorship = meeting.mentorship
    for person in (mentorship.mentor, mentorship.mentee):
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")
