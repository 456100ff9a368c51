"""The one place that turns a profile into its search document."""

from __future__ import annotations

from datetime import date

from register.mentors.models import MentorProfile


def document(profile: MentorProfile, *, active_mentorships: int, today: date) -> dict:
    """The fields Whoosh stores and indexes for a published profile."""
    paused = profile.is_paused(today)
    full = active_mentorships >= profile.capacity
    accepting = not paused and not full
    return {
        "id": str(profile.id),
        "name": profile.display_name,
        "headline": ", ".join(filter(None, [profile.headline, profile.organisation])),
        "expertise": " ; ".join(profile.expertise or []),
        "bio": profile.bio,
        "place": " ".join(filter(None, [profile.location, *(profile.languages or [])])),
        "sector": profile.sector or "none",
        "knowing": " ".join(profile.knowing or []) or "none",
        "contexts": " ".join(profile.contexts or []) or "none",
        "formats": " ".join(profile.formats or []) or "none",
        "kind": _kinds(profile.kind),
        "accepting": "yes" if accepting else "no",
        "in_training": "yes" if profile.in_training else "no",
        "published": int((profile.published_at or profile.created_at).timestamp()),
        # What `search check` compares with the database.
        "version": f"{profile.updated_at.isoformat()}|{'yes' if accepting else 'no'}",
        "status": "paused" if paused else ("full" if full else "open"),
        "shown": {"location": profile.location or "", "sector": profile.sector or "",
                  "formats": list(profile.formats or []), "kind": profile.kind or "",
                  "in_training": bool(profile.in_training)},
    }


def _kinds(kind: str) -> str:
    # A mentor offering both matches a filter for either.
    if kind == "both":
        return "both formal informal"
    return kind or "none"
