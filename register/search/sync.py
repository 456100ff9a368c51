"""Keeping the index in step with the database: sync, rebuild and check.

The database is the truth. `sync` reads the change log past this index's
high-water mark (and, because PostgreSQL can commit ids out of order, the
last minute of it again), re-reads each changed profile's current row and
updates or deletes its document. `rebuild` builds a fresh generation from
the database and swaps it in. `check` compares the two.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from time import monotonic

from flask import current_app
from sqlalchemy import func, or_, select
from whoosh.index import LockError
from whoosh.reading import SegmentReader

from register.database import reading, utcnow
from register.extensions import db
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from register.search import index, pages, postings, spelling
from register.search.documents import document
from register.search.models import SearchChange

# Changes newer than this are read again on every sync: a transaction that took
# its id earlier may commit later than one that took a higher id.
REPLAY_WINDOW = timedelta(seconds=60)
BATCH = 500


def _active_counts(user_ids) -> dict[int, int]:
    rows = db.session.execute(
        select(Mentorship.mentor_id, func.count())
        .where(Mentorship.status == Mentorship.ACTIVE, Mentorship.mentor_id.in_(user_ids))
        .group_by(Mentorship.mentor_id)
    )
    return dict(rows.all())


def documents_for(profile_ids) -> tuple[list[dict], set[str]]:
    """Documents for the published profiles among `profile_ids`, and the ids to delete."""
    today = utcnow().date()
    # populate_existing: a profile already in the session (from an earlier batch
    # of the same sync) is read again, not taken from memory as it was then.
    profiles = db.session.scalars(
        select(MentorProfile).where(MentorProfile.id.in_(list(profile_ids)))
        .execution_options(populate_existing=True)
    ).all()
    counts = _active_counts([p.user_id for p in profiles])
    docs, published = [], set()
    for profile in profiles:
        if profile.state == MentorProfile.PUBLISHED:
            docs.append(document(profile, active_mentorships=counts.get(profile.user_id, 0),
                                 today=today))
            published.add(profile.id)
    deletions = {str(pid) for pid in profile_ids if pid not in published}
    return docs, deletions


@dataclass
class SyncResult:
    applied: int = 0
    high_water: int = 0
    waiting: bool = False  # the index was busy; the changes stay queued
    rebuilt: bool = False  # the index was missing or damaged, and was built again
    damage: list[str] = field(default_factory=list)  # what was wrong with it


def sync(max_seconds: float | None = None, *, repair: bool = True) -> SyncResult:
    """Apply logged changes to the live index; with `repair`, rebuild it if it is damaged.

    Entries past the high-water mark are new. Entries from the last minute are
    read again, and any not applied before (a transaction that committed late
    with a lower id) are applied too; state.json remembers which were.

    The worker and `search sync` repair: a missing or damaged index is rebuilt
    there, one rebuild at a time on this host, and generations nobody reads any
    more are deleted. The sync after a web request never repairs: a rebuild
    takes minutes on a large register, far longer than a request may.
    """
    problems = _damage()
    if problems:
        if not repair:
            return SyncResult(waiting=True, damage=problems)
        log = current_app.logger.info if index.live_path() is None else current_app.logger.warning
        log("Rebuilding the search index: %s", "; ".join(problems))
        try:
            rebuild(wait=False)
        except LockError:
            return SyncResult(waiting=True, damage=problems)  # another process is at it
        return SyncResult(high_water=index.read_state(index.live_path())["high_water"],
                          rebuilt=True, damage=problems)
    if repair:
        index.tidy()
        pages.tidy()
    ix = index.open_live()
    try:
        with index.sync_lock(), reading():
            # Read the log and the profiles only once the lock is ours, so what we
            # write is never older than what the sync before us wrote.
            db.session.rollback()
            result = _apply_logged_changes(ix, max_seconds)
            _write_postings(ix)
            return result
    except LockError:
        return SyncResult(waiting=True)  # another sync is at work; the changes stay queued


# The files of the last generation found whole, so an unchanged one is not read again.
_healthy: dict[str, tuple] = {}


def _listing(path) -> tuple:
    """(name, size, mtime) of the generation's files, leaving out any that vanish meanwhile.

    A writer renames its temporary files (state.json.tmp) into place while we
    list; a file gone between the listing and its stat is not damage.
    """
    files = []
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                if entry.is_file():
                    stat = entry.stat()
                    files.append((entry.name, stat.st_size, stat.st_mtime_ns))
            except FileNotFoundError:
                continue
    return tuple(sorted(files))


def _damage() -> list[str]:
    """index.damage() of the live generation, skipped while its files have not changed."""
    path = index.live_path()
    if path is None:
        return ["no index has been built on this host"]
    try:
        files = _listing(path)
    except OSError as error:
        return [f"the index folder cannot be listed: {error}"]
    if _healthy.get(str(path)) == files:
        return []
    problems = index.damage(path)
    if not problems:
        _healthy.clear()
        _healthy[str(path)] = files
        return []
    with suppress(OSError):
        if _listing(path) != files:
            # Another process committed while we looked: what we saw may be its
            # half-way state, not damage. The next sync looks again.
            return []
    return problems


# The last reason a postings file could not be written, so a lasting cause (a full
# disk, a read-only folder) is logged in full once, not at every sync.
_postings_failure: list[str] = [""]


def _write_postings(ix) -> None:
    """Give each segment without one its postings file (a new segment, or an index from
    before there were any). Searches read Whoosh's files until it is there, so a
    failure here is logged, not raised: the next sync tries again."""
    try:
        postings.write_missing(ix)
    except Exception as error:  # noqa: BLE001
        if repr(error) != _postings_failure[0]:
            _postings_failure[0] = repr(error)
            current_app.logger.exception("Writing a search segment's postings file failed")
        else:
            current_app.logger.info("Writing a search segment's postings file failed "
                                    "again: %r", error)
    else:
        _postings_failure[0] = ""


def _apply_logged_changes(ix, max_seconds: float | None) -> SyncResult:
    # The state of the generation we write to, even if a rebuild swapped another in.
    path = Path(ix.storage.folder)
    state = index.read_state(path)
    high_water = state.get("high_water", 0)
    recent = set(state.get("recent", []))
    since = utcnow() - REPLAY_WINDOW
    deadline = monotonic() + (max_seconds if max_seconds is not None else 1e9)
    result = SyncResult(high_water=high_water)
    last_id = 0
    still_recent: set[int] = set()
    while monotonic() < deadline:
        rows = db.session.execute(
            select(SearchChange.id, SearchChange.profile_id, SearchChange.created_at)
            .where(or_(SearchChange.id > high_water, SearchChange.created_at >= since),
                   SearchChange.id > last_id)
            .order_by(SearchChange.id).limit(BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        still_recent |= {row.id for row in rows if row.created_at >= since}
        fresh = [row for row in rows if row.id not in recent]
        if fresh:
            profile_ids = {row.profile_id for row in fresh}
            docs, deletions = documents_for(profile_ids)
            try:
                with index.writer(ix) as w:
                    for doc in docs:
                        w.update_document(**doc)
                    for doc_id in deletions:
                        w.delete_by_term("id", doc_id)
                spelling.add(path, docs)
            except LockError:
                result.waiting = True
                break
            result.applied += len(fresh)
            recent |= {row.id for row in fresh}
        high_water = max(high_water, last_id)
        result.high_water = high_water
        index.write_state(path, {"high_water": high_water, "recent": sorted(recent & still_recent)})
    db.session.rollback()  # end the read transaction; nothing here writes
    return result


@dataclass
class RebuildResult:
    profiles: int
    seconds: float


def published_documents():
    """The search document of every published profile, read in batches."""
    today = utcnow().date()
    last_id = 0
    while True:
        profiles = db.session.scalars(
            select(MentorProfile)
            .where(MentorProfile.state == MentorProfile.PUBLISHED, MentorProfile.id > last_id)
            .order_by(MentorProfile.id).limit(BATCH)
        ).all()
        if not profiles:
            return
        counts = _active_counts([p.user_id for p in profiles])
        for profile in profiles:
            yield document(profile, active_mentorships=counts.get(profile.user_id, 0),
                           today=today)
        last_id = profiles[-1].id
        db.session.expunge_all()


def rebuild(processes: int = 1, *, wait: bool = True) -> RebuildResult:
    """Build a new generation from the database and swap it in; searches carry on.

    One rebuild at a time on this host: with `wait`, a second one waits for the
    first; without, it raises LockError. A web request never calls this. `search
    rebuild` indexes with several processes; the worker's repair keeps to one.
    """
    started = monotonic()
    # Reading without SQLite's write lock: a rebuild takes seconds, and writers
    # must not wait for it.
    with index.rebuild_lock(wait=wait), reading():
        # Half-built generations of a rebuild that died, and old ones nobody reads.
        index.remove_unused_generations()
        # Changes logged from here on are replayed onto the new generation by sync.
        high_water = db.session.scalar(select(func.max(SearchChange.id))) or 0
        path = index.new_generation()
        try:
            total, words = _fill(path, processes)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        spelling.save(path, words)
        _write_postings(index.open_generation(path))
        index.write_state(path, {"high_water": high_water})
        index.swap_in(path)
    db.session.rollback()
    sync(repair=False)
    seconds = monotonic() - started
    current_app.logger.info("Search index rebuilt: %s profiles in %.1fs", total, seconds)
    return RebuildResult(profiles=total, seconds=seconds)


# Profiles indexed per pass of a rebuild. Whoosh sorts each segment's postings as a
# whole, which grows faster than the segment; passes of a bounded size keep a
# rebuild linear in the register (each pass writes its own segments, unmerged).
PASS_SIZE = 25_000


def _fill(path: Path, processes: int) -> tuple[int, Counter]:
    """Index every published profile into the empty generation at `path`."""
    ix = index.open_generation(path)
    total = 0
    words: Counter = Counter()
    writer = None

    def new_writer():
        if processes > 1:
            # Processes index at once, each writing a segment of its own (no final
            # merge: searches read several segments, and later merges fold them in).
            return ix.writer(procs=processes, multisegment=True, limitmb=256)
        return ix.writer(limitmb=256)

    try:
        for doc in published_documents():
            if writer is None:
                writer = new_writer()
            writer.add_document(**doc)
            words.update(spelling.words_of(doc))
            total += 1
            if total % PASS_SIZE == 0:
                writer, done = None, writer
                done.commit(merge=False)
        if writer is not None or total == 0:  # an empty register still gets its index
            writer, done = None, writer or new_writer()
            done.commit(merge=False)
    except BaseException:
        if writer is not None:
            writer.cancel()
        raise
    return total, words


@dataclass
class CheckResult:
    missing: list[int] = field(default_factory=list)   # published, not in the index
    extra: list[int] = field(default_factory=list)     # in the index, not published
    stale: list[int] = field(default_factory=list)     # in both, but out of date
    damage: list[str] = field(default_factory=list)    # files that cannot be read

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale or self.damage)


def check() -> CheckResult:
    """Compare the database's published profiles with the index, document by document.

    Every segment is opened and read through (stored fields and terms), so a
    damaged file is reported in `damage` rather than raised. Raises
    IndexUnavailable only when there is no index at all.
    """
    if index.live_path() is None:
        raise index.IndexUnavailable("no index has been built on this host")
    with reading():
        return _compare()


def _read_through(ix) -> tuple[dict[int, str], list[str]]:
    """Every stored document's version, reading every segment to the end; and what failed."""
    indexed: dict[int, str] = {}
    problems: list[str] = []
    for segment in ix._segments():
        name = segment.segment_id()
        try:
            reader = SegmentReader(ix.storage, ix.schema, segment)
        except Exception as error:  # noqa: BLE001  (Whoosh raises many kinds)
            problems.append(f"segment {name} cannot be opened: {error!r}")
            continue
        try:
            for fields in reader.all_stored_fields():
                indexed[int(fields["id"])] = fields.get("version")
            for _ in reader.all_terms():
                pass
        except Exception as error:  # noqa: BLE001
            problems.append(f"segment {name} cannot be read: {error!r}")
        finally:
            with suppress(Exception):
                reader.close()
    return indexed, problems


def _compare() -> CheckResult:
    expected = {int(doc["id"]): doc["version"] for doc in published_documents()}
    db.session.rollback()
    result = CheckResult(damage=index.damage())
    try:
        ix = index.open_live()
        indexed, problems = _read_through(ix)
    except index.IndexUnavailable as error:
        indexed, problems = {}, [str(error)]
    result.damage += [p for p in problems if p not in result.damage]
    if result.damage:
        # What a damaged index holds is not worth comparing: it must be rebuilt.
        return result
    result.missing = sorted(set(expected) - set(indexed))
    result.extra = sorted(set(indexed) - set(expected))
    result.stale = sorted(pid for pid in set(expected) & set(indexed)
                          if expected[pid] != indexed[pid])
    return result


def sync_after_request(app) -> None:
    """Called once the response is sent: apply the request's changes within a second."""
    with app.app_context():
        try:
            sync(max_seconds=2.0, repair=False)
        except Exception:  # the worker or the next request catches up
            db.session.rollback()
            app.logger.exception("Updating the search index after a request failed")
        finally:
            db.session.remove()
