"""The figures that say whether the scheme works, and where mentors are short.

Every figure is a SQL aggregate (grouped counts and sums), never a loop over
rows in Python, so the page stays fast at
20,000 profiles and 100,000 requests (bench/reports_bench.py measures it).
Each figure is a Table: what the page shows beside its chart, and what its
CSV download holds.

Definitions, in one place:

- requests belong to the period in which they were sent (created_at);
- the acceptance rate is accepted / (accepted + declined + expired): requests
  still waiting, and those the mentee withdrew, have no outcome to count;
- time to answer counts the mentors' own answers (accepted or declined), not
  the automatic declines when a mentor paused;
- percentiles are "nearest rank" (the median of 4 answers is the 2nd fastest)
  over answer times in whole hours within two days, whole days beyond;
- a day's requests are counted live until the day is 16 days old, then kept
  per day (rollups.py), so a year is read from 365 small rows;
- a sector narrows everything to mentors in that sector (for demand: requests
  to them, mentees who named it, searches filtered by it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Text, and_, case, cast, func, literal, or_, select, type_coerce

from register.extensions import db
from register.introductions import vocabulary as ivocab
from register.introductions.models import IntroRequest
from register.matching.models import MenteeObjectives
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from register.reports import mentorship_figures, rollups
from register.reports.tables import (
    Table,
    as_csv,
    chart,
    codes_in,
    csv_safe,
    describe_duration,
    dialect,
    nearest_rank,
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


def _sectors(by_sector: dict, period: Period) -> list[dict]:
    """A day's counts for the period's sector, or for every sector."""
    if period.sector:
        return [by_sector[period.sector]] if period.sector in by_sector else []
    return list(by_sector.values())


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


def request_figures(period: Period, now: datetime, days: dict | None = None
                    ) -> RequestFigures:
    """Requests sent in the period and what became of them; how fast mentors answer.

    `days` are the period's per-day counts (rollups.days_by_date), if already read."""
    state = IntroRequest.state
    # Per day and sector: kept days read from their roll-up, recent ones counted now.
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    months: dict[str, list[int]] = {}
    hours: dict[int, int] = {}
    if days is None:
        days = rollups.days_by_date(period.start, period.end)
    for day, by_sector in days.items():
        tally = months.setdefault(day[:7], [0, 0])
        for counts in _sectors(by_sector, period):
            for what, n in counts["s"].items():
                states[what] = states.get(what, 0) + n
                tally[0] += n
                if what == IntroRequest.ACCEPTED:
                    tally[1] += n
            for reason, n in counts["r"].items():
                reasons[reason] = reasons.get(reason, 0) + n
            for hour, n in counts["h"].items():
                hours[int(hour)] = hours.get(int(hour), 0) + n
    months = {m: t for m, t in months.items() if t[0]}
    accepted, declined, withdrawn, expired, waiting = (
        states.get(s, 0) for s in (IntroRequest.ACCEPTED, IntroRequest.DECLINED,
                                   IntroRequest.WITHDRAWN, IntroRequest.EXPIRED,
                                   IntroRequest.PENDING))
    sent = sum(states.values())
    outcomes = accepted + declined + expired
    rate = accepted / outcomes if outcomes else None
    median, p90 = (None if hour is None else hour * 3600.0
                   for hour in (nearest_rank(hours, share) for share in (0.5, 0.9)))

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
    reason_rows = [[c.label, reasons.get(c.code, 0)] for c in ivocab.DECLINE_REASONS]
    unknown = sum(n for code, n in reasons.items()
                  if code not in vocab.codes(ivocab.DECLINE_REASONS))
    if unknown:
        reason_rows.append(["No reason recorded", unknown])
    if not declined:
        reason_rows = []
    if not sent:
        outcome_rows = []
    monthly_rows = [[m, *months[m]] for m in sorted(months)]
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


def _tally(groups, dimensions: tuple[str, ...]) -> dict[str, dict[str, list[int]]]:
    """Add up grouped rows (knowing list, contexts list, sector, *numbers) per code.

    The database groups the rows by their lists (a few hundred combinations at
    most); each combination's numbers are added to every code in it here.
    """
    # Each list recurs across many groups: add the numbers up per list (or sector)
    # first, then spread each list's totals over its codes.
    per_list: dict[tuple[int, str | None], list[int]] = {}
    for knowing, contexts, sector, *numbers in groups:
        for key in ((0, knowing), (1, contexts), (2, sector)):
            slot = per_list.setdefault(key, [0] * len(numbers))
            for index, number in enumerate(numbers):
                slot[index] += int(number or 0)
    totals: dict[str, dict[str, list[int]]] = {name: {} for name in dimensions}
    for (position, value), numbers in per_list.items():
        codes = codes_in(value) if position < 2 else [value or ""]  # two lists, a sector
        for code in codes:
            slot = totals[dimensions[position]].setdefault(code, [0] * len(numbers))
            for index, number in enumerate(numbers):
                slot[index] += number
    return totals


def supply_and_demand(period: Period, today: date, days: dict | None = None) -> list[Table]:
    """Published mentors and their spare places by form of knowing, purpose and sector,
    against what mentees ask for: objectives, requests sent and searches."""
    # A mentor's active mentorships, counted per profile from ix_mentorship_mentor_status:
    # cheaper than joining all mentors' counts, which SQLite must first gather and index.
    active = (select(func.count()).where(Mentorship.mentor_id == MentorProfile.user_id,
                                         Mentorship.status == Mentorship.ACTIVE)
              .scalar_subquery())
    paused = and_(MentorProfile.paused,
                  or_(MentorProfile.away_until.is_(None), MentorProfile.away_until > today))
    # The places left, never below none; named once so the count runs once per profile.
    larger = func.max if dialect() == "sqlite" else func.greatest
    spare = case((paused, 0), else_=larger(MentorProfile.capacity - active, 0))
    published = MentorProfile.state == MentorProfile.PUBLISHED
    if period.sector:
        published = and_(published, MentorProfile.sector == period.sector)
    dimensions = ("knowing", "contexts", "sector")

    # Each source grouped by its lists (as their JSON text) and sector in the
    # database: one pass each.
    def text(column):
        if dialect() == "sqlite":
            # SQLite keeps JSON as its text already: grouping by the column itself (not a
            # CAST of it) lets the published profiles be read in ix_mentor_profile_supply's
            # order, with no sort.
            return type_coerce(column, Text)
        return cast(column, Text)  # PostgreSQL's json has no equality to group by

    supply = _tally(db.session.execute(
        select(text(MentorProfile.knowing), text(MentorProfile.contexts), MentorProfile.sector,
               func.count(), func.sum(spare))
        .where(published)
        .group_by(text(MentorProfile.knowing), text(MentorProfile.contexts),
                  MentorProfile.sector)).all(), dimensions)
    wanted = MenteeObjectives.sector == period.sector if period.sector else literal(True)
    objectives = _tally(db.session.execute(
        select(text(MenteeObjectives.knowing), text(MenteeObjectives.contexts),
               MenteeObjectives.sector, func.count()).where(wanted)
        .group_by(text(MenteeObjectives.knowing), text(MenteeObjectives.contexts),
                  MenteeObjectives.sector)).all(), dimensions)
    requests: dict[str, dict[str, list[int]]] = {name: {} for name in dimensions}
    if days is None:
        days = rollups.days_by_date(period.start, period.end)
    for by_sector in days.values():
        for sector, counts in by_sector.items():
            if period.sector and sector != period.sector:
                continue
            for name, key in (("knowing", "k"), ("contexts", "c")):
                for code, n in counts[key].items():
                    requests[name].setdefault(code, [0])[0] += n
            requests["sector"].setdefault(sector, [0])[0] += sum(counts["s"].values())
    searches = _searches_by_filter(_search_stats(), period)
    tables = []
    for name, key, heading, choices, group in (
            ("knowing", "supply-knowing", "Form of knowing", vocab.KNOWING, "knowing"),
            ("contexts", "supply-contexts", "Purpose", vocab.CONTEXTS, "context"),
            ("sector", "supply-sector", "Sector", vocab.SECTORS, "sector")):
        rows = []
        for c in choices:
            if name == "sector" and period.sector and c.code != period.sector:
                continue
            mentors, free = supply[name].get(c.code, [0, 0])
            rows.append([c.label, mentors, free, objectives[name].get(c.code, [0])[0],
                         requests[name].get(c.code, [0])[0],
                         searches.get(group, {}).get(c.code, 0) if searches is not None
                         else "–"])
        tables.append(Table(
            key, f"Supply and demand by {heading.lower()}",
            [heading, "Mentors published", "Places free", "Mentees' objectives",
             "Requests sent", "Searches"], rows,
            chart=chart(f"Places free by {heading.lower()}", rows, value=2)))
    return tables


def _chosen_filters(filters: str) -> dict[str, set[str]]:
    """The search statistics' canonical filters ("context=career,skills;knowing=why") as
    {group: codes}."""
    chosen: dict[str, set[str]] = {}
    for part in (filters or "").split(";"):
        group, _, codes = part.partition("=")
        if codes:
            chosen[group] = set(codes.split(","))
    return chosen


def _searches_by_filter(stats, period: Period) -> dict[str, dict[str, int]] | None:
    """How many searches in the period filtered by each code of each group ({group: {code:
    searches}}); None if the register does not keep search statistics yet.

    The database adds the searches up per distinct filter string (a few hundred at
    most); each string's codes are counted here.
    """
    if stats is None:
        return None
    rows = db.session.execute(
        select(stats.filters, func.sum(stats.searches))
        .where(stats.day >= period.start, stats.day <= period.end)
        .group_by(stats.filters)).all()
    counts: dict[str, dict[str, int]] = {}
    for filters, searches in rows:
        chosen = _chosen_filters(filters)
        if period.sector and period.sector not in chosen.get("sector", set()):
            continue
        for group, codes in chosen.items():
            for code in codes:
                slot = counts.setdefault(group, {})
                slot[code] = slot.get(code, 0) + int(searches or 0)
    return counts


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
        # "sector" sorts last in the canonical filters, so all after "sector=" is its codes.
        in_period = and_(in_period, stats.filters.like(f"%sector=%{period.sector}%"))
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
    days = rollups.days_by_date(period.start, period.end)
    return Figures(period=period, requests=request_figures(period, now, days),
                   mentorships=mentorship_tables, mentorship_summary=summary,
                   evaluation=evaluation, supply=supply_and_demand(period, now.date(), days),
                   searches=searches_found_little(period))


__all__ = ["Period", "Table", "as_csv", "csv_safe", "describe_duration", "figures",
           "period_from"]
