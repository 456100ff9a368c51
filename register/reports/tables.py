"""A figure as a table (what the page shows and the CSV holds), its chart, and the SQL
helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func

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








def whole_units(start, end, seconds: int):
    """SQL for the whole number of `seconds`-long units from `start` to `end`, rounded
    down (a small nudge keeps exactly 48 hours from reading 47.99)."""
    units = seconds_between(start, end) / float(seconds) + 1e-6
    if dialect() == "postgresql":
        return cast(func.floor(units), Integer)
    return cast(units, Integer)  # SQLite's CAST truncates


@functools.lru_cache(maxsize=4096)
def codes_in(text: str | None) -> tuple[str, ...]:
    """The codes in a list as the database stores it (JSON text, '["why", "how"]').

    Grouped rows repeat a few dozen distinct lists hundreds of times, so each is
    read once and remembered (a list's text always means the same codes)."""
    return tuple(json.loads(text or "[]"))


def nearest_rank(histogram: dict[int, int], share: float) -> int | None:
    """The nearest-rank percentile of values counted in a histogram {value: count}: the
    value at position ceil(share * n) in order (the median of 4 is the 2nd)."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return value
    return None


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
    # Spreadsheets that trim spaces on import read " =..." as a formula too.
    risky = text.startswith(_FORMULA_STARTS) or text.lstrip(" \n").startswith(_FORMULA_STARTS)
    return "'" + text if risky else text


def as_csv(table: Table) -> str:
    """The table as CSV text, header first, every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_safe(c) for c in row])
    return out.getvalue()

