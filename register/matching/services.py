"""The rules for objectives and facilitated matching.

A mentee's objectives are theirs and the coordinators': nobody else reads
them. A coordinator's proposed match is an introductory request marked as
proposed, sent through register.introductions.services.send, so every rule
of a request (who may ask whom, capacity, the mentor's answer links,
expiry) applies to it unchanged; here we add only the note, the email that
tells the mentee who was proposed and why, and the audit entry.

Functions flush and never commit; a broken rule raises MatchingError with
words for the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, exists, func, select

from register import signals
from register.admin import audit
from register.auth.models import User
from register.database import utcnow
from register.errors import RuleBroken
from register.extensions import db
from register.introductions import services as introductions
from register.introductions import vocabulary as ivocab
from register.introductions.models import IntroRequest
from register.mail import messages
from register.matching import pairing, ranking
from register.matching import vocabulary as mvocab
from register.matching.models import MenteeObjectives
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile

NOTE_LIMIT = 1000
SHORTLIST = 5


class MatchingError(RuleBroken):
    """A matching rule was broken."""


@dataclass
class ObjectivesDraft:
    """What the mentee wrote on the form, before it is saved."""

    objectives: list[str] = field(default_factory=list)
    knowing: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    development_areas: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    sector: str = ""
    location: str = ""
    welcome_in_training: bool = False
    facilitated: bool = False


@signals.account_leaving.connect
def forget_objectives(user: User) -> None:
    """A person leaving the register takes their objectives, in their own words, with them.

    Account deletion lives in auth, below this area; it announces the departure
    (register/signals.py) and this receiver does matching's part in its transaction.
    """
    db.session.execute(delete(MenteeObjectives).where(MenteeObjectives.user_id == user.id))


def objectives_of(user: User) -> MenteeObjectives | None:
    """The person's objectives, if they have written any."""
    return db.session.scalar(select(MenteeObjectives).where(MenteeObjectives.user_id == user.id))


def _codes(chosen, choices, name: str) -> list[str]:
    allowed = vocab.codes(choices)
    wanted = set(chosen or [])
    if wanted - set(allowed):
        raise MatchingError("Choose from the options shown.", field=name)
    return [code for code in allowed if code in wanted]


def save_objectives(user: User, draft: ObjectivesDraft, *, now: datetime | None = None
                    ) -> MenteeObjectives:
    """Check and keep what the mentee wants; asking for facilitated matching joins the queue."""
    now = now or utcnow()
    objectives = [" ".join(text.split()) for text in draft.objectives or []]
    objectives = [text for text in objectives if text]
    if not objectives:
        raise MatchingError("Write at least one thing you want from mentoring, in your own "
                            "words.", field="objectives")
    if len(objectives) > mvocab.MAX_OBJECTIVES:
        raise MatchingError(f"Keep to {mvocab.MAX_OBJECTIVES} objectives: the ones that "
                            "matter most.", field="objectives")
    for text in objectives:
        if len(text) > mvocab.OBJECTIVE_LENGTH:
            raise MatchingError(f"Keep each objective to {mvocab.OBJECTIVE_LENGTH} characters; "
                                f"one has {len(text)}.", field="objectives")
    if len({t.casefold() for t in objectives}) != len(objectives):
        raise MatchingError("Each objective appears once: remove the repeat.",
                            field="objectives")
    location = " ".join((draft.location or "").split())
    if len(location) > 120:
        raise MatchingError("Keep the place to 120 characters.", field="location")
    sector = draft.sector or ""
    if sector and sector not in vocab.codes(vocab.SECTORS):
        raise MatchingError("Choose a sector from the list.", field="sector")

    found = objectives_of(user)
    if found is None:
        found = MenteeObjectives(user_id=user.id, created_at=now)
        db.session.add(found)
    found.objectives = objectives
    found.knowing = _codes(draft.knowing, vocab.KNOWING, "knowing")
    found.contexts = _codes(draft.contexts, vocab.CONTEXTS, "contexts")
    found.development_areas = _codes(draft.development_areas, mvocab.DEVELOPMENT_AREAS,
                                     "development_areas")
    found.formats = _codes(draft.formats, vocab.FORMATS, "formats")
    found.sector = sector
    found.location = location
    found.welcome_in_training = bool(draft.welcome_in_training)
    if draft.facilitated and not found.facilitated:
        found.waiting_since = now
    elif not draft.facilitated:
        found.waiting_since = None
    found.facilitated = bool(draft.facilitated)
    found.updated_at = now
    db.session.flush()
    return found


def suggestions_for(user: User, limit: int = 10) -> list[ranking.Suggestion]:
    """'Mentors for you': the best fits taking requests now, with reasons; none without
    objectives."""
    wants = objectives_of(user)
    if wants is None:
        return []
    return ranking.rank(wants, limit=limit)


# The coordinators' queue ------------------------------------------------------------


def _matched_since_waiting():
    # A proposal still open or accepted, or any accepted request, since they joined
    # the queue: someone is matched, or about to be. A declined or expired proposal
    # puts them back in the queue.
    return exists().where(
        IntroRequest.mentee_id == MenteeObjectives.user_id,
        IntroRequest.created_at >= MenteeObjectives.waiting_since,
        (IntroRequest.state == IntroRequest.ACCEPTED)
        | ((IntroRequest.state == IntroRequest.PENDING) & IntroRequest.proposed_by_id.is_not(None)))


def waiting_mentees(limit: int = 100) -> list[MenteeObjectives]:
    """Mentees waiting for a coordinator to find them a mentor, longest waiting first."""
    return list(db.session.scalars(
        select(MenteeObjectives).join(User, User.id == MenteeObjectives.user_id)
        .where(MenteeObjectives.facilitated, MenteeObjectives.waiting_since.is_not(None),
               User.deleted_at.is_(None), ~_matched_since_waiting())
        .order_by(MenteeObjectives.waiting_since, MenteeObjectives.id).limit(limit)))


@dataclass
class QueueEntry:
    wants: MenteeObjectives
    shortlist: list[ranking.Suggestion]
    earlier: list[IntroRequest]  # proposals made for them before, newest first


QUEUE_PAGE = 20


def count_waiting() -> int:
    """How many mentees are waiting for facilitated matching."""
    return db.session.scalar(
        select(func.count()).select_from(MenteeObjectives)
        .join(User, User.id == MenteeObjectives.user_id)
        .where(MenteeObjectives.facilitated, MenteeObjectives.waiting_since.is_not(None),
               User.deleted_at.is_(None), ~_matched_since_waiting())) or 0


def queue(limit: int = QUEUE_PAGE) -> list[QueueEntry]:
    """The longest-waiting mentees, each with a shortlist of the best-fitting mentors and
    reasons (a shortlist is a few searches, so a page holds QUEUE_PAGE of them)."""
    waiting = waiting_mentees(limit)
    if not waiting:
        return []
    candidates = ranking.taking_requests()
    earlier: dict[int, list[IntroRequest]] = {}
    for request in db.session.scalars(
            select(IntroRequest).where(IntroRequest.proposed_by_id.is_not(None),
                                       IntroRequest.mentee_id.in_([w.user_id for w in waiting]))
            .order_by(IntroRequest.created_at.desc())):
        earlier.setdefault(request.mentee_id, []).append(request)
    return [QueueEntry(wants, ranking.rank(wants, limit=SHORTLIST, candidates=candidates),
                       earlier.get(wants.user_id, []))
            for wants in waiting]


def recent_proposals(limit: int = 50) -> list[IntroRequest]:
    """Proposed matches and what became of them, newest first."""
    return list(db.session.scalars(
        select(IntroRequest).where(IntroRequest.proposed_by_id.is_not(None))
        .order_by(IntroRequest.created_at.desc(), IntroRequest.id.desc()).limit(limit)))


def _draft_for(wants: MenteeObjectives, profile: MentorProfile, reasons: str,
               note: str) -> introductions.Draft:
    """The request the mentor receives, written from the mentee's objectives."""
    aspiration = "What I want from mentoring:\n" + "\n".join(f"- {o}" for o in wants.objectives)
    why = note or "The register's coordinators think you are a good fit."
    if reasons:
        why += f"\n\nWhat the coordinators saw: {reasons}."
    formats = [f for f in vocab.codes(ivocab.FORMATS)
               if f in wants.formats and f in (profile.formats or [])]
    return introductions.Draft(
        subject=f"Proposed by the coordinators: mentoring for {wants.user.name}"[:150],
        aspiration=aspiration[:introductions.LIMITS["aspiration"]],
        why_you=why[:introductions.LIMITS["why_you"]],
        ask="call15",
        kind="either",
        contexts=wants.contexts or list(profile.contexts or []) or ["career"],
        knowing=wants.knowing or list(profile.knowing or []) or ["how"],
        formats=formats or [f for f in vocab.codes(ivocab.FORMATS)
                            if f in (profile.formats or [])] or ["video"],
    )


def propose(wants: MenteeObjectives, profile: MentorProfile, *, by: User, note: str = ""
            ) -> IntroRequest:
    """Propose `profile`'s mentor to the mentee: the mentor receives it as a request, the
    mentee is told who and why, and the audit log keeps it."""
    if not by.is_admin:
        raise MatchingError("Only the register's coordinators can propose a match.")
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise MatchingError(f"Keep the note to {NOTE_LIMIT:,} characters.", field="note")
    if not wants.facilitated:
        raise MatchingError(f"{wants.user.name} has not asked for facilitated matching.")
    if profile.user_id in ranking.excluded_mentors(wants.user_id):
        raise MatchingError(f"{profile.display_name} declined {wants.user.name} before, "
                            "already mentors them, or has a request from them waiting.")
    suggestion = ranking.score(wants, profile, ranking.text_hits(ranking.phrases_for(wants)))
    try:
        request = introductions.send(wants.user, profile,
                                     _draft_for(wants, profile, suggestion.summary, note),
                                     proposed_by=by, proposal_note=note)
    except introductions.RequestError as error:
        raise MatchingError(error.message) from error
    messages.match_proposed(request, reasons=[str(r) for r in suggestion.reasons])
    audit.record(by, "match.proposed", request,
                 f"{profile.display_name} proposed to {wants.user.name}."
                 + (f" Note: {note}" if note else ""))
    return request


# Everyone at once ---------------------------------------------------------------------


@dataclass
class DraftPair:
    wants: MenteeObjectives
    suggestion: ranking.Suggestion


def draft_pairings(limit: int = 50) -> list[DraftPair]:
    """A draft pairing for everyone waiting: within capacity, one mentee per mentor while
    others fit, never a mentor who declined them. Nothing is sent."""
    waiting = waiting_mentees(limit)
    candidates = ranking.taking_requests()
    ranked: dict[int, list[ranking.Suggestion]] = {}
    for wants in waiting:
        ranked[wants.user_id] = ranking.rank(wants, limit=20, candidates=candidates,
                                             with_response_times=False)
    pairs = pairing.pair_everyone(
        [(w.user_id, [(s.profile.id, s.score) for s in ranked[w.user_id]]) for w in waiting],
        candidates.spare)
    by_mentee = {w.user_id: w for w in waiting}
    drafted = []
    for pair in pairs:
        suggestion = next(s for s in ranked[pair.mentee] if s.profile.id == pair.mentor)
        drafted.append(DraftPair(by_mentee[pair.mentee], suggestion))
    return drafted


def search_for(wants: MenteeObjectives, text: str) -> list[ranking.Suggestion]:
    """Mentors taking requests whom the register's search finds for `text`, each with the
    reasons they would fit this mentee; never one excluded for them."""
    from register.search import services as search

    hits = search.search(search.SearchParams(text=text, accepting=True)).hits
    profiles = {p.id: p for p in db.session.scalars(
        select(MentorProfile).where(MentorProfile.id.in_([h.id for h in hits])))}
    excluded = ranking.excluded_mentors(wants.user_id)
    phrase_hits = ranking.text_hits(ranking.phrases_for(wants))
    return [ranking.score(wants, profiles[h.id], phrase_hits) for h in hits
            if h.id in profiles and profiles[h.id].user_id not in excluded]


def send_pairs(pairs: list[tuple[int, int]], *, by: User, note: str = ""
               ) -> tuple[int, list[str]]:
    """Propose each (mentee user id, profile id) pair the coordinator ticked; one refused
    pair does not undo the others. Returns how many were sent and why others were not."""
    sent, problems = 0, []
    for user_id, profile_id in pairs:
        wants = db.session.scalar(select(MenteeObjectives).where(
            MenteeObjectives.user_id == user_id))
        profile = db.session.get(MentorProfile, profile_id)
        if wants is None or profile is None:
            problems.append("A drafted pair no longer exists.")
            continue
        savepoint = db.session.begin_nested()
        try:
            propose(wants, profile, by=by, note=note)
        except RuleBroken as error:
            savepoint.rollback()
            problems.append(f"{wants.user.name} and {profile.display_name}: {error.message}")
        else:
            savepoint.commit()
            sent += 1
    return sent, problems
