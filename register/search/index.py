"""The Whoosh index on this host: open it, write to it, rebuild and swap it, check it.

Layout of SEARCH_INDEX_DIR:

    current          a symbolic link to the live generation
    gen-<n>/         one generation of the index, with state.json (its high-water mark),
                     complete (written once it is whole) and readers.lock (see below)
    .rebuild.lock    held by whoever is rebuilding
    .sync.lock       held by whoever is applying logged changes

A rebuild writes a new generation beside the live one and swaps the link
in one rename, so searches carry on throughout. Writers to the live index
take Whoosh's own lock with a short timeout; a writer that cannot get it
leaves its changes in the database log for the next sync.

Searches only ever read. Every process that reads a generation holds a
shared lock on its readers.lock, so an old generation is deleted only once
nobody reads it any more. Files are read, never memory-mapped: a segment
file truncated under a mapping kills the process with SIGBUS, while a read
of a short file is an exception that the page survives (it falls back to a
plain listing) and that the worker repairs by rebuilding.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pickle
import shutil
import struct
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

from flask import current_app
from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError

from register.search.analysis import FoldingStemAnalyzer

WRITE_LOCK_TIMEOUT = 2.0

# Stemming (mentor, mentoring, mentored) and accent folding (Zoë finds Zoe).
TEXT_ANALYZER = FoldingStemAnalyzer()


def schema() -> Schema:
    """The fields of a search document; see documents.py for how they are filled."""
    return Schema(
        id=ID(stored=True, unique=True),
        name=TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=3.0),
        headline=TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=2.5),
        expertise=TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=2.5),
        # No positions for the long bio: they would double the cost of indexing,
        # and phrases are matched in the short fields (see query.py).
        bio=TEXT(analyzer=TEXT_ANALYZER, stored=True, phrase=False),
        place=TEXT(analyzer=TEXT_ANALYZER, field_boost=1.5),
        sector=KEYWORD(stored=True),
        knowing=KEYWORD(stored=True),
        contexts=KEYWORD(stored=True),
        formats=KEYWORD(stored=True),
        kind=KEYWORD(stored=True),
        accepting=ID(stored=True),
        in_training=ID(stored=True),
        published=NUMERIC(int, bits=64, stored=True, sortable=True),
        version=STORED,
        status=STORED,
        # What a result shows beyond the fields above (place, sector, ways of meeting,
        # kind, in training), so a results page needs nothing from the database.
        shown=STORED,
    )


class IndexUnavailable(Exception):
    """There is no usable index on this host (yet), or it is damaged."""


# What reading a damaged or vanished index can raise, besides Whoosh's own errors.
READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, struct.error,
               pickle.UnpicklingError)
READERS = "readers.lock"
COMPLETE = "complete"


def storage(path: Path) -> FileStorage:
    """The files of one generation, read without memory-mapping (see the module docstring)."""
    return FileStorage(str(path), supports_mmap=False)


def open_generation(path: Path):
    """The Whoosh index in the folder `path`."""
    return storage(path).open_index()


def root() -> Path:
    path = Path(current_app.config["SEARCH_INDEX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def live_path() -> Path | None:
    """The folder of the live generation, or None if there is none."""
    link = root() / "current"
    if not link.exists():
        return None
    return link.resolve()


def open_live():
    """The live index; raises IndexUnavailable if missing or unreadable."""
    path = live_path()
    if path is None:
        raise IndexUnavailable("no index has been built on this host")
    try:
        return open_generation(path)
    except Exception as error:  # a half-copied or damaged folder: rebuild it
        raise IndexUnavailable(f"the index at {path} cannot be opened: {error}") from error


def read_state(path: Path) -> dict:
    try:
        return json.loads((path / "state.json").read_text())
    except (OSError, ValueError):
        return {"high_water": 0}


def write_state(path: Path, state: dict) -> None:
    temporary = path / "state.json.tmp"
    temporary.write_text(json.dumps(state))
    os.replace(temporary, path / "state.json")


@contextmanager
def writer(ix, timeout: float = WRITE_LOCK_TIMEOUT):
    """A writer on `ix`, waiting up to `timeout` for Whoosh's lock; raises LockError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            w = ix.writer()
            break
        except LockError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    try:
        yield w
    except BaseException:
        w.cancel()
        raise
    else:
        # The default merge policy folds small segments together as they pile
        # up; a full optimise happens only when the index is rebuilt.
        w.commit(merge=True)


@contextmanager
def rebuild_lock(wait: bool = True):
    """One rebuild at a time on this host, across processes."""
    with open(root() / ".rebuild.lock", "w") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError as error:
            raise LockError("another process is rebuilding the index") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def sync_lock(timeout: float = WRITE_LOCK_TIMEOUT):
    """One sync at a time on this host, across threads and processes; raises LockError.

    Whoosh's own lock only covers the write. Two syncs that each read the
    database and then wrote could otherwise put the older documents last, or
    the older state.json last, leaving a document out of date for good while
    the high-water mark says it was applied.
    """
    deadline = time.monotonic() + timeout
    with open(root() / ".sync.lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as error:
                if time.monotonic() >= deadline:
                    raise LockError("another sync is updating the index") from error
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _generations() -> list[Path]:
    return sorted((p for p in root().glob("gen-*") if p.name[4:].isdigit()),
                  key=lambda p: int(p.name[4:]))


def new_generation() -> Path:
    """An empty folder for a new generation of the index (call it under rebuild_lock)."""
    existing = [int(p.name[4:]) for p in _generations()]
    path = root() / f"gen-{max(existing, default=0) + 1}"
    path.mkdir()
    # A folder deleted and built again has the same name; the searcher cache tells
    # the generations apart by this.
    (path / "generation.id").write_text(uuid.uuid4().hex)
    (path / READERS).touch()
    whoosh_index.create_in(str(path), schema())
    return path


def swap_in(path: Path) -> None:
    """Make `path` the live generation in one atomic rename (call it under rebuild_lock)."""
    (path / COMPLETE).touch()
    link = root() / "current"
    temporary = root() / f".current-{os.getpid()}-{threading.get_ident()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(path.name)
    os.replace(temporary, link)
    _searchers.clear_all()
    remove_unused_generations()


def remove_unused_generations() -> list[str]:
    """Delete the generations nobody needs: half-built ones and old ones no process reads.

    Call it under rebuild_lock: then no folder is being built, so one without
    its `complete` mark was left by a rebuild that died. A generation some
    process still reads (it holds readers.lock shared) stays until it is free.
    """
    live = live_path()
    removed = []
    for path in _generations():
        if live is not None and path == live:
            continue
        if (path / COMPLETE).exists():
            try:
                handle = os.open(path / READERS, os.O_RDONLY)
            except FileNotFoundError:
                handle = None  # from before readers were counted: nobody can be counted
            if handle is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(handle)
                    continue  # still read by someone; a later rebuild or sync removes it
                try:
                    shutil.rmtree(path, ignore_errors=True)
                finally:
                    os.close(handle)
                removed.append(path.name)
                continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def tidy() -> list[str]:
    """remove_unused_generations(), unless a rebuild is under way on this host."""
    try:
        with rebuild_lock(wait=False):
            return remove_unused_generations()
    except LockError:
        return []


def damage(path: Path | None = None) -> list[str]:
    """What is wrong with a generation's files, read without trusting them; [] if nothing.

    Cheap enough to run on every sync: it opens the table of contents and each
    segment's directory and checks that every part lies within its file. A
    truncated, deleted or garbled segment shows here before a search trips on it.
    """
    path = path or live_path()
    if path is None:
        return ["no index has been built on this host"]
    files = storage(path)
    try:
        ix = files.open_index()
        segments = ix._segments()
    except Exception as error:  # noqa: BLE001  (Whoosh raises many kinds; all mean damaged)
        return [f"the table of contents cannot be read: {error!r}"]
    if set(ix.schema.names()) != set(schema().names()):
        # Built by an earlier version of the register: the worker builds it again.
        return ["the index's fields are not this version's"]
    problems = []
    for segment in segments:
        name = segment.segment_id()
        try:
            if segment.is_compound():
                file = path / segment.make_filename(segment.COMPOUND_EXT)
                size = file.stat().st_size
                handle = files.open_file(file.name)
                try:
                    parts = CompoundStorage(handle, use_mmap=False)._dir
                finally:
                    handle.close()  # also when Whoosh refuses the file
                for part, info in parts.items():
                    if info["offset"] + info["length"] > size:
                        problems.append(f"segment {name} is cut short ({part})")
                        break
            elif not segment.list_files(files):
                problems.append(f"segment {name} has no files")
        except Exception as error:  # noqa: BLE001
            problems.append(f"segment {name} cannot be read: {error!r}")
    return problems


class _Hold:
    """A shared lock on a generation's readers.lock, so nobody deletes it while we read.

    Released by close(), or when the holder is garbage (a thread that ended)."""

    def __init__(self, path: Path):
        self.handle: int | None = None
        try:
            handle = os.open(path / READERS, os.O_RDONLY)
        except FileNotFoundError:
            if not (path / "generation.id").exists():
                raise  # the generation was deleted as we arrived: look again
            return  # a generation from before readers were counted
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            os.close(handle)
            raise OSError(errno.EBUSY, "the generation is being deleted") from error
        self.handle = handle

    def close(self) -> None:
        if self.handle is not None:
            os.close(self.handle)
            self.handle = None

    __del__ = close


class _Open:
    """A thread's searcher on one generation, with its hold on that generation.

    Closed on purpose when the index moves, or when the thread that owned it
    ends (its thread-local state is dropped, and with it this)."""

    def __init__(self, searcher, hold: _Hold):
        self.searcher, self.hold = searcher, hold

    def close(self) -> None:
        if self.searcher is not None:
            with suppress(Exception):  # closing a broken reader must not fail a search
                self.searcher.close()
            self.searcher = None
        self.hold.close()

    __del__ = close


class _Searchers(threading.local):
    """A searcher per thread, reused between requests and refreshed when the index moves.

    Each holds a shared lock on its generation's readers.lock while it is open.
    """

    def __init__(self):
        self.by_path: dict[str, _Open] = {}

    def get(self, path: Path):
        try:
            key = f"{path}#{(path / 'generation.id').read_text()}"
        except OSError:
            key = str(path)
        found = self.by_path.get(key)
        if found is not None:
            try:
                if found.searcher.up_to_date():
                    return found.searcher
                # Not Whoosh's refresh(): it closes the old reader under anyone still
                # using it (ReaderClosed) and leaves some of its files open. A new
                # searcher costs little: the per-segment masks and terms are kept.
                fresh = _stamped(open_generation(path).searcher(), key)
                with suppress(Exception):
                    found.searcher.close()
                found.searcher = fresh
                return fresh
            except Exception as error:  # noqa: BLE001  (a file gone, a damaged table)
                current_app.logger.warning("Reopening the search index: %s", repr(error))
        self.clear_all()
        hold = _Hold(path)
        try:
            searcher = _stamped(open_generation(path).searcher(), key)
        except BaseException:
            hold.close()
            raise
        self.by_path[key] = _Open(searcher, hold)
        return searcher

    def forget(self):
        """Drop this thread's searchers: the next search opens the live generation anew."""
        self.clear_all()

    def clear_all(self):
        # Other threads notice the new generation through the changed path.
        for stale in list(self.by_path):
            self.by_path.pop(stale).close()


def _stamped(searcher, key: str):
    # Which generation, and which commit of it, this searcher reads: cached results
    # are kept per stamp, so a change to the index is never answered from the cache.
    searcher.register_stamp = (key, searcher.reader().generation())
    return searcher


def stamp(searcher) -> tuple:
    """What a searcher reads (generation folder and commit), for caching its answers."""
    return searcher.register_stamp


_searchers = _Searchers()


def searcher():
    """A searcher on the live index for this thread; raises IndexUnavailable.

    Never builds anything. A searcher that cannot refresh (Whoosh's ReaderClosed,
    a file gone) is reopened from whatever generation is live now; only if that
    fails too is the index unavailable.
    """
    problem = ""
    for _ in range(3):
        path = live_path()
        if path is None:
            raise IndexUnavailable("no index has been built on this host")
        try:
            return _searchers.get(path)
        except Exception as failure:  # noqa: BLE001
            # Only its description is kept: whoever kept the exception would keep
            # the files Whoosh left open when it failed.
            problem = repr(failure)
            _searchers.forget()
    raise IndexUnavailable(f"the index at {path} cannot be read: {problem}")


def forget_searchers() -> None:
    """Drop this thread's searcher, after it failed mid-search (a damaged segment)."""
    _searchers.forget()
