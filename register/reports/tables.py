"""A figure as a table (what the page shows and the CSV holds), its chart, and the SQL
helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import Text, and_, case, cast, func, or_, select

from register.extensions import db


@dataclass
class Chart:
    """A bar chart drawn on the server: one bar per row of its table."""

    title: str
    bars: list[tuple[str, float, float]]  # label, value, share of the longest bar (0..1)
    unit: str = ""


@dataclass
class Table:
    """One figure: what the page shows as a table and the CSV download holds."""

    key: str
    title: str
    columns: list[str]
    rows: list[list]
    note: str = ""
    chart: Chart | None = None
    empty: str = "Nothing in this period."


def chart(title: str, rows: list[list], label: int = 0, value: int = 1, unit: str = ""
           ) -> Chart | None:
    values = [(str(r[label]), r[value]) for r in rows if isinstance(r[value], (int, float))]
    top = max((v for _, v in values), default=0)
    if not values or top <= 0:
        return None
    return Chart(title, [(name, v, v / top) for name, v in values], unit)


# Helpers that write the same SQL for SQLite and PostgreSQL ------------------------------


def dialect() -> str:
    return db.session.get_bind().dialect.name


def seconds_between(start, end):
    if dialect() == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def month(column):
    if dialect() == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def lists(column, code: str):
    # Lists are stored as JSON text such as ["why", "whom"]; the quotes keep
    # "how" from matching "whom".
    return cast(column, Text).like(f'%"{code}"%')


def count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def percentiles(value, where, shares: tuple[float, ...]) -> list[float | None]:
    """Nearest-rank percentiles (see ranked_percentiles), without the count."""
    return ranked_percentiles(value, where, shares)[0]


def ranked_percentiles(value, where, shares: tuple[float, ...]
                       ) -> tuple[list[float | None], int]:
    """Nearest-rank percentiles of the SQL expression `value` over the rows `where`
    selects: one sort in the database (a window function), and only the picked rows
    come back.

    The pick for `share` of n values is position ceil(share * n), the one integer p
    with share * n <= p < share * n + 1; the same test picks it out here.
    """
    ranked = select(value.label("value"),
                    func.row_number().over(order_by=value).label("position"),
                    func.count().over().label("total")).where(where).subquery()
    rows = db.session.execute(select(ranked.c.position, ranked.c.value, ranked.c.total).where(
        or_(*[and_(ranked.c.position >= share * ranked.c.total,
                   ranked.c.position < share * ranked.c.total + 1) for share in shares]))).all()
    picked = []
    for share in shares:
        found = [v for position, v, total in rows
                 if share * total <= position < share * total + 1]
        picked.append(float(found[0]) if found else None)
    return picked, (rows[0][2] if rows else 0)


def describe_duration(seconds: float | None) -> str:
    """'2.5 days', '5 hours': how long, for people."""
    if seconds is None:
        return "–"
    hours = seconds / 3600
    if hours < 48:
        return f"{hours:.0f} hour{'s' if round(hours) != 1 else ''}"
    return f"{hours / 24:.1f} days"


# CSV ------------------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str | int | float:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a
    tab or carriage return) gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def as_csv(table: Table) -> str:
    """The table as CSV text, header first, every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_safe(c) for c in row])
    return out.getvalue()

