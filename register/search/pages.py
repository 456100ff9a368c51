"""Pages of results shared by every process that serves this host's index.

Each web worker keeps the pages it answered lately (services.py), but a host
runs several workers, and the next request for the same search goes to
whichever is free: with two workers, half the repeats of a search missed. So
a worker that works a page out also leaves it here, in a folder under the
index named after the index's stamp (its generation and commit), and the
others read it from there. A change to the index moves the stamp, so a page
of an older index is never read; the worker's sync deletes folders nobody has
written to for a while.

A page is stored pickled, behind an HMAC of the app's secret key: the folder
is the register's own, but a file someone else put there is ignored, never
unpickled. Writing is best effort: a full disk or a folder deleted under us
only means the page is worked out again next time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import shutil
import threading
import time
from pathlib import Path

from flask import current_app

# At most this many pages a process writes for one stamp: searches are endless
# (anyone can send new words), disk is not.
WRITES_PER_STAMP = 2000
# A folder nobody has written to for this long belongs to an index that has moved on.
UNUSED_AFTER = 600.0

_lock = threading.Lock()
_written: dict[str, int] = {}


def _root() -> Path:
    return Path(current_app.config["SEARCH_INDEX_DIR"]) / "pages"


def _folder(stamp: tuple) -> Path:
    return _root() / hashlib.sha256(repr(stamp).encode()).hexdigest()[:32]


def _file(stamp: tuple, cache_key: tuple) -> Path:
    return _folder(stamp) / hashlib.sha256(repr(cache_key).encode()).hexdigest()


def _seal(body: bytes) -> bytes:
    key = hashlib.sha256(b"search pages|" + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, body, hashlib.sha256).digest()


def load(stamp: tuple, cache_key: tuple):
    """The page another process (or this one) stored for this stamp and search, or None."""
    try:
        data = _file(stamp, cache_key).read_bytes()
    except OSError:
        return None
    seal, body = data[:32], data[32:]
    if len(seal) != 32 or not hmac.compare_digest(seal, _seal(body)):
        return None
    try:
        stored_for, results = pickle.loads(body)  # noqa: S301  (sealed: written by us)
    except Exception:  # noqa: BLE001  (sealed by us, but from an older version of the code)
        return None
    return results if stored_for == (stamp, cache_key) else None


def save(stamp: tuple, cache_key: tuple, results) -> None:
    """Leave a page for the other processes; quietly nothing if it cannot be written."""
    folder = _folder(stamp)
    with _lock:
        if not folder.exists():
            _written.pop(str(folder), None)
        if _written.get(str(folder), 0) >= WRITES_PER_STAMP:
            return
        _written[str(folder)] = _written.get(str(folder), 0) + 1
    body = pickle.dumps(((stamp, cache_key), results), protocol=pickle.HIGHEST_PROTOCOL)
    path = _file(stamp, cache_key)
    temporary = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(_seal(body) + body)
        os.replace(temporary, path)  # readers see the whole page or none
    except OSError as error:
        current_app.logger.debug("Search page not shared: %s", error)
        temporary.unlink(missing_ok=True)


def tidy(now: float | None = None) -> int:
    """Delete the folders of pages nobody has added to lately; how many went."""
    now = time.time() if now is None else now
    removed = 0
    try:
        with os.scandir(_root()) as entries:
            folders = list(entries)
    except OSError:
        return 0
    for entry in folders:
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > UNUSED_AFTER:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def forget() -> None:
    """Delete every shared page (the benchmark's searches that must not be cached)."""
    shutil.rmtree(_root(), ignore_errors=True)
    with _lock:
        _written.clear()
