"""Figures about mentorships and their evaluations, from the mentorships area's rules.

What "stalled" means and when evaluation figures may be shown belong to
register.mentorships.services (stalled_clause, evaluation_aggregates_by_role); this
module only counts with them, so the report and the mentorship pages agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select

from register.extensions import db
from register.mentors.models import MentorProfile
from register.mentorships.models import Meeting, Mentorship
from register.reports.tables import Table, chart, nearest_rank, whole_units

MIN_ANSWERS = 3
SUPPRESSED = "fewer than 3 answers"


def _in_sector(period):
    if not period.sector:
        return None
    return Mentorship.mentor_id.in_(
        select(MentorProfile.user_id).where(MentorProfile.sector == period.sector))


def figures(period, now: datetime):
    """(summary figures, tables, the evaluation table) for `period`."""
    try:
        from register.mentorships import services as mentorships
        from register.mentorships import vocabulary as mvocab
    except ImportError:  # the mentorships area's rules are not installed yet
        mentorships = mvocab = None

    sector = _in_sector(period)

    def scoped(*conditions):
        return and_(*conditions, sector) if sector is not None else and_(*conditions)

    started = db.session.scalar(select(func.count()).where(scoped(
        Mentorship.started_at >= period.since, Mentorship.started_at < period.until))) or 0
    active = db.session.scalar(select(func.count()).where(scoped(
        Mentorship.status == Mentorship.ACTIVE))) or 0
    stalled = None
    if mentorships is not None:
        stalled = db.session.scalar(select(func.count()).select_from(Mentorship).where(
            scoped(mentorships.stalled_clause(now)))) or 0
    closed_in_period = scoped(Mentorship.status == Mentorship.CLOSED,
                              Mentorship.closed_at >= period.since,
                              Mentorship.closed_at < period.until)
    closed = dict(db.session.execute(
        select(Mentorship.close_reason, func.count()).where(closed_in_period)
        .group_by(Mentorship.close_reason)).all())
    reasons = mvocab.CLOSE_REASONS if mvocab is not None else ()
    closed_rows = [[c.label, closed.pop(c.code, 0)] for c in reasons]
    if closed:
        closed_rows.append(["Another or no reason recorded", sum(closed.values())])
    if not any(count for _, count in closed_rows):
        closed_rows = []

    held = select(func.count(), func.coalesce(func.sum(Meeting.minutes), 0)).where(
        Meeting.status == Meeting.HELD, Meeting.starts_at >= period.since,
        Meeting.starts_at < period.until)
    if sector is not None:
        # Only a sector needs the mentorship; every meeting has one (a foreign key), so
        # without a sector the join would add nothing but a lookup per meeting.
        held = held.join(Mentorship, Mentorship.id == Meeting.mentorship_id).where(sector)
    meetings_held, minutes = db.session.execute(held).one()

    # Time from acceptance (the mentorship starting) to its first meeting held, for
    # mentorships started in the period.
    started_scope = scoped(Mentorship.started_at >= period.since,
                           Mentorship.started_at < period.until)
    first = (select(Meeting.mentorship_id, func.min(Meeting.starts_at).label("first_at"))
             .where(Meeting.status == Meeting.HELD,
                    Meeting.mentorship_id.in_(select(Mentorship.id).where(started_scope)))
             .group_by(Meeting.mentorship_id).subquery())
    # Whole days, counted by the database; the median is picked from those counts.
    waited = whole_units(Mentorship.started_at, first.c.first_at, 86400)
    days = dict(db.session.execute(
        select(waited, func.count()).select_from(Mentorship)
        .join(first, first.c.mentorship_id == Mentorship.id).group_by(waited)).all())
    with_meeting = sum(days.values())
    median_days = nearest_rank(days, 0.5)
    median_wait = None if median_days is None else median_days * 86400.0

    summary = {"started": started, "active": active, "stalled": stalled,
               "closed": sum(count for _, count in closed_rows), "meetings_held": meetings_held,
               "hours": round(minutes / 60, 1), "median_first_meeting": median_wait,
               "with_first_meeting": with_meeting}
    tables = [Table("mentorships-closed", "Mentorships closed, by reason",
                    ["Reason", "Mentorships"], closed_rows,
                    chart=chart("Mentorships closed by reason", closed_rows),
                    empty="No mentorship closed in this period.")]
    return summary, tables, evaluation_table(period, mentorships)


def evaluation_table(period, mentorships) -> Table:
    """Kirkpatrick's levels from the closing evaluations of mentorships closed in the
    period; a figure appears only when at least 3 answers stand behind it."""
    columns = ["Level", "Question", "Mentees", "Mentors"]
    title = "Evaluations by Kirkpatrick level"
    if mentorships is None:
        return Table("evaluation", title, columns, [],
                     empty="Evaluation figures arrive with the mentorships' closing "
                           "evaluations.")
    sector = _in_sector(period)
    closed = and_(Mentorship.status == Mentorship.CLOSED, Mentorship.closed_at >= period.since,
                  Mentorship.closed_at < period.until)
    if sector is not None:
        closed = and_(closed, sector)
    ids = select(Mentorship.id).where(closed)
    by_role = mentorships.evaluation_aggregates_by_role(ids)

    def shown(role: str, value, style: str):
        found = by_role[role]
        if not found.enough or value is None:
            return f"– ({SUPPRESSED})" if found.answers else "–"
        return f"{value * 100:.0f}%" if style == "share" else f"{value:.1f} of 5"

    def changed(role: str):
        count = by_role[role].described_change
        return count if count >= MIN_ANSWERS else (f"– ({SUPPRESSED})" if count else "–")

    rows = [
        ["Reaction", "How useful it was (average)",
         shown("mentee", by_role["mentee"].usefulness, "score"),
         shown("mentor", by_role["mentor"].usefulness, "score")],
        ["Reaction", "Would recommend it",
         shown("mentee", by_role["mentee"].would_recommend, "share"),
         shown("mentor", by_role["mentor"].would_recommend, "share")],
        ["Learning", "Goals met (average)",
         shown("mentee", by_role["mentee"].goals_met, "score"),
         shown("mentor", by_role["mentor"].goals_met, "score")],
        ["Behaviour", "Said what changed (answers)", changed("mentee"), changed("mentor")],
        ["All levels", "Evaluations answered", by_role["mentee"].answers,
         by_role["mentor"].answers],
    ]
    return Table("evaluation", title, columns, rows,
                 note="From the evaluations of mentorships closed in the period. A figure is "
                      "shown only when at least 3 answers stand behind it.")

