"""The rules for mentor profiles: editing, the moderation lifecycle, availability, reports.

Functions change the session and flush; the caller commits. A broken rule
raises ProfileError with a message for the person and, where it concerns
one field, the field's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import func, select

from register import signals
from register.admin import audit
from register.auth.models import User
from register.database import utcnow
from register.errors import RuleBroken
from register.extensions import db
from register.mail import messages
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile, ProfileReport
from register.mentorships.models import Mentorship

MAX_EXPERTISE = 15
MAX_BIO = 3000
MIN_BIO = 80
MAX_CAPACITY = 20
LIMITS = {
    "display_name": 120, "headline": 160, "organisation": 160, "location": 120,
    "time_commitment": 120, "training_body": 160, "linkedin_url": 255,
}


class ProfileError(RuleBroken):
    """A profile rule was broken."""


@dataclass
class ProfileData:
    """Everything a mentor can edit, already split into lists where the form has lists."""

    display_name: str = ""
    headline: str = ""
    organisation: str = ""
    sector: str = ""
    location: str = ""
    bio: str = ""
    expertise: list[str] = field(default_factory=list)
    knowing: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    kind: str = ""
    time_commitment: str = ""
    capacity: int = 2
    in_training: bool = False
    training_body: str = ""
    linkedin_url: str = ""


# Normalising what people type ------------------------------------------------


def normalise_tags(values, limit: int | None = MAX_EXPERTISE) -> list[str]:
    """Trim, collapse spaces, case-fold and de-duplicate tags, keeping their order."""
    if isinstance(values, str):
        values = re.split(r"[;,\n]", values)
    seen: list[str] = []
    for value in values:
        tag = " ".join(str(value).split()).casefold()
        if tag and tag not in seen:
            seen.append(tag)
    if limit is not None and len(seen) > limit:
        raise ProfileError(f"List at most {limit} areas of expertise; you listed {len(seen)}.",
                           field="expertise")
    return seen


def normalise_languages(values) -> list[str]:
    """Languages keep their capital letters ("English", "Welsh") but lose repeats."""
    if isinstance(values, str):
        values = re.split(r"[;,\n]", values)
    seen: dict[str, str] = {}
    for value in values:
        name = " ".join(str(value).split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name[0].upper() + name[1:]
    return list(seen.values())


def normalise_bio(text: str) -> str:
    """Plain text with paragraphs kept: trimmed lines, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    lines = []
    for paragraph in paragraphs:
        if paragraph:
            lines.append(paragraph)
    return "\n\n".join(lines)


LINKEDIN_HOSTS = {"linkedin.com", "www.linkedin.com", "uk.linkedin.com"}


def check_linkedin_url(url: str) -> str:
    """An https LinkedIn profile address, or "" for none; raises ProfileError otherwise."""
    url = url.strip()
    if not url:
        return ""
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if (parts.scheme not in {"http", "https"} or not (host in LINKEDIN_HOSTS
            or host.endswith(".linkedin.com")) or not re.match(r"^/(in|pub)/[^/]+", parts.path)):
        raise ProfileError(
            "Enter the address of a LinkedIn profile, like https://www.linkedin.com/in/your-name.",
            field="linkedin_url",
        )
    return f"https://{host}{parts.path.rstrip('/')}"


def clean(data: ProfileData, *, need_training_body: bool = True) -> ProfileData:
    """Check and normalise what was typed; raises ProfileError naming the field.

    An import has no column for the accrediting body, so it passes
    `need_training_body=False`.
    """
    for name, limit in LIMITS.items():
        value = " ".join(str(getattr(data, name) or "").split())
        if len(value) > limit:
            raise ProfileError(f"Use at most {limit} characters.", field=name)
        setattr(data, name, value)
    data.bio = normalise_bio(data.bio or "")
    if len(data.bio) > MAX_BIO:
        raise ProfileError(f"Keep your experience to {MAX_BIO} characters or fewer; it is "
                           f"{len(data.bio)} now.", field="bio")
    data.expertise = normalise_tags(data.expertise)
    data.languages = normalise_languages(data.languages)
    for name in ("sector", "kind"):
        value = getattr(data, name)
        if value and value not in vocab.codes(vocab.VOCABULARIES[name]):
            raise ProfileError("Choose one of the options.", field=name)
    for name in ("knowing", "contexts", "formats"):
        allowed = vocab.codes(vocab.VOCABULARIES[name])
        chosen = [code for code in allowed if code in set(getattr(data, name))]
        if len(chosen) != len(set(getattr(data, name))):
            raise ProfileError("Choose from the options shown.", field=name)
        setattr(data, name, chosen)
    if not 1 <= int(data.capacity) <= MAX_CAPACITY:
        raise ProfileError(f"Capacity is between 1 and {MAX_CAPACITY} mentees at once.",
                           field="capacity")
    data.capacity = int(data.capacity)
    data.linkedin_url = check_linkedin_url(data.linkedin_url)
    if not data.in_training:
        data.training_body = ""
    elif not data.training_body and need_training_body:
        raise ProfileError("Name the body whose accreditation you are training for.",
                           field="training_body")
    return data


# What is missing before submission -------------------------------------------------

CHECKLIST = (
    ("display_name", "Your name as mentees will see it"),
    ("headline", "Your current role (headline)"),
    ("sector", "The sector you work in"),
    ("bio", f"Your experience, in at least {MIN_BIO} characters"),
    ("expertise", "At least one area of expertise"),
    ("knowing", "At least one form of knowing you can support"),
    ("contexts", "At least one mentoring context"),
    ("kind", "Whether you offer formal or informal mentoring"),
    ("formats", "At least one way to meet"),
)


def missing_for_submission(profile: MentorProfile | ProfileData) -> list[tuple[str, str]]:
    """The (field, description) pairs still needed before the profile can be submitted."""
    missing = []
    for name, description in CHECKLIST:
        value = getattr(profile, name)
        if name == "bio":
            if len(value or "") < MIN_BIO:
                missing.append((name, description))
        elif not value:
            missing.append((name, description))
    return missing


# Editing --------------------------------------------------------------------------


def profile_of(user: User) -> MentorProfile | None:
    """The user's mentor profile, if they have started one."""
    return db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))


def start_profile(user: User) -> MentorProfile:
    """The user's profile, created as an empty draft the first time."""
    profile = profile_of(user)
    if profile is None:
        profile = MentorProfile(user=user, display_name=user.name, expertise=[], knowing=[],
                                contexts=[], formats=[], languages=[])
        db.session.add(profile)
        db.session.flush()
    return profile


def apply(profile: MentorProfile, data: ProfileData) -> None:
    """Copy cleaned data onto the profile."""
    for name in ProfileData.__dataclass_fields__:
        setattr(profile, name, getattr(data, name))
    profile.updated_at = utcnow()


def update_profile(profile: MentorProfile, data: ProfileData, *, by: User) -> MentorProfile:
    """Save the mentor's edits. A published profile stays published; admins are told."""
    if profile.state in {MentorProfile.REJECTED, MentorProfile.SUSPENDED}:
        raise ProfileError("This profile cannot be edited while it is "
                           f"{profile.state}. Contact the register's coordinators.")
    apply(profile, clean(data))
    if profile.state == MentorProfile.PUBLISHED:
        profile.edited_since_review = True
        audit.record(by, "profile.edited", profile, "Edited while published.")
    profile_changed(profile)
    db.session.flush()
    return profile


# The lifecycle --------------------------------------------------------------------


VERBS = {
    "profile.submitted": "submitted",
    "profile.approved": "approved",
    "profile.changes_requested": "sent back for changes",
    "profile.rejected": "rejected",
    "profile.suspended": "suspended",
    "profile.reinstated": "reinstated",
}


def _move(profile: MentorProfile, allowed_from: set[str], to: str, *, by: User | None,
          action: str, why: str = "") -> None:
    if profile.state not in allowed_from:
        raise ProfileError(f"A {profile.state} profile cannot be {VERBS[action]}.")
    before = profile.state
    profile.state = to
    profile.updated_at = utcnow()
    audit.record(by, action, profile, f"{before} → {to}" + (f": {why}" if why else ""))
    profile_changed(profile)


def submit(profile: MentorProfile, *, by: User) -> None:
    """Send a draft to the coordinators for vetting."""
    if not by.verified:
        raise ProfileError("Confirm your email address before submitting your profile.")
    missing = missing_for_submission(profile)
    if missing:
        raise ProfileError("Your profile still needs: " +
                           "; ".join(description.lower() for _, description in missing) + ".")
    _move(profile, {MentorProfile.DRAFT}, MentorProfile.SUBMITTED, by=by,
          action="profile.submitted")
    profile.submitted_at = utcnow()


def _required(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ProfileError(f"Write {what}; the mentor will read it.", field="message")
    return text


def approve(profile: MentorProfile, *, by: User, message: str = "") -> None:
    """Publish a submitted profile."""
    _move(profile, {MentorProfile.SUBMITTED}, MentorProfile.PUBLISHED, by=by,
          action="profile.approved", why=message)
    profile.published_at = profile.published_at or utcnow()
    profile.moderation_note = None
    profile.edited_since_review = False
    messages.profile_approved(profile, message.strip())


def request_changes(profile: MentorProfile, *, by: User, note: str) -> None:
    """Send a submitted profile back to the mentor with a note of what to change."""
    note = _required(note, "what should change")
    _move(profile, {MentorProfile.SUBMITTED}, MentorProfile.DRAFT, by=by,
          action="profile.changes_requested", why=note)
    profile.moderation_note = note
    messages.profile_changes_requested(profile, note)


def reject(profile: MentorProfile, *, by: User, reason: str) -> None:
    """Refuse a submitted profile, with the reason."""
    reason = _required(reason, "the reason")
    _move(profile, {MentorProfile.SUBMITTED}, MentorProfile.REJECTED, by=by,
          action="profile.rejected", why=reason)
    profile.moderation_note = reason
    messages.profile_rejected(profile, reason)


def suspend(profile: MentorProfile, *, by: User, reason: str) -> None:
    """Take a published profile off the register, with the reason."""
    reason = _required(reason, "the reason")
    _move(profile, {MentorProfile.PUBLISHED}, MentorProfile.SUSPENDED, by=by,
          action="profile.suspended", why=reason)
    profile.moderation_note = reason
    messages.profile_suspended(profile, reason)
    _decline_waiting_requests(profile, "their profile has been taken off the register for now")


def reinstate(profile: MentorProfile, *, by: User, reason: str) -> None:
    """Put a suspended profile back on the register."""
    reason = _required(reason, "the reason")
    _move(profile, {MentorProfile.SUSPENDED}, MentorProfile.PUBLISHED, by=by,
          action="profile.reinstated", why=reason)
    profile.moderation_note = None
    messages.profile_reinstated(profile, reason)


def mark_reviewed(profile: MentorProfile, *, by: User) -> None:
    """An administrator has looked at the edits made since approval."""
    if not profile.edited_since_review:
        raise ProfileError("There are no edits waiting for review.")
    profile.edited_since_review = False
    audit.record(by, "profile.edits_reviewed", profile, "Edits since approval reviewed.")


# Availability --------------------------------------------------------------------


def pause(profile: MentorProfile, *, by: User, away_until: date | None = None) -> None:
    """Stop taking requests, until a date or until resumed."""
    if away_until is not None and away_until <= utcnow().date():
        raise ProfileError("Choose a date after today, or leave it empty.", field="away_until")
    profile.paused = True
    profile.away_until = away_until
    audit.record(by, "profile.paused", profile,
                 f"Away until {away_until.isoformat()}." if away_until else "Paused.")
    profile_changed(profile)
    _decline_waiting_requests(profile, "they have paused their profile and are not taking "
                                       "requests at the moment")


def resume(profile: MentorProfile, *, by: User) -> None:
    """Take requests again."""
    profile.paused = False
    profile.away_until = None
    audit.record(by, "profile.resumed", profile, "Taking requests again.")
    profile_changed(profile)


def active_mentorships(profile: MentorProfile) -> int:
    """How many active mentorships the mentor has now."""
    return db.session.scalar(
        select(func.count()).where(Mentorship.mentor_id == profile.user_id,
                                   Mentorship.status == Mentorship.ACTIVE)
    ) or 0


@dataclass(frozen=True)
class Availability:
    """Whether the mentor takes requests now, and if not, why, in words for mentees."""

    taking_requests: bool
    reason: str


def availability(profile: MentorProfile, today: date | None = None) -> Availability:
    """Published, not paused and below capacity means taking requests."""
    if profile.state != MentorProfile.PUBLISHED:
        return Availability(False, "This profile is not on the register.")
    if profile.is_paused(today):
        if profile.away_until:
            return Availability(False, f"Away until {profile.away_until:%-d %B %Y}; not "
                                       "taking requests until then.")
        return Availability(False, "Not taking requests at the moment.")
    if active_mentorships(profile) >= profile.capacity:
        return Availability(False, "Full: mentoring as many people as they can just now.")
    return Availability(True, "Taking requests now.")


# Reports ------------------------------------------------------------------------


def report(profile: MentorProfile, *, by: User, reason: str) -> ProfileReport:
    """Record a concern about a profile for the coordinators.

    Only people who have confirmed their address may report, and each person
    has at most one open report about a profile, so nobody can bury the
    coordinators (or a mentor) under reports from throwaway accounts.
    """
    if not by.verified:
        raise ProfileError("Confirm your email address before you report a profile.")
    already = db.session.scalar(select(ProfileReport.id).where(
        ProfileReport.profile_id == profile.id, ProfileReport.reporter_id == by.id,
        ProfileReport.resolved_at.is_(None)).limit(1))
    if already is not None:
        raise ProfileError("You have already reported this profile, and the coordinators have "
                           "not finished looking at it. They will act on that report; there "
                           "is no need to send another.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ProfileError("Tell the coordinators what is wrong, in a sentence or two.",
                           field="reason")
    if len(reason) > 2000:
        raise ProfileError("Keep the report to 2,000 characters.", field="reason")
    found = ProfileReport(profile=profile, reporter_id=by.id, reason=reason)
    db.session.add(found)
    db.session.flush()
    audit.record(by, "report.opened", found, f"About profile {profile.id}.")
    return found


def resolve_report(found: ProfileReport, *, by: User, note: str) -> None:
    """Close a report with a note of what was done."""
    if found.resolved_at is not None:
        raise ProfileError("This report was already resolved.")
    note = (note or "").strip()
    if not note:
        raise ProfileError("Write what was done about the report.", field="message")
    found.resolved_at = utcnow()
    found.resolved_by_id = by.id
    found.resolution_note = note
    audit.record(by, "report.resolved", found, note)


def _decline_waiting_requests(profile: MentorProfile, explanation: str) -> None:
    # A paused or suspended mentor receives no requests, and those already waiting
    # are answered for them, so no mentee waits 14 days for nothing. Requests live
    # in a higher area, which listens for this (register/introductions/services.py).
    signals.mentor_unavailable.send(profile, explanation=explanation)


def profile_changed(profile: MentorProfile) -> None:
    """A change that mentees may see happened: the one place search hears of it."""
    from register.search import changes

    changes.record(profile)


def remove_for_deleted_account(profile: MentorProfile) -> None:
    """Take a deleted account's profile off the register and empty it of personal details.

    Waiting requests are declined first, with an explanation to each mentee.
    """
    _decline_waiting_requests(profile, "they have left the register")
    before = profile.state
    apply(profile, ProfileData(display_name="Former mentor", capacity=profile.capacity))
    profile.state = MentorProfile.DELETED
    profile.paused = False
    profile.away_until = None
    profile.moderation_note = None
    profile.edited_since_review = False
    audit.record(None, "profile.deleted", profile, f"{before} → deleted with the account.")
    profile_changed(profile)


def resume_returned_mentors(today: date | None = None) -> int:
    """Lift the pauses whose return date has come; their search documents follow."""
    today = today or utcnow().date()
    returning = db.session.scalars(
        select(MentorProfile).where(MentorProfile.paused.is_(True),
                                    MentorProfile.away_until.is_not(None),
                                    MentorProfile.away_until <= today)
    ).all()
    for profile in returning:
        profile.paused = False
        profile.away_until = None
        audit.record(None, "profile.resumed", profile, "Back from away: resumed by itself.")
        profile_changed(profile)
    return len(returning)


@signals.account_leaving.connect
def _remove_profile_of_leaving_account(user: User) -> None:
    # Account deletion lives in auth, below this area: auth announces it, and the
    # profile leaves the register here.
    profile = profile_of(user)
    if profile is not None:
        remove_for_deleted_account(profile)


def result_details(ids: list[int]) -> dict:
    """What a search result shows beyond the index, for the profiles with these ids, by id:
    one query for a page of results, reading only those columns (whole profiles took
    half of a results page's time)."""
    if not ids:
        return {}
    found = db.session.execute(
        select(MentorProfile.id, MentorProfile.location, MentorProfile.sector,
               MentorProfile.formats, MentorProfile.kind, MentorProfile.in_training)
        .where(MentorProfile.id.in_(ids)))
    return {row.id: row for row in found}
