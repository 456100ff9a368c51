"""The rules for introductory requests: who may ask whom, answering, and expiry.

Every rule lives here, so the compose page, the inbox, the email links and
the worker all apply the same ones. Functions flush and never commit; a
broken rule raises RequestError with words for the person.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from register import signals
from register.auth.models import User
from register.database import utcnow
from register.errors import RuleBroken
from register.extensions import db
from register.introductions import vocabulary as ivocab
from register.introductions.models import IntroRequest
from register.mail import messages
from register.mentors import services as profiles
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship

MAX_PENDING = 5
PER_DAY = 10
REMIND_AFTER = timedelta(days=7)
EXPIRE_AFTER = timedelta(days=14)
LIMITS = {"subject": 150, "aspiration": 1200, "why_you": 1200, "availability": 500,
          "message": 2000}
MIN_LENGTHS = {"aspiration": 20, "why_you": 20}


class RequestError(RuleBroken):
    """A request rule was broken."""


@dataclass
class Draft:
    """What the mentee wrote, before it is a request."""

    subject: str = ""
    aspiration: str = ""
    why_you: str = ""
    ask: str = "call15"
    kind: str = "either"
    contexts: list[str] = field(default_factory=list)
    knowing: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    availability: str = ""


def suggested_subject(profile: MentorProfile) -> str:
    """A subject line that states the ask, as the seed's guidance recommends."""
    area = (profile.expertise or [profile.headline or "your field"])[0]
    return f"15 minutes of your time – your experience in {area}"


# Who may ask whom ------------------------------------------------------------


def refusal(mentee: User, profile: MentorProfile) -> str | None:
    """Why `mentee` cannot send `profile` a request now, or None if they can."""
    if not mentee.verified:
        return ("Confirm your email address before sending requests: follow the link we "
                "sent you, or ask for a new one on your account page.")
    if profile.user_id == mentee.id:
        return "This is your own profile: you cannot send yourself a request."
    if profile.state == MentorProfile.SUSPENDED:
        return "This mentor is not on the register at the moment."
    if profile.state != MentorProfile.PUBLISHED:
        return "This mentor is not on the register."
    open_request = db.session.scalar(
        select(IntroRequest.id).where(IntroRequest.mentee_id == mentee.id,
                                      IntroRequest.mentor_id == profile.user_id,
                                      IntroRequest.state == IntroRequest.PENDING))
    if open_request is not None:
        return ("You already have a request waiting for this mentor. You can see it, or "
                "withdraw it, in your requests.")
    if db.session.scalar(select(Mentorship.id).where(
            Mentorship.mentee_id == mentee.id, Mentorship.mentor_id == profile.user_id,
            Mentorship.status == Mentorship.ACTIVE)) is not None:
        return "This mentor is already mentoring you."
    availability = profiles.availability(profile)
    if not availability.taking_requests:
        return f"This mentor is not taking requests now. {availability.reason}"
    pending = db.session.scalar(select(func.count()).where(
        IntroRequest.mentee_id == mentee.id, IntroRequest.state == IntroRequest.PENDING))
    if pending >= MAX_PENDING:
        return (f"You have {pending} requests waiting for an answer, the most you can have "
                "at once. Withdraw one, or wait for answers, before sending another.")
    today = db.session.scalar(select(func.count()).where(
        IntroRequest.mentee_id == mentee.id,
        IntroRequest.created_at >= utcnow() - timedelta(days=1)))
    if today >= PER_DAY:
        return (f"You have sent {today} requests in the last 24 hours, the most we allow. "
                "Please try again tomorrow.")
    return None


def clean(draft: Draft) -> Draft:
    """Check and tidy what the mentee wrote; raises RequestError naming the field."""
    for name, limit in LIMITS.items():
        if not hasattr(draft, name):
            continue
        value = getattr(draft, name) or ""
        value = " ".join(value.split()) if name == "subject" else value.strip().replace(
            "\r\n", "\n")
        if name == "subject" and not value:
            raise RequestError("Write a subject line that says what you are asking for.",
                               field="subject")
        if len(value) > limit:
            raise RequestError(f"Use at most {limit} characters; this has {len(value)}.",
                               field=name)
        if name in MIN_LENGTHS and len(value) < MIN_LENGTHS[name]:
            raise RequestError("Write a sentence or two here: it is what helps a mentor say "
                               "yes.", field=name)
        setattr(draft, name, value)
    if draft.ask not in vocab.codes(ivocab.ASKS):
        raise RequestError("Choose what you are asking for.", field="ask")
    if draft.kind not in vocab.codes(ivocab.KINDS):
        raise RequestError("Choose formal, informal or either.", field="kind")
    for name, choices, message in (
        ("contexts", vocab.CONTEXTS, "Choose at least one purpose."),
        ("knowing", vocab.KNOWING, "Choose at least one form of knowing."),
        ("formats", ivocab.FORMATS, "Choose at least one way to meet."),
    ):
        allowed = vocab.codes(choices)
        chosen = [code for code in allowed if code in set(getattr(draft, name))]
        if not chosen or len(chosen) != len(set(getattr(draft, name))):
            raise RequestError(message, field=name)
        setattr(draft, name, chosen)
    return draft


def send(mentee: User, profile: MentorProfile, draft: Draft, *, proposed_by: User | None = None,
         proposal_note: str = "") -> IntroRequest:
    """Create the request and email it to the mentor, if every rule allows.

    A coordinator's proposed match (register.matching) comes through here too, marked
    with who proposed it, so every rule and the same answer links apply to it.
    """
    # Taking the write lock before the checks (as every POST does on SQLite, and row
    # locks on PostgreSQL) stops two quick clicks both passing: the mentor's row for
    # one request per mentor, the mentee's for the limits on requests sent from two
    # tabs at once. Locking in id order keeps two such sends from deadlocking.
    db.session.execute(select(User.id).where(User.id.in_([profile.user_id, mentee.id]))
                       .order_by(User.id).with_for_update())
    reason = refusal(mentee, profile)
    if reason:
        raise RequestError(reason)
    draft = clean(draft)
    now = utcnow()
    request = IntroRequest(
        mentee_id=mentee.id, mentor_id=profile.user_id, profile_id=profile.id,
        subject=draft.subject, aspiration=draft.aspiration, why_you=draft.why_you,
        ask=draft.ask, kind=draft.kind, contexts=draft.contexts, knowing=draft.knowing,
        formats=draft.formats, availability=draft.availability,
        created_at=now, expires_at=now + EXPIRE_AFTER,
        proposed_by_id=proposed_by.id if proposed_by is not None else None,
        proposal_note=proposal_note.strip() or None if proposed_by is not None else None,
    )
    db.session.add(request)
    db.session.flush()
    messages.request_received(request, accept_token=answer_token(request, "accept"),
                              decline_token=answer_token(request, "decline"))
    return request


# Links in the mentor's email -----------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="register.intro-answer")


def answer_token(request: IntroRequest, action: str) -> str:
    """A signed link token: this request, this mentor, this action."""
    return _serializer().dumps({"r": request.id, "m": request.mentor_id, "a": action})


def from_token(token: str, action: str) -> IntroRequest:
    """The request a link stands for, if the link is genuine, current and still usable."""
    try:
        data = _serializer().loads(token, max_age=int(EXPIRE_AFTER.total_seconds()) + 3600)
    except SignatureExpired as error:
        raise RequestError("This link has expired, and so has the request.") from error
    except BadSignature as error:
        raise RequestError("This link is not valid. Check that you copied all of it.") from error
    if not isinstance(data, dict) or data.get("a") != action:
        raise RequestError("This link is not valid. Check that you copied all of it.")
    request = db.session.get(IntroRequest, data.get("r"))
    if request is None or request.mentor_id != data.get("m"):
        raise RequestError("This link is not valid. Check that you copied all of it.")
    if not request.is_open:
        raise RequestError(f"This request has already been {request.state}: the link works "
                           "only once.")
    return request


# Answering -------------------------------------------------------------------------


def _close(request: IntroRequest, to: str, **values) -> None:
    # A conditional update, so two answers racing (the email link and the inbox,
    # or the worker expiring it) cannot both succeed.
    done = db.session.execute(
        update(IntroRequest)
        .where(IntroRequest.id == request.id, IntroRequest.state == IntroRequest.PENDING)
        .values(state=to, **values)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        db.session.refresh(request)
        raise RequestError(f"This request has already been {request.state}.")
    db.session.refresh(request)


def _must_be_mentor(request: IntroRequest, by: User) -> None:
    if by.id != request.mentor_id:
        raise RequestError("Only the mentor this request was sent to can answer it.")


def accept(request: IntroRequest, *, by: User, message: str = "") -> Mentorship:
    """Accept: a mentorship begins and each person sees the other's email address."""
    _must_be_mentor(request, by)
    message = _message(message)
    profile = request.profile
    # Lock the mentor's row so two acceptances cannot both squeeze under capacity.
    db.session.execute(select(User.id).where(User.id == by.id).with_for_update())
    if request.is_open and profiles.active_mentorships(profile) >= profile.capacity:
        raise RequestError(
            f"You already have {profile.capacity} active mentee"
            f"{'s' if profile.capacity != 1 else ''}, your capacity. Close a mentorship or "
            "raise your capacity on your profile, or decline this request.")
    now = utcnow()
    _close(request, IntroRequest.ACCEPTED, answered_at=now, response_message=message or None)
    mentorship = Mentorship(mentor_id=request.mentor_id, mentee_id=request.mentee_id,
                            started_at=now)
    db.session.add(mentorship)
    db.session.flush()
    profiles.profile_changed(profile)  # it may now be full
    messages.request_accepted(request)
    return mentorship


def decline(request: IntroRequest, *, by: User, reason: str, message: str = "") -> None:
    """Decline with a reason; the mentee hears kindly and is pointed to other mentors."""
    _must_be_mentor(request, by)
    if reason not in vocab.codes(ivocab.DECLINE_REASONS):
        raise RequestError("Choose a reason.", field="reason")
    message = _message(message)
    _close(request, IntroRequest.DECLINED, answered_at=utcnow(), decline_reason=reason,
           response_message=message or None)
    messages.request_declined(request, suggestions=similar_mentors(request))


def withdraw(request: IntroRequest, *, by: User) -> None:
    """The mentee takes back a pending request; the mentor is told."""
    if by.id != request.mentee_id:
        raise RequestError("Only the person who sent a request can withdraw it.")
    _close(request, IntroRequest.WITHDRAWN, closed_at=utcnow())
    messages.request_withdrawn(request)


def _message(text: str) -> str:
    text = (text or "").strip()
    if len(text) > LIMITS["message"]:
        raise RequestError(f"Keep the message to {LIMITS['message']} characters.",
                           field="message")
    return text


@signals.mentor_unavailable.connect
def close_for_unavailable_mentor(profile: MentorProfile, explanation: str) -> int:
    """Decline every pending request to a mentor who paused or was suspended.

    register.mentors.services announces the pause, suspension or departure
    (register/signals.py); these automatic declines are not the mentor's answers,
    so they carry `closed_note` and stay out of the response time.
    """
    pending = db.session.scalars(select(IntroRequest).where(
        IntroRequest.mentor_id == profile.user_id,
        IntroRequest.state == IntroRequest.PENDING)).all()
    for request in pending:
        _close(request, IntroRequest.DECLINED, answered_at=utcnow(), decline_reason="unavailable",
               closed_note=explanation)
        messages.request_declined(request, suggestions=similar_mentors(request))
    return len(pending)


@signals.account_leaving.connect
def withdraw_for_deleted_account(user: User) -> int:
    """Withdraw every request a person leaving the register is still waiting on.

    Account deletion lives in auth, below this area; it announces the departure
    before the name and address are erased, so each mentor is told by name, as
    for any withdrawal.
    """
    waiting = db.session.scalars(select(IntroRequest).where(
        IntroRequest.mentee_id == user.id, IntroRequest.state == IntroRequest.PENDING)).all()
    for request in waiting:
        withdraw(request, by=user)
    return len(waiting)


# Suggestions ----------------------------------------------------------------------


def similar_mentors(request: IntroRequest, limit: int = 3) -> list[MentorProfile]:
    """Published mentors taking requests who support the same purpose, best match first."""
    from register.search import index
    from register.search import services as search

    # search() rebuilds a missing index, and rebuilding rolls the session back:
    # here that would undo the answer being recorded. A host with no index yet
    # sends no suggestions this time; the email still links to the search.
    try:
        index.searcher()
    except index.IndexUnavailable:
        return []
    params = search.SearchParams(
        filters={"context": tuple(request.contexts)} if request.contexts else {},
        accepting=True,
    )
    try:
        results = search.search(params)
    except Exception:  # suggestions are a kindness; never fail a decline over them
        current_app.logger.exception("Could not suggest other mentors")
        return []
    wanted = set(request.knowing)
    candidates = [hit for hit in results.hits if hit.id != request.profile_id
                  and request.mentee_id != _owner(hit.id)]
    candidates.sort(key=lambda hit: -len(wanted & set(hit.knowing)))
    ids = [hit.id for hit in candidates[:limit]]
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(
        select(MentorProfile).where(MentorProfile.id.in_(ids),
                                    MentorProfile.state == MentorProfile.PUBLISHED))}
    return [found[i] for i in ids if i in found]


def _owner(profile_id: int) -> int | None:
    return db.session.scalar(select(MentorProfile.user_id).where(MentorProfile.id == profile_id))


# Expiry, run by the worker -----------------------------------------------------------


def remind_and_expire(now=None) -> tuple[int, int]:
    """Remind mentors after 7 days, expire requests after 14. Running twice sends nothing twice."""
    now = now or utcnow()
    reminded = 0
    for request in db.session.scalars(select(IntroRequest).where(
            IntroRequest.state == IntroRequest.PENDING, IntroRequest.reminded_at.is_(None),
            IntroRequest.created_at <= now - REMIND_AFTER, IntroRequest.expires_at > now)):
        done = db.session.execute(
            update(IntroRequest).where(IntroRequest.id == request.id,
                                       IntroRequest.reminded_at.is_(None))
            .values(reminded_at=now).execution_options(synchronize_session="fetch"))
        if done.rowcount == 1:
            messages.request_reminder(request, accept_token=answer_token(request, "accept"),
                                      decline_token=answer_token(request, "decline"))
            reminded += 1
    expired = 0
    for request in db.session.scalars(select(IntroRequest).where(
            IntroRequest.state == IntroRequest.PENDING, IntroRequest.expires_at <= now)):
        try:
            _close(request, IntroRequest.EXPIRED, closed_at=now)
        except RequestError:
            continue
        messages.request_expired(request, suggestions=similar_mentors(request))
        expired += 1
    return reminded, expired


# Figures --------------------------------------------------------------------------

MIN_ANSWERS_FOR_RESPONSE_TIME = 3


def typical_response(profile: MentorProfile) -> timedelta | None:
    """The median time this mentor took to answer their last 20 requests, once there are 3."""
    rows = db.session.execute(
        select(IntroRequest.created_at, IntroRequest.answered_at)
        .where(IntroRequest.mentor_id == profile.user_id,
               IntroRequest.answered_at.is_not(None),
               IntroRequest.closed_note.is_(None))
        .order_by(IntroRequest.answered_at.desc()).limit(20)
    ).all()
    if len(rows) < MIN_ANSWERS_FOR_RESPONSE_TIME:
        return None
    return timedelta(seconds=statistics.median(
        (answered - created).total_seconds() for created, answered in rows))


def describe_response(delta: timedelta | None) -> str | None:
    """'Usually replies within a day', in words."""
    if delta is None:
        return None
    hours = delta.total_seconds() / 3600
    if hours <= 24:
        return "Usually replies within a day"
    days = int(-(-hours // 24))
    return f"Usually replies within {days} days"


def for_user(user: User, box: str) -> list[IntroRequest]:
    """Requests received (as mentor) or sent (as mentee): waiting ones first, oldest first,
    then the rest, newest first."""
    column = IntroRequest.mentor_id if box == "received" else IntroRequest.mentee_id
    waiting = db.session.scalars(
        select(IntroRequest).where(column == user.id, IntroRequest.state == IntroRequest.PENDING)
        .order_by(IntroRequest.created_at, IntroRequest.id)).all()
    done = db.session.scalars(
        select(IntroRequest).where(column == user.id, IntroRequest.state != IntroRequest.PENDING)
        .order_by(IntroRequest.created_at.desc(), IntroRequest.id.desc()).limit(100)).all()
    return [*waiting, *done]


def visible_to(request: IntroRequest, user) -> bool:
    """Only the two people involved, and the register's administrators."""
    return request.party(user) is not None or bool(getattr(user, "is_admin", False))

