"""The Whoosh index on this host: open it, write to it, rebuild and swap it, check it.

Layout of SEARCH_INDEX_DIR:

    current          a symbolic link to the live generation
    gen-<n>/         one generation of the index, with state.json (its high-water mark)
    .rebuild.lock    held by whoever is rebuilding
    .sync.lock       held by whoever is applying logged changes

A rebuild writes a new generation beside the live one and swaps the link
in one rename, so searches carry on throughout. Writers to the live index
take Whoosh's own lock with a short timeout; a writer that cannot get it
leaves its changes in the database log for the next sync.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
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
    )


class IndexUnavailable(Exception):
    """There is no usable index on this host (yet)."""


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
        return whoosh_index.open_dir(str(path))
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


def new_generation() -> Path:
    """An empty folder for a new generation of the index."""
    existing = [int(p.name.split("-")[1]) for p in root().glob("gen-*") if p.name[4:].isdigit()]
    path = root() / f"gen-{max(existing, default=0) + 1}"
    path.mkdir()
    # A folder deleted and built again has the same name; the searcher cache tells
    # the generations apart by this.
    (path / "generation.id").write_text(uuid.uuid4().hex)
    whoosh_index.create_in(str(path), schema())
    return path


def swap_in(path: Path) -> None:
    """Make `path` the live generation in one atomic rename; keep one older one."""
    link = root() / "current"
    temporary = root() / f".current-{os.getpid()}-{threading.get_ident()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(path.name)
    os.replace(temporary, link)
    _searchers.clear_all()
    # Searches that began before the swap may still read the previous
    # generation, so it stays; anything older goes.
    generations = sorted(
        (p for p in root().glob("gen-*") if p.name[4:].isdigit()),
        key=lambda p: int(p.name[4:]),
    )
    for old in generations[:-2]:
        if old != path:
            shutil.rmtree(old, ignore_errors=True)


class _Searchers(threading.local):
    """A searcher per thread, reused between requests and refreshed when the index moves."""

    def __init__(self):
        self.by_path: dict[str, object] = {}

    def get(self, path: Path):
        try:
            key = f"{path}#{(path / 'generation.id').read_text()}"
        except OSError:
            key = str(path)
        searcher = self.by_path.get(key)
        if searcher is not None:
            if not searcher.up_to_date():
                searcher = searcher.refresh()
                self.by_path[key] = searcher
            return searcher
        for stale in list(self.by_path):
            self.by_path.pop(stale).close()
        searcher = whoosh_index.open_dir(str(path)).searcher()
        self.by_path[key] = searcher
        return searcher

    def clear_all(self):
        # Other threads notice the new generation through the changed path.
        for stale in list(self.by_path):
            self.by_path.pop(stale).close()


_searchers = _Searchers()


def searcher():
    """A searcher on the live index for this thread; raises IndexUnavailable."""
    path = live_path()
    if path is None:
        raise IndexUnavailable("no index has been built on this host")
    try:
        return _searchers.get(path)
    except Exception as error:
        raise IndexUnavailable(f"the index at {path} cannot be read: {error}") from error
