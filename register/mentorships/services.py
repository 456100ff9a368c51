"""The rules of a mentorship: the agreement, meetings, notes, check-ins, closing,
reflection and evaluation, the mentee's portfolio and the mentor's record.

Every rule lives here, so the pages, the emailed links, the command line and
the worker apply the same ones. Functions flush and never commit; a broken
rule raises MentorshipError with words for the person. Email goes through
register.mail.messages (the outbox), never straight to SMTP.

Stable for other areas (the coordinators' reports call them):
`stalled_clause(now)` and `evaluation_aggregates(mentorships)`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, Signer
from sqlalchemy import Integer, and_, case, cast, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from register import signals
from register.auth.models import User
from register.database import utcnow
from register.errors import RuleBroken
from register.extensions import db
from register.introductions.models import IntroRequest
from register.mail import messages
from register.mentors import services as profiles
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.mentorships import calendar
from register.mentorships import vocabulary as mvocab
from register.mentorships.models import (
    Agreement,
    Evaluation,
    Meeting,
    Mentorship,
    MentorshipSettings,
    PersonalLink,
    PrivateNote,
    Reflection,
    Reminder,
)

FIRST_CHECK_IN = timedelta(days=30)
STALLED_AFTER = timedelta(days=60)
EVALUATION_REMINDER_AFTER = timedelta(days=14)
# Evaluation reminders are for recent endings only, never for a backlog of old ones.
EVALUATION_REMINDER_WINDOW = timedelta(days=90)
LINK_LIFETIMES = {PersonalLink.CHECKIN: timedelta(days=21),
                  PersonalLink.EVALUATION: timedelta(days=60)}
MIN_ANSWERS_FOR_AGGREGATES = 3
MAX_GOALS = 5
LIMITS = {"goal": 200, "confidentiality": 2000, "place": 300, "agenda": 2000,
          "notes": 5000, "actions": 2000, "note": 5000, "close_note": 1000,
          "reflection": 3000, "evaluation": 3000}
MEETING_MINUTES = (15, 30, 45, 60, 90, 120)


class MentorshipError(RuleBroken):
    """A mentorship rule was broken."""


# Who sees what ------------------------------------------------------------------------


def visible_to(mentorship: Mentorship, user) -> bool:
    """Only the two people, and the register's administrators."""
    return mentorship.party(user) is not None or bool(getattr(user, "is_admin", False))


def _must_be_party(mentorship: Mentorship, by: User) -> str:
    role = mentorship.party(by) if by is not None else None
    if role is None:
        raise MentorshipError("Only the mentor and the mentee can do this.")
    return role


def _must_be_active(mentorship: Mentorship) -> None:
    if not mentorship.is_active:
        raise MentorshipError("This mentorship has been closed; its record stays as it was.")


def for_user(user: User) -> list[Mentorship]:
    """The person's mentorships as mentor and as mentee: active first, newest first."""
    return list(db.session.scalars(
        select(Mentorship)
        .where(or_(Mentorship.mentor_id == user.id, Mentorship.mentee_id == user.id))
        .order_by((Mentorship.status == Mentorship.ACTIVE).desc(), Mentorship.started_at.desc(),
                  Mentorship.id.desc())))


def original_request(mentorship: Mentorship) -> IntroRequest | None:
    """The accepted request that started the mentorship (accepted at the moment it began)."""
    return db.session.scalar(
        select(IntroRequest)
        .where(IntroRequest.mentor_id == mentorship.mentor_id,
               IntroRequest.mentee_id == mentorship.mentee_id,
               IntroRequest.state == IntroRequest.ACCEPTED,
               IntroRequest.answered_at <= mentorship.started_at)
        .order_by(IntroRequest.answered_at.desc()).limit(1))


def mentorship_for_request(request: IntroRequest) -> Mentorship | None:
    """The mentorship an accepted request started (it began when the request was accepted)."""
    if request.state != IntroRequest.ACCEPTED or request.answered_at is None:
        return None
    return db.session.scalar(
        select(Mentorship)
        .where(Mentorship.mentor_id == request.mentor_id,
               Mentorship.mentee_id == request.mentee_id,
               Mentorship.started_at >= request.answered_at)
        .order_by(Mentorship.started_at, Mentorship.id).limit(1))


def mentor_profile(mentorship: Mentorship) -> MentorProfile | None:
    """The mentor's profile, if they still have one."""
    return profiles.profile_of(mentorship.mentor)


def is_formal(mentorship: Mentorship) -> bool:
    """Formal when the request asked for formal mentoring and the mentor offers it."""
    request = original_request(mentorship)
    profile = mentor_profile(mentorship)
    return bool(request and profile and request.kind == "formal"
                and profile.kind in ("formal", "both"))


def agreement_awaited(mentorship: Mentorship) -> bool:
    """A formal mentorship still active with nothing agreed: the pages keep asking for one."""
    return (mentorship.is_active and is_formal(mentorship)
            and current_agreement(mentorship) is None)


def local_zone() -> ZoneInfo:
    """The zone times are shown and typed in (MENTORSHIP_TIMEZONE, Europe/London by default)."""
    return ZoneInfo(current_app.config.get("MENTORSHIP_TIMEZONE") or "Europe/London")


def local_time(moment: datetime) -> datetime:
    """A stored UTC time in the register's zone, for showing."""
    return moment.astimezone(local_zone())


# The agreement ----------------------------------------------------------------------


@dataclass
class AgreementDraft:
    """What one person proposes."""

    goals: list[str] = field(default_factory=list)
    knowing: list[str] = field(default_factory=list)
    frequency: str = "monthly"
    duration: str = "6"
    meeting_minutes: int = 60
    formats: list[str] = field(default_factory=list)
    confidentiality: str = ""
    review_on: date | None = None


def current_agreement(mentorship: Mentorship) -> Agreement | None:
    """The version both people agreed most recently."""
    return db.session.scalar(
        select(Agreement).where(Agreement.mentorship_id == mentorship.id,
                                Agreement.status == Agreement.AGREED)
        .order_by(Agreement.agreed_at.desc(), Agreement.id.desc()).limit(1))


def pending_proposal(mentorship: Mentorship) -> Agreement | None:
    """The proposal waiting for the other person, if any."""
    return db.session.scalar(
        select(Agreement).where(Agreement.mentorship_id == mentorship.id,
                                Agreement.status == Agreement.PROPOSED)
        .order_by(Agreement.id.desc()).limit(1))


def default_confidentiality() -> str:
    """The administrators' wording for the confidentiality section, or the register's own."""
    settings = db.session.get(MentorshipSettings, 1)
    return (settings.confidentiality_default if settings and settings.confidentiality_default
            else mvocab.DEFAULT_CONFIDENTIALITY)


def set_confidentiality_default(text: str, *, by: User) -> None:
    """An administrator sets the default wording new agreements start from."""
    if not getattr(by, "is_admin", False):
        raise MentorshipError("Only administrators can change the default wording.")
    text = (text or "").strip().replace("\r\n", "\n")
    if not text:
        raise MentorshipError("Write the default wording, or keep the current one.",
                              field="confidentiality")
    if len(text) > LIMITS["confidentiality"]:
        raise MentorshipError(f"Use at most {LIMITS['confidentiality']:,} characters.",
                              field="confidentiality")
    settings = db.session.get(MentorshipSettings, 1)
    if settings is None:
        settings = MentorshipSettings(id=1)
        db.session.add(settings)
    settings.confidentiality_default = text
    settings.updated_at = utcnow()
    settings.updated_by_id = by.id
    db.session.flush()


def starting_draft(mentorship: Mentorship) -> AgreementDraft:
    """What the agreement form starts from: the agreed version, else the request's wishes."""
    agreed = pending_proposal(mentorship) or current_agreement(mentorship)
    if agreed is not None:
        return AgreementDraft(goals=list(agreed.goals), knowing=list(agreed.knowing),
                              frequency=agreed.frequency, duration=agreed.duration,
                              meeting_minutes=agreed.meeting_minutes,
                              formats=list(agreed.formats),
                              confidentiality=agreed.confidentiality,
                              review_on=agreed.review_on)
    request = original_request(mentorship)
    return AgreementDraft(
        knowing=list(request.knowing) if request else [],
        formats=[f for f in (request.formats if request else []) if f in
                 vocab.codes(mvocab.MEETING_FORMATS)],
        duration="6" if is_formal(mentorship) else "open",
        confidentiality=default_confidentiality(),
        review_on=(mentorship.started_at + timedelta(days=90)).date(),
    )


def clean_agreement(draft: AgreementDraft, *, today: date | None = None) -> AgreementDraft:
    """Check the shape of a proposal; raises MentorshipError naming the field."""
    goals = [" ".join(g.split()) for g in draft.goals if g and g.strip()]
    if not goals:
        raise MentorshipError("Write at least one goal: what the mentee wants to learn.",
                              field="goals")
    if len(goals) > MAX_GOALS:
        raise MentorshipError(f"Keep to at most {MAX_GOALS} goals.", field="goals")
    if any(len(g) > LIMITS["goal"] for g in goals):
        raise MentorshipError(f"Keep each goal to {LIMITS['goal']} characters.", field="goals")
    draft.goals = goals
    allowed = vocab.codes(vocab.KNOWING)
    draft.knowing = [c for c in allowed if c in set(draft.knowing)]
    if draft.frequency not in vocab.codes(mvocab.FREQUENCIES):
        raise MentorshipError("Choose how often you will meet.", field="frequency")
    if draft.duration not in vocab.codes(mvocab.DURATIONS):
        raise MentorshipError("Choose for how long.", field="duration")
    if draft.meeting_minutes not in MEETING_MINUTES:
        raise MentorshipError("Choose how long each meeting lasts.", field="meeting_minutes")
    formats = vocab.codes(mvocab.MEETING_FORMATS)
    chosen = [c for c in formats if c in set(draft.formats)]
    if not chosen or len(chosen) != len(set(draft.formats)):
        raise MentorshipError("Choose at least one way to meet.", field="formats")
    draft.formats = chosen
    draft.confidentiality = (draft.confidentiality or "").strip().replace("\r\n", "\n")
    if not draft.confidentiality:
        raise MentorshipError("Say what stays confidential, and its limits.",
                              field="confidentiality")
    if len(draft.confidentiality) > LIMITS["confidentiality"]:
        raise MentorshipError(f"Use at most {LIMITS['confidentiality']:,} characters.",
                              field="confidentiality")
    today = today or utcnow().date()
    if draft.review_on is None:
        raise MentorshipError("Choose a date to review how it is going.", field="review_on")
    if draft.review_on <= today:
        raise MentorshipError("Choose a review date in the future.", field="review_on")
    return draft


def propose_agreement(mentorship: Mentorship, *, by: User, draft: AgreementDraft,
                      today: date | None = None) -> Agreement:
    """Either person proposes; the other is told and asked to agree. A newer proposal
    replaces one still waiting."""
    _must_be_party(mentorship, by)
    _must_be_active(mentorship)
    draft = clean_agreement(draft, today=today)
    # The seed's formal contract is for a set term; open-ended suits informal mentoring only.
    if draft.duration == "open" and is_formal(mentorship):
        raise MentorshipError("Formal mentoring runs for an agreed time: choose 3, 6 or 12 "
                              "months.", field="duration")
    db.session.execute(
        update(Agreement).where(Agreement.mentorship_id == mentorship.id,
                                Agreement.status == Agreement.PROPOSED)
        .values(status=Agreement.SUPERSEDED).execution_options(synchronize_session="fetch"))
    proposal = Agreement(mentorship_id=mentorship.id, status=Agreement.PROPOSED,
                         goals=draft.goals, knowing=draft.knowing, frequency=draft.frequency,
                         duration=draft.duration, meeting_minutes=draft.meeting_minutes,
                         formats=draft.formats, confidentiality=draft.confidentiality,
                         review_on=draft.review_on, proposed_by_id=by.id, proposed_at=utcnow())
    db.session.add(proposal)
    db.session.flush()
    messages.mentorship_agreement_proposed(mentorship, proposal, by=by,
                                           to=mentorship.other(by))
    return proposal


def agree(proposal: Agreement, *, by: User) -> Agreement:
    """The other person agrees: the proposal becomes the agreement, replacing the last one."""
    mentorship = proposal.mentorship
    _must_be_party(mentorship, by)
    _must_be_active(mentorship)
    if proposal.proposed_by_id == by.id:
        raise MentorshipError("You proposed this version: the other person agrees to it.")
    now = utcnow()
    # Conditional, so two clicks (or a newer proposal racing) cannot both win.
    done = db.session.execute(
        update(Agreement).where(Agreement.id == proposal.id,
                                Agreement.status == Agreement.PROPOSED)
        .values(status=Agreement.AGREED, agreed_by_id=by.id, agreed_at=now)
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise MentorshipError("This proposal is no longer waiting: it was agreed or replaced.")
    db.session.execute(
        update(Agreement).where(Agreement.mentorship_id == mentorship.id,
                                Agreement.status == Agreement.AGREED,
                                Agreement.id != proposal.id)
        .values(status=Agreement.SUPERSEDED).execution_options(synchronize_session="fetch"))
    db.session.refresh(proposal)
    messages.mentorship_agreement_agreed(mentorship, proposal, by=by,
                                         to=mentorship.other(by))
    return proposal


# Meetings ---------------------------------------------------------------------------


@dataclass
class MeetingDraft:
    """A meeting as typed: a local date and time."""

    day: date | None = None
    at: time | None = None
    minutes: int = 60
    format: str = "video"
    place: str = ""
    agenda_goals: list[str] = field(default_factory=list)
    agenda: str = ""


def _starts_at(draft: MeetingDraft, now: datetime) -> datetime:
    if draft.day is None:
        raise MentorshipError("Choose the date.", field="day")
    if draft.at is None:
        raise MentorshipError("Choose the time.", field="at")
    local = datetime.combine(draft.day, draft.at, tzinfo=local_zone())
    starts = local.astimezone(UTC)
    if starts <= now:
        raise MentorshipError("Choose a date and time in the future.", field="day")
    return starts


def _clean_meeting(mentorship: Mentorship, draft: MeetingDraft) -> MeetingDraft:
    if draft.minutes not in MEETING_MINUTES:
        raise MentorshipError("Choose how long the meeting lasts.", field="minutes")
    if draft.format not in vocab.codes(mvocab.MEETING_FORMATS):
        raise MentorshipError("Choose how you will meet.", field="format")
    draft.place = (draft.place or "").strip()
    if len(draft.place) > LIMITS["place"]:
        raise MentorshipError(f"Use at most {LIMITS['place']} characters.", field="place")
    agreed = current_agreement(mentorship)
    goals = agreed.goals if agreed else []
    if any(goal not in goals for goal in draft.agenda_goals):
        raise MentorshipError("Choose goals from the agreement.", field="agenda_goals")
    draft.agenda_goals = [g for g in goals if g in set(draft.agenda_goals)]
    draft.agenda = (draft.agenda or "").strip().replace("\r\n", "\n")
    if len(draft.agenda) > LIMITS["agenda"]:
        raise MentorshipError(f"Use at most {LIMITS['agenda']:,} characters.", field="agenda")
    return draft


def plan_meeting(mentorship: Mentorship, *, by: User, draft: MeetingDraft,
                 now: datetime | None = None) -> Meeting:
    """Plan a meeting; both people get an invitation with the .ics attached."""
    _must_be_party(mentorship, by)
    _must_be_active(mentorship)
    now = now or utcnow()
    starts = _starts_at(draft, now)
    draft = _clean_meeting(mentorship, draft)
    meeting = Meeting(mentorship_id=mentorship.id, uid=f"{uuid.uuid4()}@mentor-register",
                      sequence=0, status=Meeting.PLANNED, starts_at=starts,
                      minutes=draft.minutes, format=draft.format, place=draft.place,
                      agenda_goals=draft.agenda_goals, agenda=draft.agenda,
                      planned_by_id=by.id, created_at=now, updated_at=now)
    db.session.add(meeting)
    db.session.flush()
    db.session.refresh(meeting)
    _send_invitations(meeting, "planned")
    return meeting


def _must_be_planned(meeting: Meeting) -> None:
    if meeting.status != Meeting.PLANNED:
        raise MentorshipError(f"This meeting was already {describe_status(meeting)}.")


def move_meeting(meeting: Meeting, *, by: User, draft: MeetingDraft,
                 now: datetime | None = None) -> Meeting:
    """Change a planned meeting; calendars get the same event with a higher SEQUENCE."""
    mentorship = meeting.mentorship
    _must_be_party(mentorship, by)
    _must_be_active(mentorship)
    _must_be_planned(meeting)
    now = now or utcnow()
    starts = _starts_at(draft, now)
    draft = _clean_meeting(mentorship, draft)
    meeting.starts_at = starts
    meeting.minutes = draft.minutes
    meeting.format = draft.format
    meeting.place = draft.place
    meeting.agenda_goals = draft.agenda_goals
    meeting.agenda = draft.agenda
    meeting.sequence = meeting.sequence + 1
    meeting.updated_at = now
    db.session.flush()
    _send_invitations(meeting, "moved")
    return meeting


def cancel_meeting(meeting: Meeting, *, by: User, now: datetime | None = None) -> None:
    """Cancel a planned meeting; calendars get a CANCEL for the same event."""
    _must_be_party(meeting.mentorship, by)
    _must_be_planned(meeting)
    done = db.session.execute(
        update(Meeting).where(Meeting.id == meeting.id, Meeting.status == Meeting.PLANNED)
        .values(status=Meeting.CANCELLED, sequence=Meeting.sequence + 1,
                updated_at=now or utcnow())
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise MentorshipError("This meeting was already recorded or cancelled.")
    db.session.refresh(meeting)
    _send_invitations(meeting, "cancelled")


def record_meeting(meeting: Meeting, *, by: User, held: bool, notes: str = "",
                   actions: str = "", now: datetime | None = None) -> None:
    """After its time, either person records whether it took place, with shared notes."""
    mentorship = meeting.mentorship
    _must_be_party(mentorship, by)
    _must_be_planned(meeting)
    now = now or utcnow()
    if now < meeting.starts_at:
        raise MentorshipError("You can record a meeting once its time has come.")
    notes = (notes or "").strip().replace("\r\n", "\n")
    actions = (actions or "").strip().replace("\r\n", "\n")
    for name, value in (("notes", notes), ("actions", actions)):
        if len(value) > LIMITS[name]:
            raise MentorshipError(f"Use at most {LIMITS[name]:,} characters.", field=name)
    done = db.session.execute(
        update(Meeting).where(Meeting.id == meeting.id, Meeting.status == Meeting.PLANNED)
        .values(status=Meeting.HELD if held else Meeting.NOT_HELD, recorded_by_id=by.id,
                recorded_at=now, notes=notes, actions=actions, updated_at=now)
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise MentorshipError("This meeting was already recorded.")
    db.session.refresh(meeting)


def describe_status(meeting: Meeting) -> str:
    """'planned', 'held', 'not held' or 'cancelled'."""
    return meeting.status.replace("_", " ")


def meetings(mentorship: Mentorship) -> list[Meeting]:
    """Every meeting, in time order."""
    return list(db.session.scalars(
        select(Meeting).where(Meeting.mentorship_id == mentorship.id)
        .order_by(Meeting.starts_at, Meeting.id)))


def meeting_summary(meeting: Meeting) -> str:
    """The calendar's title for a meeting."""
    mentorship = meeting.mentorship
    return f"Mentoring: {mentorship.mentor.name} and {mentorship.mentee.name}"


def meeting_description(meeting: Meeting) -> str:
    """The agenda as plain text, for the calendar and the email."""
    lines = []
    if meeting.agenda_goals:
        lines.append("Goals for this meeting:")
        lines.extend(f"- {goal}" for goal in meeting.agenda_goals)
    if meeting.agenda:
        lines.append(meeting.agenda)
    return "\n".join(lines)


def ics_for(meeting: Meeting, *, method: str = "PUBLISH") -> str:
    """The meeting's .ics text."""
    return calendar.meeting_calendar(meeting, method=method, summary=meeting_summary(meeting),
                                     description=meeting_description(meeting))


def _send_invitations(meeting: Meeting, change: str) -> None:
    ics = ics_for(meeting, method="REQUEST")
    mentorship = meeting.mentorship
    when = local_time(meeting.starts_at)
    for person in (mentorship.mentor, mentorship.mentee):
        messages.mentorship_meeting(mentorship, meeting, to=person,
                                    other=mentorship.other(person), change=change, when=when,
                                    zone=str(local_zone()), ics=ics)


def mentoring_minutes(mentorship: Mentorship) -> int:
    """Minutes of meetings that took place."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Meeting.minutes), 0))
        .where(Meeting.mentorship_id == mentorship.id, Meeting.status == Meeting.HELD)) or 0


# Private notes ---------------------------------------------------------------------


def add_private_note(mentorship: Mentorship, *, by: User, body: str,
                     meeting: Meeting | None = None) -> PrivateNote:
    """A note only its author will ever see."""
    _must_be_party(mentorship, by)
    body = (body or "").strip().replace("\r\n", "\n")
    if not body:
        raise MentorshipError("Write the note first.", field="body")
    if len(body) > LIMITS["note"]:
        raise MentorshipError(f"Use at most {LIMITS['note']:,} characters.", field="body")
    if meeting is not None and meeting.mentorship_id != mentorship.id:
        raise MentorshipError("That meeting belongs to another mentorship.")
    note = PrivateNote(mentorship_id=mentorship.id, author_id=by.id, body=body,
                       meeting_id=meeting.id if meeting else None, created_at=utcnow())
    db.session.add(note)
    db.session.flush()
    return note


def private_notes(mentorship: Mentorship, user) -> list[PrivateNote]:
    """The notes `user` wrote here; nobody else's, whoever asks."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        select(PrivateNote).where(PrivateNote.mentorship_id == mentorship.id,
                                  PrivateNote.author_id == user.id)
        .order_by(PrivateNote.created_at, PrivateNote.id)))


# Closing, reflection, evaluation ----------------------------------------------------


def close(mentorship: Mentorship, *, by: User, reason: str, note: str = "",
          now: datetime | None = None) -> None:
    """Either person closes, with a reason; the mentor's capacity is freed, the record
    stays, and both are invited to reflect and evaluate."""
    _must_be_party(mentorship, by)
    if reason not in vocab.codes(mvocab.CLOSE_REASONS):
        raise MentorshipError("Choose a reason.", field="reason")
    note = (note or "").strip()
    if reason == "other" and not note:
        raise MentorshipError("Say briefly why.", field="note")
    if len(note) > LIMITS["close_note"]:
        raise MentorshipError(f"Use at most {LIMITS['close_note']:,} characters.", field="note")
    now = now or utcnow()
    done = db.session.execute(
        update(Mentorship).where(Mentorship.id == mentorship.id,
                                 Mentorship.status == Mentorship.ACTIVE)
        .values(status=Mentorship.CLOSED, closed_at=now, close_reason=reason,
                close_note=note or None, closed_by_id=by.id)
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise MentorshipError("This mentorship was already closed.")
    db.session.refresh(mentorship)
    # Planned meetings will not happen now: calendars are told.
    for meeting in db.session.scalars(select(Meeting).where(
            Meeting.mentorship_id == mentorship.id, Meeting.status == Meeting.PLANNED,
            Meeting.starts_at > now)):
        meeting.status = Meeting.CANCELLED
        meeting.sequence += 1
        meeting.updated_at = now
        db.session.flush()
        _send_invitations(meeting, "cancelled")
    profile = mentor_profile(mentorship)
    if profile is not None:
        profiles.profile_changed(profile)  # it may be taking requests again
    for person in (mentorship.mentor, mentorship.mentee):
        messages.mentorship_closed(mentorship, to=person, by=by,
                                   reason=vocab.label(mvocab.CLOSE_REASONS, reason),
                                   evaluation_token=issue_link(mentorship, person,
                                                               PersonalLink.EVALUATION,
                                                               "closed", now=now))


ACCOUNT_DELETED_NOTE = "The other person deleted their account."


@signals.account_leaving.connect
def close_for_deleted_account(user: User) -> int:
    """Close the active mentorships of a person deleting their account, as if they had
    closed each one: planned meetings leave both calendars, and the other person is told
    and can still reflect and evaluate. How many were closed."""
    ended = 0
    for mentorship in db.session.scalars(select(Mentorship).where(
            or_(Mentorship.mentor_id == user.id, Mentorship.mentee_id == user.id),
            Mentorship.status == Mentorship.ACTIVE)).all():
        close(mentorship, by=user, reason="other", note=ACCOUNT_DELETED_NOTE)
        ended += 1
    return ended


def close_reason_label(mentorship: Mentorship) -> str:
    """The closing reason in words."""
    label = vocab.label(mvocab.CLOSE_REASONS, mentorship.close_reason or "")
    return f"{label}: {mentorship.close_note}" if mentorship.close_note else label


@dataclass
class ReflectionDraft:
    """The seed's reflection questions."""

    learned: str = ""
    differently: str = ""
    next_need: str = ""
    who_else: str = ""


REFLECTION_QUESTIONS = (
    ("learned", "What did I learn?"),
    ("differently", "What would I do differently?"),
    ("next_need", "What do I need next?"),
    ("who_else", "Who else could help me?"),
)


def reflection_of(mentorship: Mentorship, user) -> Reflection | None:
    """The person's own reflection; nobody else's."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Reflection).where(Reflection.mentorship_id == mentorship.id,
                                                      Reflection.user_id == user.id))


def save_reflection(mentorship: Mentorship, *, by: User, draft: ReflectionDraft) -> Reflection:
    """Keep the person's private reflection (after closing); saving again replaces it."""
    _must_be_party(mentorship, by)
    if mentorship.is_active:
        raise MentorshipError("Reflection comes once the mentorship is closed.")
    values = {}
    for name, _ in REFLECTION_QUESTIONS:
        text = (getattr(draft, name) or "").strip().replace("\r\n", "\n")
        if len(text) > LIMITS["reflection"]:
            raise MentorshipError(f"Use at most {LIMITS['reflection']:,} characters.",
                                  field=name)
        values[name] = text
    if not any(values.values()):
        raise MentorshipError("Answer at least one question.")
    found = reflection_of(mentorship, by)
    if found is None:
        found = Reflection(mentorship_id=mentorship.id, user_id=by.id)
        db.session.add(found)
    for name, text in values.items():
        setattr(found, name, text)
    found.updated_at = utcnow()
    db.session.flush()
    return found


@dataclass
class EvaluationDraft:
    """Kirkpatrick's levels: reaction, learning, behaviour; and what the mentor gained."""

    usefulness: int | None = None
    would_recommend: bool | None = None
    goals_met: int | None = None
    what_changed: str = ""
    mentor_gained: str = ""


def evaluation_of(mentorship: Mentorship, user: User) -> Evaluation | None:
    """Whether `user` has evaluated (only they, and nobody else, may see their answers)."""
    return db.session.scalar(select(Evaluation).where(Evaluation.mentorship_id == mentorship.id,
                                                      Evaluation.user_id == user.id))


def submit_evaluation(mentorship: Mentorship, *, by: User, draft: EvaluationDraft,
                      now: datetime | None = None) -> Evaluation:
    """Record one person's evaluation, once."""
    role = _must_be_party(mentorship, by)
    if mentorship.is_active:
        raise MentorshipError("The evaluation comes once the mentorship is closed.")
    for name, label in (("usefulness", "how useful it was"), ("goals_met", "how far the goals "
                                                                            "were met")):
        value = getattr(draft, name)
        if value not in (1, 2, 3, 4, 5):
            raise MentorshipError(f"Choose {label}, from 1 to 5.", field=name)
    if draft.would_recommend is None:
        raise MentorshipError("Say whether you would recommend it.", field="would_recommend")
    texts = {}
    for name in ("what_changed", "mentor_gained"):
        text = (getattr(draft, name) or "").strip().replace("\r\n", "\n")
        if len(text) > LIMITS["evaluation"]:
            raise MentorshipError(f"Use at most {LIMITS['evaluation']:,} characters.",
                                  field=name)
        texts[name] = text
    if role != "mentor":
        texts["mentor_gained"] = ""
    if evaluation_of(mentorship, by) is not None:
        raise MentorshipError("You have already sent your evaluation. Thank you.")
    found = Evaluation(mentorship_id=mentorship.id, user_id=by.id, role=role,
                       usefulness=draft.usefulness, would_recommend=bool(draft.would_recommend),
                       goals_met=draft.goals_met, created_at=now or utcnow(), **texts)
    try:
        with db.session.begin_nested():
            db.session.add(found)
            db.session.flush()
    except IntegrityError as error:  # the same form sent twice at once
        raise MentorshipError("You have already sent your evaluation. Thank you.") from error
    # The person's other evaluation links are spent too.
    db.session.execute(
        update(PersonalLink).where(PersonalLink.mentorship_id == mentorship.id,
                                   PersonalLink.user_id == by.id,
                                   PersonalLink.purpose == PersonalLink.EVALUATION,
                                   PersonalLink.used_at.is_(None))
        .values(used_at=now or utcnow()).execution_options(synchronize_session="fetch"))
    return found


@dataclass(frozen=True)
class EvaluationAggregates:
    """Figures over evaluations, given only when at least 3 answers back them."""

    answers: int
    usefulness: float | None = None
    goals_met: float | None = None
    would_recommend: float | None = None  # a share, 0 to 1
    # How many answers said what changed (behaviour): a count, like `answers`.
    described_change: int = 0

    @property
    def enough(self) -> bool:
        return self.answers >= MIN_ANSWERS_FOR_AGGREGATES


def _of_mentorships(query, mentorships):
    """`query` over Evaluation, kept to the evaluations of `mentorships` (see
    evaluation_aggregates for what it may be)."""
    if mentorships is None:
        return query
    if isinstance(mentorships, (list, tuple, set)):
        return query.where(Evaluation.mentorship_id.in_(list(mentorships)))
    if isinstance(mentorships, ColumnElement):
        return query.join(Mentorship, Mentorship.id == Evaluation.mentorship_id).where(
            mentorships)
    return query.where(Evaluation.mentorship_id.in_(mentorships))


_AGGREGATES = (func.count(Evaluation.id), func.avg(Evaluation.usefulness),
               func.avg(Evaluation.goals_met), func.avg(cast(Evaluation.would_recommend, Integer)),
               func.count(case((func.length(Evaluation.what_changed) > 0, 1))))


def _aggregates(count, usefulness, goals_met, recommend, described) -> EvaluationAggregates:
    if (count or 0) < MIN_ANSWERS_FOR_AGGREGATES:
        return EvaluationAggregates(answers=count or 0, described_change=described or 0)
    return EvaluationAggregates(answers=count, usefulness=round(float(usefulness), 1),
                                goals_met=round(float(goals_met), 1),
                                would_recommend=round(float(recommend), 2),
                                described_change=described or 0)


def evaluation_aggregates(mentorships=None, *, role: str | None = None) -> EvaluationAggregates:
    """Average reaction and learning over the evaluations of some mentorships.

    `mentorships` is a filter on Mentorship (a SQL condition such as
    `Mentorship.mentor_id == 7`), a select() of mentorship ids, a list of ids,
    or None for all. `role` keeps only the mentees' or the mentors' answers.
    Below 3 answers only the count is given, so no one's answers can be read off.
    """
    query = _of_mentorships(select(*_AGGREGATES), mentorships)
    if role is not None:
        query = query.where(Evaluation.role == role)
    return _aggregates(*db.session.execute(query).one())


def evaluation_aggregates_by_role(mentorships=None) -> dict[str, EvaluationAggregates]:
    """evaluation_aggregates for the mentees' and the mentors' answers, read in one query
    rather than one per role (the figures page shows both)."""
    rows = db.session.execute(_of_mentorships(
        select(Evaluation.role, *_AGGREGATES).group_by(Evaluation.role), mentorships)).all()
    found = {role: _aggregates(*numbers) for role, *numbers in rows}
    return {role: found.get(role, EvaluationAggregates(answers=0))
            for role in ("mentee", "mentor")}


# Stalled ---------------------------------------------------------------------------


def stalled_clause(now: datetime | None = None) -> ColumnElement[bool]:
    """A condition on Mentorship: active, and for 60 days no meeting held, planned or
    recorded, and no check-in answer. Use it in any query: select(Mentorship).where(...)."""
    cutoff = (now or utcnow()) - STALLED_AFTER
    meeting = exists().where(
        Meeting.mentorship_id == Mentorship.id, Meeting.status != Meeting.CANCELLED,
        or_(Meeting.starts_at >= cutoff, Meeting.recorded_at >= cutoff,
            Meeting.created_at >= cutoff))
    answer = exists().where(
        PersonalLink.mentorship_id == Mentorship.id,
        PersonalLink.purpose == PersonalLink.CHECKIN, PersonalLink.answer.is_not(None),
        PersonalLink.used_at >= cutoff)
    return and_(Mentorship.status == Mentorship.ACTIVE, Mentorship.started_at < cutoff,
                ~meeting, ~answer)


def is_stalled(mentorship: Mentorship, now: datetime | None = None) -> bool:
    """Whether this mentorship is stalled now."""
    return db.session.scalar(select(Mentorship.id).where(
        Mentorship.id == mentorship.id, stalled_clause(now))) is not None


# Signed links for check-ins and evaluations ------------------------------------------


def _signer(purpose: str) -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=f"register.mentorship-{purpose}")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_link(mentorship: Mentorship, user: User, purpose: str, step: str,
               now: datetime | None = None) -> str:
    """A signed, single-use, expiring token for one person; only its hash is stored."""
    secret = secrets.token_urlsafe(32)
    now = now or utcnow()
    db.session.add(PersonalLink(mentorship_id=mentorship.id, user_id=user.id, purpose=purpose,
                                step=step, secret_hash=_digest(secret), created_at=now,
                                expires_at=now + LINK_LIFETIMES[purpose]))
    db.session.flush()
    return _signer(purpose).sign(secret).decode()


def link_from_token(token: str, purpose: str, now: datetime | None = None) -> PersonalLink:
    """The link a token stands for, if genuine, unused and current; else MentorshipError."""
    invalid = "This link is not valid. Check that you copied all of it."
    try:
        secret = _signer(purpose).unsign(token).decode()
    except (BadSignature, UnicodeDecodeError) as error:
        raise MentorshipError(invalid) from error
    link = db.session.scalar(select(PersonalLink).where(
        PersonalLink.secret_hash == _digest(secret), PersonalLink.purpose == purpose))
    if link is None:
        raise MentorshipError(invalid)
    if link.used_at is not None:
        raise MentorshipError("This link has already been used: each one works once.")
    if link.expires_at <= (now or utcnow()):
        raise MentorshipError("This link has expired.")
    if not link.user.is_active:
        raise MentorshipError(invalid)
    return link


def _use(link: PersonalLink, now: datetime, **values) -> None:
    done = db.session.execute(
        update(PersonalLink).where(PersonalLink.id == link.id, PersonalLink.used_at.is_(None))
        .values(used_at=now, **values).execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise MentorshipError("This link has already been used: each one works once.")
    db.session.refresh(link)


def must_be_open_for_check_in(link: PersonalLink) -> None:
    """A check-in can be answered only while its mentorship is active."""
    mentorship = link.mentorship
    if not mentorship.is_active:
        closed = local_time(mentorship.closed_at).strftime("%-d %B %Y") if (
            mentorship.closed_at) else "earlier"
        raise MentorshipError(
            f"This mentorship was closed on {closed}, so there is nothing to check in on "
            "any more. Thank you for answering all the same: the mentorship page keeps its "
            "record, and you can reflect on it and evaluate it there.")


def answer_check_in(link: PersonalLink, answer: str, now: datetime | None = None) -> None:
    """Record one person's check-in answer, once, while the mentorship is active.
    "Not working" tells the coordinators."""
    if answer not in vocab.codes(mvocab.CHECKIN_ANSWERS):
        raise MentorshipError("Choose one of the answers.")
    if link.purpose != PersonalLink.CHECKIN:
        raise MentorshipError("This link is not a check-in.")
    # A check-in is about a relationship that is still going; once closed, an answer
    # would only muddle the stalled figures and alarm the coordinators for nothing.
    must_be_open_for_check_in(link)
    now = now or utcnow()
    _use(link, now, answer=answer)
    mentorship = link.mentorship
    if answer == "not_working":
        admins = db.session.scalars(select(User).where(User.is_admin.is_(True))).all()
        for admin in admins:
            messages.mentorship_not_working(mentorship, by=link.user, to=admin)


def evaluate_by_link(link: PersonalLink, draft: EvaluationDraft,
                     now: datetime | None = None) -> Evaluation:
    """The evaluation sent from the emailed link, without logging in."""
    now = now or utcnow()
    evaluation = submit_evaluation(link.mentorship, by=link.user, draft=draft, now=now)
    return evaluation


def check_in_answers(mentorship: Mentorship) -> list[PersonalLink]:
    """The check-in answers given so far, newest first."""
    return list(db.session.scalars(select(PersonalLink).where(
        PersonalLink.mentorship_id == mentorship.id, PersonalLink.purpose == PersonalLink.CHECKIN,
        PersonalLink.answer.is_not(None)).order_by(PersonalLink.used_at.desc())))


def said_not_working(mentorship: Mentorship, user) -> bool:
    """Whether `user` answered a check-in of this mentorship with "it is not working"."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(PersonalLink.id).where(
        PersonalLink.mentorship_id == mentorship.id, PersonalLink.user_id == user.id,
        PersonalLink.purpose == PersonalLink.CHECKIN,
        PersonalLink.answer == "not_working").limit(1)) is not None


# Reminders, run by the worker and `flask mentorships remind` ---------------------------


@dataclass
class RemindResult:
    """How many mentorships each step reached in one run."""

    check_ins: int = 0
    stalled: int = 0
    evaluations: int = 0

    def __str__(self) -> str:
        return (f"Check-ins sent for {self.check_ins}, stalled reminders for {self.stalled}, "
                f"evaluation reminders for {self.evaluations} mentorship"
                f"{'s' if self.evaluations != 1 else ''}.")


def _claim(mentorship_id: int, step: str, now: datetime) -> bool:
    # The unique row is what makes a step happen once: a second run (or a second
    # process racing this one) fails to insert it and sends nothing.
    try:
        with db.session.begin_nested():
            db.session.add(Reminder(mentorship_id=mentorship_id, step=step, sent_at=now))
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _sent(step_column_value: str):
    return exists().where(Reminder.mentorship_id == Mentorship.id,
                          Reminder.step == step_column_value)


def _send_check_in(mentorship: Mentorship, step: str, now: datetime) -> None:
    for person in (mentorship.mentor, mentorship.mentee):
        token = issue_link(mentorship, person, PersonalLink.CHECKIN, step, now=now)
        messages.mentorship_check_in(mentorship, to=person, other=mentorship.other(person),
                                     token=token, first=step == "day30",
                                     answers=mvocab.CHECKIN_ANSWERS)


def _stalls_to_remind(now: datetime) -> list[tuple[Mentorship, datetime]]:
    """The stalled mentorships not yet reminded of their present silence, with the moment
    it began (the last meeting planned, held or recorded, check-in answer, or the start).

    A handful of grouped queries however many are stalled: the worker runs this often.
    """
    stalled = select(Mentorship.id).where(stalled_clause(now)).scalar_subquery()
    latest: dict[int, datetime] = {}

    def later(rows) -> None:
        for mentorship_id, *moments in rows:
            for moment in filter(None, moments):
                known = latest.get(mentorship_id)
                latest[mentorship_id] = moment if known is None else max(known, moment)

    later(db.session.execute(
        select(Meeting.mentorship_id, func.max(Meeting.starts_at), func.max(Meeting.recorded_at),
               func.max(Meeting.created_at))
        .where(Meeting.mentorship_id.in_(stalled), Meeting.status != Meeting.CANCELLED)
        .group_by(Meeting.mentorship_id)))
    later(db.session.execute(
        select(PersonalLink.mentorship_id, func.max(PersonalLink.used_at))
        .where(PersonalLink.mentorship_id.in_(stalled),
               PersonalLink.purpose == PersonalLink.CHECKIN, PersonalLink.answer.is_not(None))
        .group_by(PersonalLink.mentorship_id)))
    reminded = dict(db.session.execute(
        select(Reminder.mentorship_id, func.max(Reminder.sent_at))
        .where(Reminder.mentorship_id.in_(stalled), Reminder.step.startswith("stalled"))
        .group_by(Reminder.mentorship_id)).all())
    # Only the ones due are loaded whole: most stalled pairs were reminded on an earlier run.
    due: dict[int, datetime] = {}
    for mentorship_id, started_at in db.session.execute(
            select(Mentorship.id, Mentorship.started_at).where(Mentorship.id.in_(stalled))):
        silent_since = max(filter(None, (started_at, latest.get(mentorship_id))))
        last_reminder = reminded.get(mentorship_id)
        if last_reminder is None or last_reminder < silent_since:
            due[mentorship_id] = silent_since
    if not due:
        return []
    return [(mentorship, due[mentorship.id]) for mentorship in db.session.scalars(
        select(Mentorship).where(Mentorship.id.in_(list(due))).order_by(Mentorship.id))]


def remind(now: datetime | None = None) -> RemindResult:
    """Send every check-in and reminder that is due, each exactly once per mentorship."""
    # Every run claims steps in the same order (step by step, by id), so two runs at once
    # on PostgreSQL wait for each other's claim rows instead of deadlocking over them.
    now = now or utcnow()
    result = RemindResult()
    # 30 days after acceptance.
    for mentorship in db.session.scalars(select(Mentorship).where(
            Mentorship.status == Mentorship.ACTIVE,
            Mentorship.started_at <= now - FIRST_CHECK_IN, ~_sent("day30"))
            .order_by(Mentorship.id)).all():
        if _claim(mentorship.id, "day30", now):
            _send_check_in(mentorship, "day30", now)
            result.check_ins += 1
    # Each agreed review date, once it has come.
    for agreement in db.session.scalars(select(Agreement).join(Mentorship).where(
            Mentorship.status == Mentorship.ACTIVE, Agreement.status == Agreement.AGREED,
            Agreement.review_on.is_not(None), Agreement.review_on <= now.date())
            .order_by(Agreement.mentorship_id, Agreement.id)).all():
        step = f"review-{agreement.review_on.isoformat()}"
        if _claim(agreement.mentorship_id, step, now):
            _send_check_in(agreement.mentorship, step, now)
            result.check_ins += 1
    # Stalled: one gentle reminder to both each time the pair falls silent, not again
    # while the same silence lasts.
    for mentorship, silent_since in _stalls_to_remind(now):
        if _claim(mentorship.id, f"stalled-{silent_since:%Y%m%dT%H%M%S}", now):
            for person in (mentorship.mentor, mentorship.mentee):
                messages.mentorship_stalled(mentorship, to=person,
                                            other=mentorship.other(person))
            result.stalled += 1
    # The evaluation, once, to whoever has not sent theirs.
    for mentorship in db.session.scalars(select(Mentorship).where(
            Mentorship.status == Mentorship.CLOSED,
            Mentorship.closed_at <= now - EVALUATION_REMINDER_AFTER,
            Mentorship.closed_at > now - EVALUATION_REMINDER_WINDOW,
            ~_sent("evaluation")).order_by(Mentorship.id)).all():
        missing = [p for p in (mentorship.mentor, mentorship.mentee)
                   if evaluation_of(mentorship, p) is None and p.is_active]
        if missing and _claim(mentorship.id, "evaluation", now):
            for person in missing:
                token = issue_link(mentorship, person, PersonalLink.EVALUATION, "reminder",
                                   now=now)
                messages.mentorship_evaluation_reminder(mentorship, to=person,
                                                        evaluation_token=token)
            result.evaluations += 1
    return result


# What to do next ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One line of the checklist on the mentorship page."""

    label: str
    done: bool
    optional: bool = False


def next_steps(mentorship: Mentorship) -> list[Step]:
    """Agree how you will work → plan the first meeting → meet → review → close."""
    all_meetings = meetings(mentorship)
    live = [m for m in all_meetings if m.status != Meeting.CANCELLED]
    return [
        Step("Agree how you will work", current_agreement(mentorship) is not None,
             optional=not is_formal(mentorship)),
        Step("Plan the first meeting", bool(live)),
        Step("Meet", any(m.status == Meeting.HELD for m in all_meetings)),
        Step("Review how it is going", bool(check_in_answers(mentorship))),
        Step("Close, reflect and evaluate", not mentorship.is_active),
    ]


# The mentee's portfolio --------------------------------------------------------------


@dataclass
class PortfolioEntry:
    """One of the mentee's mentors and what they help with."""

    mentorship: Mentorship
    mentor_name: str
    knowing: list[str]
    contexts: list[str]
    goals: list[str]


@dataclass
class Portfolio:
    """The mentee's mentors, and which forms of knowing active ones cover."""

    entries: list[PortfolioEntry]
    covered: list[str]
    gaps: list[str]


def _help_with(mentorship: Mentorship) -> tuple[list[str], list[str], list[str]]:
    agreed = current_agreement(mentorship)
    request = original_request(mentorship)
    profile = mentor_profile(mentorship)
    offered = set(profile.knowing) if profile else set()
    if agreed is not None and agreed.knowing:
        knowing = list(agreed.knowing)
    elif request is not None and offered & set(request.knowing):
        knowing = [c for c in request.knowing if c in offered]
    else:
        knowing = [c for c in vocab.codes(vocab.KNOWING) if c in offered]
    offered_contexts = set(profile.contexts) if profile else set()
    wanted = set(request.contexts) if request else set()
    contexts = [c for c in vocab.codes(vocab.CONTEXTS)
                if c in ((offered_contexts & wanted) or offered_contexts or wanted)]
    return knowing, contexts, list(agreed.goals) if agreed else []


def portfolio(user: User) -> Portfolio:
    """The mentee's mentors, current and past, and the forms of knowing not yet covered."""
    entries = []
    covered: set[str] = set()
    for mentorship in db.session.scalars(
            select(Mentorship).where(Mentorship.mentee_id == user.id)
            .order_by((Mentorship.status == Mentorship.ACTIVE).desc(),
                      Mentorship.started_at.desc())):
        knowing, contexts, goals = _help_with(mentorship)
        profile = mentor_profile(mentorship)
        entries.append(PortfolioEntry(
            mentorship, profile.display_name if profile else mentorship.mentor.name,
            knowing, contexts, goals))
        if mentorship.is_active:
            covered.update(knowing)
    order = vocab.codes(vocab.KNOWING)
    return Portfolio(entries, [c for c in order if c in covered],
                     [c for c in order if c not in covered])


# The mentor's record ---------------------------------------------------------------


@dataclass
class RecordRow:
    """One mentorship in the mentor's record."""

    mentorship: Mentorship
    mentee_name: str
    started: date
    ended: date | None
    status: str
    meetings_held: int
    hours: float


@dataclass
class MentoringRecord:
    """A mentor's mentorships, meetings and hours, with evaluation figures when there are
    enough answers."""

    rows: list[RecordRow]
    meetings_held: int
    hours: float
    aggregates: EvaluationAggregates


def mentoring_record(user: User) -> MentoringRecord:
    """For appraisal, revalidation or accreditation: everything, including ended ones."""
    held = (select(Meeting.mentorship_id, func.count(Meeting.id).label("n"),
                   func.coalesce(func.sum(Meeting.minutes), 0).label("minutes"))
            .where(Meeting.status == Meeting.HELD).group_by(Meeting.mentorship_id).subquery())
    rows = []
    for mentorship, count, minutes in db.session.execute(
            select(Mentorship, held.c.n, held.c.minutes)
            .outerjoin(held, held.c.mentorship_id == Mentorship.id)
            .where(Mentorship.mentor_id == user.id)
            .order_by(Mentorship.started_at.desc(), Mentorship.id.desc())):
        rows.append(RecordRow(mentorship, mentorship.mentee.name,
                              local_time(mentorship.started_at).date(),
                              local_time(mentorship.closed_at).date()
                              if mentorship.closed_at else None,
                              mentorship.status, count or 0, round((minutes or 0) / 60, 2)))
    return MentoringRecord(
        rows, sum(r.meetings_held for r in rows), round(sum(r.hours for r in rows), 2),
        evaluation_aggregates(Mentorship.mentor_id == user.id, role="mentee"))
