"""The search page's answer while this host's index is missing or damaged: a plain listing.

A request never builds the index (that takes minutes on a large register);
the worker or `search sync` repairs it. Until then mentees still see the
published mentors, straight from the database, newest first: the words they
typed must each appear somewhere in a profile's main text, and the filters
apply, but there is no ranking, no stemming and no counts.
"""

from __future__ import annotations

from sqlalchemy import String, cast, func, or_, select

from register.database import utcnow
from register.extensions import db
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from register.search import query as text_query
from register.search.documents import document

MAX_WORDS = 5

# Filter groups kept as JSON lists on the profile, and those kept as one value.
_LIST_COLUMNS = {"knowing": MentorProfile.knowing, "context": MentorProfile.contexts,
                 "format": MentorProfile.formats}


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def listing(params, page_size: int) -> tuple[list[tuple[dict, int]], int]:
    """Search documents (with their place in the list) of one page, and how many match."""
    today = utcnow().date()
    active = (select(func.count()).select_from(Mentorship)
              .where(Mentorship.mentor_id == MentorProfile.user_id,
                     Mentorship.status == Mentorship.ACTIVE)
              .correlate(MentorProfile).scalar_subquery())
    conditions = [MentorProfile.state == MentorProfile.PUBLISHED]
    words = [w for part in text_query.split(params.text) for w in part.words][:MAX_WORDS]
    for word in words:
        pattern = _like(word)
        conditions.append(or_(*(column.ilike(pattern, escape="\\") for column in (
            MentorProfile.display_name, MentorProfile.headline, MentorProfile.organisation,
            MentorProfile.location, MentorProfile.bio, cast(MentorProfile.expertise, String)))))
    for group, codes in params.filters.items():
        if group == "sector":
            conditions.append(MentorProfile.sector.in_(codes))
        elif group == "kind":
            conditions.append(MentorProfile.kind.in_([*codes, "both"]))
        elif group in _LIST_COLUMNS:
            column = cast(_LIST_COLUMNS[group], String)
            conditions.append(or_(*(column.like(f'%"{code}"%') for code in codes)))
    if params.in_training:
        conditions.append(MentorProfile.in_training.is_(True))
    if params.accepting:
        conditions.append(or_(MentorProfile.paused.is_(False),
                              MentorProfile.away_until <= today))
        conditions.append(active < MentorProfile.capacity)
    total = db.session.scalar(select(func.count()).select_from(MentorProfile)
                              .where(*conditions)) or 0
    rows = db.session.execute(
        select(MentorProfile, active).where(*conditions)
        .order_by(MentorProfile.published_at.desc(), MentorProfile.id.desc())
        .offset((params.page - 1) * page_size).limit(page_size)
    ).all()
    return [document(profile, active_mentorships=count, today=today)
            for profile, count in rows], total
