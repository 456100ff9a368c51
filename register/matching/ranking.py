"""Which mentors fit a mentee's objectives best, and why, in words a person understands.

The ranking adds up evidence, each kind with the weight in WEIGHTS (the one
place they are set):

- text: each objective and development area is searched for in the Whoosh
  index (the same search mentees use, so stemming, synonyms and typo
  tolerance apply). A mentor the search finds for an objective earns the
  objective's weight, a little less the lower they rank; a mentor found only
  because some of the words matched earns the smaller "partial" weight;
- structure: each shared form of knowing and purpose (context), a shared way
  to meet, the same sector, the same place, and a mentor in training for a
  mentee who welcomes one.

Every point a mentor earns comes with a reason, so what is shown is exactly
what was counted; nobody sees a bare score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from register.extensions import db
from register.introductions import services as introductions
from register.introductions.models import IntroRequest
from register.matching import vocabulary as mvocab
from register.matching.models import MenteeObjectives
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship

WEIGHTS = {
    "objective": 4.0,          # an objective the search finds this mentor for
    "objective_partial": 1.0,  # ... found only by some of its words
    "development_area": 1.5,   # a development area the search finds this mentor for
    "knowing": 2.0,            # per shared form of knowing
    "context": 1.5,            # per shared purpose
    "format": 0.5,             # at least one shared way to meet
    "sector": 1.0,             # the same sector
    "location": 0.75,          # the same town or region
    "in_training": 0.5,        # a mentor in training, for a mentee who welcomes one
}
# How much a search hit's position lowers its text weight: the last of a page of
# 20 hits earns half of what the first does.
RANK_DECAY = 0.5
SEARCH_DEPTH = 20

FORMAT_PHRASES = {"telephone": "telephone calls", "video": "video calls",
                  "in_person": "meeting in person", "email": "email"}


@dataclass(frozen=True)
class Reason:
    """One reason, as a lead ("Shares 2 of your objectives") and the items it names."""

    lead: str
    items: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.lead}: {', '.join(self.items)}" if self.items else self.lead

    @property
    def about_them(self) -> Reason:
        """The reason as told to someone else (a coordinator, the mentor) about the mentee."""
        lead = (self.lead.replace("your ", "their ").replace("near you", "near them"))
        return Reason(lead, self.items)


@dataclass
class Suggestion:
    """A mentor suggested for a mentee, with the reasons behind their place."""

    profile: MentorProfile
    score: float
    reasons: list[Reason] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The reasons in one sentence, said about the mentee (for the mentor's request)."""
        return "; ".join(str(r.about_them) for r in self.reasons)


@dataclass
class Candidates:
    """The mentors taking requests now, loaded once for many mentees (the matching queue)."""

    profiles: list[MentorProfile]
    spare: dict[int, int]  # profile id -> places left before capacity


def taking_requests(today=None) -> Candidates:
    """Published, not paused and under capacity: the mentors a suggestion may name."""
    active = dict(db.session.execute(
        select(Mentorship.mentor_id, func.count()).where(Mentorship.status == Mentorship.ACTIVE)
        .group_by(Mentorship.mentor_id)).all())
    profiles, spare = [], {}
    for profile in db.session.scalars(select(MentorProfile).where(
            MentorProfile.state == MentorProfile.PUBLISHED).order_by(MentorProfile.id)):
        left = profile.capacity - active.get(profile.user_id, 0)
        if left > 0 and not profile.is_paused(today):
            profiles.append(profile)
            spare[profile.id] = left
    return Candidates(profiles, spare)


def excluded_mentors(mentee_id: int) -> set[int]:
    """Mentors (user ids) never to suggest: they declined this mentee, already mentor
    them, or have a request from them waiting."""
    declined = select(IntroRequest.mentor_id).where(
        IntroRequest.mentee_id == mentee_id,
        # A request closed because the mentor paused was not the mentor's answer.
        ((IntroRequest.state == IntroRequest.DECLINED) & IntroRequest.closed_note.is_(None))
        | (IntroRequest.state == IntroRequest.PENDING))
    mentoring = select(Mentorship.mentor_id).where(Mentorship.mentee_id == mentee_id,
                                                   Mentorship.status == Mentorship.ACTIVE)
    return set(db.session.scalars(declined)) | set(db.session.scalars(mentoring)) | {mentee_id}


def text_hits(phrases: list[str]) -> dict[str, dict[int, tuple[int, bool]]]:
    """For each phrase, the profiles the register's search finds: id -> (rank, every word).

    An empty dict for a host with no index yet: suggestions then rest on the
    structured answers alone rather than failing the page.
    """
    from register.search import index
    from register.search import services as search

    try:
        index.searcher()
    except index.IndexUnavailable:
        return {}
    found: dict[str, dict[int, tuple[int, bool]]] = {}
    for phrase in phrases:
        if not phrase.strip() or phrase in found:
            continue
        try:
            results = search.search(search.SearchParams(text=phrase, accepting=True))
        except Exception:  # a suggestion is a help; never fail the page over one phrase
            current_app.logger.exception("Could not search for an objective")
            continue
        if getattr(results, "degraded", False):
            continue  # a plain listing while the index is repaired ranks nothing
        found[phrase] = {hit.id: (rank, not results.matched_any)
                         for rank, hit in enumerate(results.hits[:SEARCH_DEPTH])}
    return found


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def score(wants: MenteeObjectives, profile: MentorProfile,
          hits: dict[str, dict[int, tuple[int, bool]]]) -> Suggestion:
    """How well `profile` fits what the mentee wants, with a reason for every point."""
    total = 0.0
    reasons: list[Reason] = []

    def text_weight(phrase: str, weight: str) -> tuple[float, bool] | None:
        found = hits.get(phrase, {}).get(profile.id)
        if found is None:
            return None
        rank, every_word = found
        share = 1 - RANK_DECAY * rank / SEARCH_DEPTH
        if every_word:
            return WEIGHTS[weight] * share, True
        return WEIGHTS["objective_partial"] * share, False

    shared, touched = [], []
    for objective in wants.objectives:
        result = text_weight(objective, "objective")
        if result:
            total += result[0]
            (shared if result[1] else touched).append(objective)
    if shared:
        reasons.append(Reason(f"Shares {len(shared)} of your objectives" if len(shared) > 1
                              else "Shares your objective", tuple(shared)))
    if touched:
        reasons.append(Reason("Touches on", tuple(touched)))

    areas = []
    for code in wants.development_areas:
        label = vocab.label(mvocab.DEVELOPMENT_AREAS, code)
        result = text_weight(label, "development_area")
        if result and result[1]:
            total += result[0]
            areas.append(label.lower())
    if areas:
        reasons.append(Reason("Experience in " + _join(areas)))

    knowing = [c for c in vocab.codes(vocab.KNOWING)
               if c in wants.knowing and c in (profile.knowing or [])]
    if knowing:
        total += WEIGHTS["knowing"] * len(knowing)
        reasons.append(Reason("Helps with " + _join(
            [vocab.label(vocab.KNOWING, c).lower() for c in knowing])))
    contexts = [c for c in vocab.codes(vocab.CONTEXTS)
                if c in wants.contexts and c in (profile.contexts or [])]
    if contexts:
        total += WEIGHTS["context"] * len(contexts)
        reasons.append(Reason("Mentors for " + _join(
            [vocab.label(vocab.CONTEXTS, c).lower() for c in contexts])))
    formats = [c for c in vocab.codes(vocab.FORMATS)
               if c in wants.formats and c in (profile.formats or [])]
    if formats:
        total += WEIGHTS["format"]
        reasons.append(Reason("Offers " + _join([FORMAT_PHRASES[c] for c in formats])))
    if wants.sector and wants.sector == profile.sector:
        total += WEIGHTS["sector"]
        reasons.append(Reason(f"Works in {vocab.label(vocab.SECTORS, profile.sector)} too"
                              if profile.sector != "other" else "Works in your sector"))
    if _same_place(wants.location, profile.location):
        total += WEIGHTS["location"]
        reasons.append(Reason(f"Based in {profile.location}, near you"))
    if wants.welcome_in_training and profile.in_training:
        total += WEIGHTS["in_training"]
        reasons.append(Reason("A mentor in training, building practice hours"))
    return Suggestion(profile=profile, score=round(total, 4), reasons=reasons)


def _same_place(wanted: str, offered: str) -> bool:
    wanted, offered = (" ".join((wanted or "").casefold().split()),
                       " ".join((offered or "").casefold().split()))
    if not wanted or not offered:
        return False
    return wanted in offered or offered in wanted


def phrases_for(wants: MenteeObjectives) -> list[str]:
    """What is searched for: each objective, and each development area's name."""
    return [*wants.objectives,
            *(vocab.label(mvocab.DEVELOPMENT_AREAS, c) for c in wants.development_areas)]


def rank(wants: MenteeObjectives, *, limit: int = 10, candidates: Candidates | None = None,
         hits=None, with_response_times: bool = True) -> list[Suggestion]:
    """The `limit` best-fitting mentors taking requests now, best first, each with reasons.

    Never the mentee's own profile, a mentor who declined them, one already
    mentoring them, or one with a request from them waiting.
    """
    candidates = candidates or taking_requests()
    hits = text_hits(phrases_for(wants)) if hits is None else hits
    excluded = excluded_mentors(wants.user_id)
    scored = [score(wants, p, hits) for p in candidates.profiles if p.user_id not in excluded]
    scored = [s for s in scored if s.score > 0]
    # Ties go to the mentor with more room, then to the longer-standing profile.
    scored.sort(key=lambda s: (-s.score, -candidates.spare.get(s.profile.id, 0), s.profile.id))
    best = scored[:limit]
    if with_response_times:
        for suggestion in best:
            words = introductions.describe_response(
                introductions.typical_response(suggestion.profile))
            if words:
                suggestion.reasons.append(Reason(words.replace("replies", "answers")))
    return best
