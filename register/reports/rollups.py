"""Requests counted per day and sector: live for recent days, kept for days that are done.

`request_days(since, until)` counts a range of days with two grouped
queries (outcomes, reasons and hours to answer; what was asked for). The
figures page adds up those days. A day 16 days old can no longer change
(every request sent that day has been answered, withdrawn or has expired),
so `roll_up()` (run by the worker) keeps its counts in RequestDay and the
page reads them instead of the requests: a year is 365 small rows.

Kept days are counts as they stood when kept: a request deleted later with
its account stays counted, as it happened.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Text, and_, case, cast, func, select

from register.database import utcnow
from register.extensions import db
from register.introductions.models import IntroRequest
from register.mentors.models import MentorProfile
from register.reports.models import RequestDay
from register.reports.tables import codes_in, dialect, whole_units

# Requests expire 14 days after they are sent (the worker expires them before it rolls
# days up), so a day 16 days old has nothing left to change.
FINAL_AFTER = timedelta(days=16)
MAX_DAYS_PER_RUN = 400


def _day(column, by: str = "day"):
    # "YYYY-MM-DD", or "YYYY-MM" when only months are wanted.
    if dialect() == "postgresql":
        return func.to_char(column, "YYYY-MM-DD" if by == "day" else "YYYY-MM")
    return func.substr(column, 1, 10 if by == "day" else 7)  # "YYYY-MM-DD HH:MM:SS.ffffff"


def _rounded(hours: int) -> int:
    # To the hour within two days, to the day beyond: all the figures show, and a kept
    # day holds a few dozen numbers per sector rather than hundreds.
    hours = max(0, int(hours or 0))
    return hours if hours < 48 else hours - hours % 24


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def request_days(since: datetime, until: datetime, by: str = "day") -> dict[str, dict]:
    """{day: {sector: {"s": states, "r": reasons, "k": knowing, "c": contexts, "h": hours}}}
    for the requests sent in [since, until); with by="month", keyed by month instead
    (fewer groups, when the days themselves are not kept)."""
    days: dict[str, dict] = {}

    def slot(day: str, sector: str | None) -> dict:
        return days.setdefault(day, {}).setdefault(
            sector or "", {"s": {}, "r": {}, "k": {}, "c": {}, "h": {}})

    def add(counts: dict, key, n: int) -> None:
        key = str(key)
        counts[key] = counts.get(key, 0) + int(n)

    day = _day(IntroRequest.created_at, by)
    sent = and_(IntroRequest.created_at >= since, IntroRequest.created_at < until)

    def grouped(*columns):
        return db.session.execute(
            select(day, MentorProfile.sector, *columns, func.count()).select_from(IntroRequest)
            .join(MentorProfile, MentorProfile.id == IntroRequest.profile_id)
            .where(sent).group_by(day, MentorProfile.sector, *columns)).all()

    # The mentors' own answers; automatic declines (a pause) carry a closed_note.
    answered = and_(IntroRequest.answered_at.is_not(None), IntroRequest.closed_note.is_(None),
                    IntroRequest.state.in_([IntroRequest.ACCEPTED, IntroRequest.DECLINED]))
    # Outcomes, reasons and hours to answer in one pass over ix_intro_request_figures,
    # which holds every column they read; hours are NULL for requests not answered so.
    hours = case((answered, whole_units(IntroRequest.created_at, IntroRequest.answered_at,
                                        3600)), else_=None)
    for when, sector, state, reason, taken, n in grouped(
            IntroRequest.state, IntroRequest.decline_reason, hours):
        counts = slot(when, sector)
        add(counts["s"], state, n)
        if state == IntroRequest.DECLINED:
            add(counts["r"], reason or "", n)
        if taken is not None:
            add(counts["h"], _rounded(taken), n)
    for when, sector, knowing, contexts, n in grouped(cast(IntroRequest.knowing, Text),
                                                      cast(IntroRequest.contexts, Text)):
        counts = slot(when, sector)
        for code in codes_in(knowing):
            add(counts["k"], code, n)
        for code in codes_in(contexts):
            add(counts["c"], code, n)
    return days


def _merge(into: dict, by_sector: dict) -> None:
    """Add one day's (or month's) counts by sector into `into`."""
    for sector, counts in by_sector.items():
        target = into.setdefault(sector, {"s": {}, "r": {}, "k": {}, "c": {}, "h": {}})
        for part, values in counts.items():
            slot = target.setdefault(part, {})
            for key, n in values.items():
                slot[key] = slot.get(key, 0) + n


# Kept days never change, so their sums by month are remembered per process: a view of
# the figures then reads one summary row of the kept days, not every day's counts. The
# key names the database and exactly which days were kept, so a new kept day is a miss.
_KEPT_SUMS: dict[tuple, dict[str, dict]] = {}
_KEPT_SUMS_SIZE = 64


def _kept_by_month(start: date, end: date) -> tuple[dict[str, dict], date | None, date | None]:
    """The kept days from `start` to `end` summed by month, and the first and last kept."""
    first, last, count, computed = db.session.execute(
        select(func.min(RequestDay.day), func.max(RequestDay.day), func.count(),
               func.max(RequestDay.computed_at))
        .where(RequestDay.day >= start, RequestDay.day <= end)).one()
    if not count:
        return {}, None, None
    key = (str(db.engine.url), id(db.engine), start, end, first, last, count, computed)
    if key not in _KEPT_SUMS:
        months: dict[str, dict] = {}
        for day, figures in db.session.execute(
                select(RequestDay.day, RequestDay.figures)
                .where(RequestDay.day >= start, RequestDay.day <= end)):
            _merge(months.setdefault(day.isoformat()[:7], {}), figures)
        if len(_KEPT_SUMS) >= _KEPT_SUMS_SIZE:
            _KEPT_SUMS.clear()
        _KEPT_SUMS[key] = months
    return _KEPT_SUMS[key], first, last


def days_by_date(start: date, end: date) -> dict[str, dict]:
    """The counts of every day from `start` to `end` (inclusive), summed by month:
    {"YYYY-MM..." : {sector: counts}}. Kept days come from RequestDay (keyed
    "YYYY-MM@kept"), the others are counted now ("YYYY-MM#n"); the month, the first
    seven characters, is all the figures need."""
    kept, first_kept, last_kept = _kept_by_month(start, end)
    found = {f"{month}@kept": figures for month, figures in kept.items()}
    # Kept days are contiguous (roll_up keeps every day in order, empty ones too): the
    # days before and after them are counted now.
    live = [(start, end)]
    if first_kept is not None:
        live = [(start, first_kept - timedelta(days=1)), (last_kept + timedelta(days=1), end)]
    for number, (first, last) in enumerate(live):
        if first <= last:
            counted = request_days(_midnight(first), _midnight(last + timedelta(days=1)),
                                   by="month")
            # The two live stretches may share a month: keep them apart.
            found.update({f"{month}#{number}": figures for month, figures in counted.items()})
    return found


def roll_up(now: datetime | None = None) -> int:
    """Keep the counts of every day that is 16 days old and not kept yet; return how many."""
    now = now or utcnow()
    done_before = (now - FINAL_AFTER).date()
    last = db.session.scalar(select(func.max(RequestDay.day)))
    if last is None:
        first_sent = db.session.scalar(select(func.min(IntroRequest.created_at)))
        if first_sent is None:
            return 0
        first = first_sent.date()
    else:
        first = last + timedelta(days=1)
    until = min(done_before, first + timedelta(days=MAX_DAYS_PER_RUN))
    if first >= until:
        return 0
    counted = request_days(_midnight(first), _midnight(until))
    day = first
    while day < until:
        db.session.add(RequestDay(day=day, figures=counted.get(day.isoformat(), {}),
                                  computed_at=now))
        day += timedelta(days=1)
    db.session.flush()
    return (until - first).days
