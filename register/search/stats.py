"""Counting what mentees search for, cheaply: in memory first, written in batches.

A search never writes. The page notes its query here (a dictionary update
under a lock); once the response has gone, the process writes what it has
gathered if the last write was long enough ago, one upsert per distinct
query and day. Only the first page of a search with words counts, and
nothing says who searched. The worker deletes rows older than twelve months.
A process that dies loses at most FLUSH_EVERY seconds of counts: these are
figures for a report, not records.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from register.database import utcnow, writing
from register.extensions import db
from register.search import query as text_query
from register.search.models import SearchQueryStat

FLUSH_EVERY = 30.0  # seconds
MAX_PENDING = 500  # distinct queries held before a write is due anyway
MAX_HELD = 20_000  # never more in memory, however long writes fail
KEEP_DAYS = 365

_lock = threading.Lock()
_pending: dict[tuple[date, str, str], list[int]] = {}  # key -> [searches, results]
_last_flush = time.monotonic()


def words_of(text: str) -> str:
    """The query's words as they are counted: lower case, operators and stop words dropped."""
    return " ".join(word for part in text_query.split(text) for word in part.words
                    if text_query.analyse(word))


def filters_of(params) -> str:
    """One canonical string for a search's filters, the same whatever order they came in."""
    parts = [f"{group}={','.join(sorted(codes))}"
             for group, codes in sorted(params.filters.items()) if codes]
    if not params.accepting:
        parts.append("accepting=0")
    if params.in_training:
        parts.append("in_training=1")
    return ";".join(sorted(parts))


def note(params, results: int, *, today: date | None = None) -> None:
    """Count one search (page one of a search with words only); never touches the database."""
    if params.page != 1:
        return
    words = words_of(params.text)
    if not words:
        return
    key = (today or utcnow().date(), words, filters_of(params))
    with _lock:
        if key not in _pending and len(_pending) >= MAX_HELD:
            return  # the database has been away a while: these figures can be missed
        counts = _pending.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] = results


def due(now: float | None = None) -> bool:
    """Whether this process should write its counts now."""
    now = time.monotonic() if now is None else now
    with _lock:
        return bool(_pending) and (now - _last_flush >= FLUSH_EVERY
                                   or len(_pending) >= MAX_PENDING)


def flush() -> int:
    """Write the counts gathered so far and commit; returns how many rows were written.

    Call it outside any request's transaction (after the response, or from the
    worker): it commits. Counts that cannot be written are kept for next time.
    """
    global _last_flush
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    if not batch:
        return 0
    insert = (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)
    try:
        with writing():
            for (day, words, filters), (searches, results) in sorted(batch.items()):
                statement = insert(SearchQueryStat).values(
                    day=day, words=words, filters=filters, searches=searches, results=results)
                db.session.execute(statement.on_conflict_do_update(
                    index_elements=["day", "words", "filters"],
                    set_={"searches": SearchQueryStat.searches + searches, "results": results}))
            db.session.commit()
    except Exception:
        db.session.rollback()
        with _lock:  # put them back, added to anything counted meanwhile
            for key, (searches, results) in batch.items():
                counts = _pending.setdefault(key, [0, results])
                counts[0] += searches
        raise
    return len(batch)


def flush_after_response(app) -> None:
    """Called once a search's response is sent: write the counts if they are due."""
    if not due():
        return
    with app.app_context():
        try:
            flush()
        except Exception as error:  # kept in memory; the next search's response tries again
            # One line, no traceback: during a database outage this repeats.
            app.logger.warning("Writing the search statistics failed: %s", repr(error))
        finally:
            db.session.remove()


def forget_old(today: date | None = None) -> int:
    """Delete the counts older than twelve months; returns how many rows went. Commits."""
    cutoff = (today or utcnow().date()) - timedelta(days=KEEP_DAYS)
    with writing():
        gone = db.session.execute(
            delete(SearchQueryStat).where(SearchQueryStat.day < cutoff)).rowcount
        db.session.commit()
    return gone or 0
