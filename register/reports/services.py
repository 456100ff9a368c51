"""The figures that say whether the scheme works, and where mentors are short.

Every figure is a SQL aggregate (counts, sums, one ordered pick per
percentile), never a loop over rows in Python, so the page stays fast at
20,000 profiles and 100,000 requests (bench/reports_bench.py measures it).
Each figure is a Table: what the page shows beside its chart, and what its
CSV download holds.

Definitions, in one place:

- requests belong to the period in which they were sent (created_at);
- the acceptance rate is accepted / (accepted + declined + expired): requests
  still waiting, and those the mentee withdrew, have no outcome to count;
- time to answer counts the mentors' own answers (accepted or declined), not
  the automatic declines when a mentor paused;
- percentiles are "nearest rank": the median of 4 answers is the 2nd fastest;
- a sector narrows everything to mentors in that sector (for demand: requests
  to them, mentees who named it, searches filtered by it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, or_, select

from register.extensions import db
from register.introductions import vocabulary as ivocab
from register.introductions.models import IntroRequest
from register.matching.models import MenteeObjectives
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from register.reports import mentorship_figures
from register.reports.tables import (
    Table,
    as_csv,
    chart,
    count_if,
    csv_safe,
    describe_duration,
    dialect,
    lists,
    month,
    percentile,
    seconds_between,
)

DEFAULT_MONTHS = 12
WAITING_TOO_LONG = timedelta(days=7)
ALMOST_NOTHING = 2  # a search with this many results or fewer "found almost nothing"
MIN_ANSWERS = 3


@dataclass(frozen=True)
class Period:
    """The dates chosen (both inclusive) and, optionally, one sector."""

    start: date
    end: date
    sector: str = ""

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def to_args(self) -> dict:
        args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.sector:
            args["sector"] = self.sector
        return args

    @property
    def sector_label(self) -> str:
        return vocab.label(vocab.SECTORS, self.sector) if self.sector else "All sectors"


def default_period(today: date) -> Period:
    """The last 12 months: 365 days up to and including today."""
    return Period(start=today - timedelta(days=364), end=today)


def period_from(args, today: date) -> tuple[Period, dict[str, str]]:
    """The period a query string asks for, and a message per field that was not a date."""
    default = default_period(today)
    problems: dict[str, str] = {}

    def parse(name: str, fallback: date) -> date:
        text = (args.get(name) or "").strip()
        if not text:
            return fallback
        try:
            return date.fromisoformat(text)
        except ValueError:
            problems[name] = "Enter a date such as 2026-01-31."
            return fallback

    start, end = parse("start", default.start), parse("end", default.end)
    if start > end:
        problems["end"] = "The end date must be on or after the start date."
        start, end = default.start, default.end
    sector = args.get("sector", "")
    if sector not in vocab.codes(vocab.SECTORS):
        sector = ""
    return Period(start, end, sector), problems


# Requests ----------------------------------------------------------------------------------


def _request_scope(period: Period):
    condition = and_(IntroRequest.created_at >= period.since,
                     IntroRequest.created_at < period.until)
    if period.sector:
        condition = and_(condition, IntroRequest.profile_id.in_(
            select(MentorProfile.id).where(MentorProfile.sector == period.sector)))
    return condition


@dataclass
class RequestFigures:
    sent: int
    accepted: int
    declined: int
    withdrawn: int
    expired: int
    waiting: int
    acceptance_rate: float | None
    median_answer: float | None  # seconds
    p90_answer: float | None
    mentors_waiting_long: int
    tables: list[Table] = field(default_factory=list)


def request_figures(period: Period, now: datetime) -> RequestFigures:
    """Requests sent in the period and what became of them; how fast mentors answer."""
    scope = _request_scope(period)
    state = IntroRequest.state
    sent, accepted, declined, withdrawn, expired, waiting = db.session.execute(
        select(func.count(), count_if(state == IntroRequest.ACCEPTED),
               count_if(state == IntroRequest.DECLINED),
               count_if(state == IntroRequest.WITHDRAWN),
               count_if(state == IntroRequest.EXPIRED),
               count_if(state == IntroRequest.PENDING)).where(scope)).one()
    outcomes = accepted + declined + expired
    rate = accepted / outcomes if outcomes else None

    took = seconds_between(IntroRequest.created_at, IntroRequest.answered_at).label("took")
    answered = and_(scope, IntroRequest.answered_at.is_not(None),
                    IntroRequest.closed_note.is_(None),
                    state.in_([IntroRequest.ACCEPTED, IntroRequest.DECLINED]))
    answers = db.session.scalar(select(func.count()).where(answered)) or 0
    values = select(took).where(answered)
    median = percentile(values, took, 0.5, answers)
    p90 = percentile(values, took, 0.9, answers)

    long_waits = and_(state == IntroRequest.PENDING,
                      IntroRequest.created_at <= now - WAITING_TOO_LONG)
    if period.sector:
        long_waits = and_(long_waits, IntroRequest.profile_id.in_(
            select(MentorProfile.id).where(MentorProfile.sector == period.sector)))
    waiting_long = db.session.execute(
        select(MentorProfile.display_name, func.count(), func.min(IntroRequest.created_at))
        .select_from(IntroRequest).join(MentorProfile, MentorProfile.id == IntroRequest.profile_id)
        .where(long_waits).group_by(MentorProfile.id, MentorProfile.display_name)
        .order_by(func.min(IntroRequest.created_at)).limit(50)).all()
    mentors_waiting_long = db.session.scalar(
        select(func.count(func.distinct(IntroRequest.mentor_id))).where(long_waits)) or 0

    outcome_rows = [["Sent", sent], ["Accepted", accepted], ["Declined", declined],
                    ["Withdrawn by the mentee", withdrawn], ["Expired without an answer", expired],
                    ["Still waiting", waiting]]
    reasons = dict(db.session.execute(
        select(IntroRequest.decline_reason, func.count())
        .where(scope, state == IntroRequest.DECLINED)
        .group_by(IntroRequest.decline_reason)).all())
    reason_rows = [[c.label, reasons.get(c.code, 0)] for c in ivocab.DECLINE_REASONS]
    unknown = sum(n for code, n in reasons.items()
                  if code not in vocab.codes(ivocab.DECLINE_REASONS))
    if unknown:
        reason_rows.append(["No reason recorded", unknown])
    if not declined:
        reason_rows = []
    if not sent:
        outcome_rows = []
    by_month = month(IntroRequest.created_at).label("month")
    monthly = db.session.execute(
        select(by_month, func.count(), count_if(state == IntroRequest.ACCEPTED))
        .where(scope).group_by(by_month).order_by(by_month)).all()
    monthly_rows = [[m, n, a] for m, n, a in monthly]
    tables = [
        Table("requests", "What became of the requests sent", ["Outcome", "Requests"],
              outcome_rows, chart=chart("Requests by outcome", outcome_rows)),
        Table("declines", "Declined, by the mentor's reason", ["Reason", "Requests"],
              reason_rows, chart=chart("Declined requests by reason", reason_rows),
              empty="No request was declined in this period."),
        Table("requests-by-month", "Requests sent and accepted, by month",
              ["Month", "Sent", "Accepted"], monthly_rows,
              chart=chart("Requests sent by month", monthly_rows)),
        Table("mentors-waiting", "Mentors with requests waiting more than 7 days",
              ["Mentor", "Requests waiting", "Oldest sent"],
              [[name, n, oldest.strftime("%Y-%m-%d")] for name, n, oldest in waiting_long],
              note="Now, whatever the period: these mentees are waiting today.",
              empty="No request has waited more than 7 days."),
    ]
    return RequestFigures(sent, accepted, declined, withdrawn, expired, waiting, rate, median,
                          p90, mentors_waiting_long, tables)


# Supply and demand ---------------------------------------------------------------------------


def _search_stats():
    """The search statistics model, once the search area has it (see register.search)."""
    from register.search import models

    return getattr(models, "SearchQueryStat", None)


def supply_and_demand(period: Period, today: date) -> list[Table]:
    """Published mentors and their spare places by form of knowing, purpose and sector,
    against what mentees ask for: objectives, requests sent and searches."""
    active = (select(Mentorship.mentor_id, func.count().label("active"))
              .where(Mentorship.status == Mentorship.ACTIVE)
              .group_by(Mentorship.mentor_id).subquery())
    paused = and_(MentorProfile.paused,
                  or_(MentorProfile.away_until.is_(None), MentorProfile.away_until > today))
    room = func.max(MentorProfile.capacity - func.coalesce(active.c.active, 0), 0) \
        if dialect() == "sqlite" else \
        func.greatest(MentorProfile.capacity - func.coalesce(active.c.active, 0), 0)
    spare = case((paused, 0), else_=room)
    published = MentorProfile.state == MentorProfile.PUBLISHED
    if period.sector:
        published = and_(published, MentorProfile.sector == period.sector)

    stats = _search_stats()
    dimensions = [("knowing", "Form of knowing", vocab.KNOWING, "knowing", "knowing"),
                  ("contexts", "Purpose", vocab.CONTEXTS, "contexts", "context")]
    tables = []
    request_scope = _request_scope(period)
    for key, heading, choices, column, search_group in dimensions:
        supply_columns = []
        for c in choices:
            has = lists(getattr(MentorProfile, column), c.code)
            supply_columns += [count_if(has), func.coalesce(func.sum(case((has, spare),
                                                                           else_=0)), 0)]
        supply = db.session.execute(
            select(*supply_columns).select_from(MentorProfile)
            .outerjoin(active, active.c.mentor_id == MentorProfile.user_id)
            .where(published)).one()
        wanted = MenteeObjectives.sector == period.sector if period.sector else literal(True)
        objectives = db.session.execute(select(*[
            count_if(lists(getattr(MenteeObjectives, column), c.code)) for c in choices])
            .where(wanted)).one()
        requests = db.session.execute(select(*[
            count_if(lists(getattr(IntroRequest, column), c.code)) for c in choices])
            .where(request_scope)).one()
        searches = _searches_by_filter(stats, period, search_group, choices)
        rows = []
        for index, c in enumerate(choices):
            rows.append([c.label, supply[2 * index], supply[2 * index + 1], objectives[index],
                         requests[index], searches[index] if searches else "–"])
        tables.append(Table(
            f"supply-{key}", f"Supply and demand by {heading.lower()}",
            [heading, "Mentors published", "Places free", "Mentees' objectives",
             "Requests sent", "Searches"], rows,
            chart=chart(f"Places free by {heading.lower()}", rows, value=2)))

    # By sector: one grouped query each way.
    supply = {s: (n, free) for s, n, free in db.session.execute(
        select(MentorProfile.sector, func.count(), func.coalesce(func.sum(spare), 0))
        .outerjoin(active, active.c.mentor_id == MentorProfile.user_id)
        .where(published).group_by(MentorProfile.sector)).all()}
    objectives = dict(db.session.execute(
        select(MenteeObjectives.sector, func.count()).group_by(MenteeObjectives.sector)).all())
    requests = dict(db.session.execute(
        select(MentorProfile.sector, func.count()).select_from(IntroRequest).join(
            MentorProfile, MentorProfile.id == IntroRequest.profile_id)
        .where(request_scope).group_by(MentorProfile.sector)).all())
    searches = _searches_by_filter(stats, period, "sector", vocab.SECTORS)
    rows = []
    for index, c in enumerate(vocab.SECTORS):
        if period.sector and c.code != period.sector:
            continue
        n, free = supply.get(c.code, (0, 0))
        rows.append([c.label, n, free, objectives.get(c.code, 0), requests.get(c.code, 0),
                     searches[index] if searches else "–"])
    tables.append(Table("supply-sector", "Supply and demand by sector",
                        ["Sector", "Mentors published", "Places free", "Mentees' objectives",
                         "Requests sent", "Searches"], rows,
                        chart=chart("Places free by sector", rows, value=2)))
    return tables


def _searches_by_filter(stats, period: Period, group: str, choices) -> list[int] | None:
    """How many searches in the period filtered by each choice of `group`; None if the
    register does not keep search statistics yet."""
    if stats is None:
        return None
    in_period = and_(stats.day >= period.start, stats.day <= period.end)
    if period.sector and group != "sector":
        in_period = and_(in_period, stats.filters.like(f"%sector={period.sector}%"))
    return list(db.session.execute(select(*[
        func.coalesce(func.sum(case((stats.filters.like(f"%{group}={c.code}%"), stats.searches),
                                    else_=0)), 0) for c in choices]).where(in_period)).one())


def searches_found_little(period: Period, limit: int = 20) -> Table:
    """The most frequent searches that found nothing or almost nothing."""
    stats = _search_stats()
    columns = ["Words searched for", "Filters", "Searches", "Results last time"]
    title = "Searches that found nothing or almost nothing"
    if stats is None:
        return Table("searches-found-little", title, columns, [],
                     empty="The register does not keep search statistics yet.")
    in_period = and_(stats.day >= period.start, stats.day <= period.end,
                     stats.results <= ALMOST_NOTHING)
    if period.sector:
        in_period = and_(in_period, stats.filters.like(f"%sector={period.sector}%"))
    total = func.sum(stats.searches).label("total")
    rows = db.session.execute(
        select(stats.words, stats.filters, total, func.min(stats.results))
        .where(in_period).group_by(stats.words, stats.filters)
        .order_by(total.desc(), stats.words).limit(limit)).all()
    return Table("searches-found-little", title, columns,
                 [[w or "(no words)", f or "(none)", int(n), int(r)] for w, f, n, r in rows],
                 note=f"Searches with {ALMOST_NOTHING} results or fewer. Only the words and "
                      "filters are kept, with no one's identity, for 12 months.",
                 chart=chart("Searches that found little",
                              [[w or "(no words)", int(n)] for w, _, n, _ in rows]),
                 empty="No search in this period came back (nearly) empty.")


# Everything on the page --------------------------------------------------------------------


@dataclass
class Figures:
    period: Period
    requests: RequestFigures
    mentorships: list[Table]
    mentorship_summary: dict
    evaluation: Table
    supply: list[Table]
    searches: Table

    def tables(self) -> list[Table]:
        return [*self.requests.tables, *self.mentorships, self.evaluation, *self.supply,
                self.searches]

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables() if t.key == key), None)


def figures(period: Period, now: datetime) -> Figures:
    """Every figure on the reports page for `period`."""
    summary, mentorship_tables, evaluation = mentorship_figures.figures(period, now)
    return Figures(period=period, requests=request_figures(period, now),
                   mentorships=mentorship_tables, mentorship_summary=summary,
                   evaluation=evaluation, supply=supply_and_demand(period, now.date()),
                   searches=searches_found_little(period))


__all__ = ["Period", "Table", "as_csv", "csv_safe", "describe_duration", "figures",
           "period_from"]
