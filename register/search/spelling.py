"""'Did you mean': the words of the register, and the nearest known word to a misspelling.

Whoosh can keep a spelling field in the index, but analysing the short fields a
third time made rebuilding a fifth slower. Instead each generation of the index
keeps words.json: how often each word of the names, roles, organisations,
places and expertise appears. A rebuild writes it; each sync adds the words of
the profiles it indexed.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import Counter
from pathlib import Path

from whoosh.support.charset import accent_map

WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
FILE = "words.json"
SPELLING_FIELDS = ("name", "headline", "expertise", "place")

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, int], dict[str, list[str]]]] = {}


def normal(word: str) -> str:
    """How words are compared: lower case, accents folded."""
    return word.lower().translate(accent_map)


def words_of(document: dict) -> list[str]:
    """The words of a search document that 'did you mean' may offer."""
    return [normal(w) for name in SPELLING_FIELDS for w in WORD.findall(document.get(name, ""))]


def save(path: Path, counts: Counter) -> None:
    """Write the word counts of a generation of the index."""
    temporary = path / f"{FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    temporary.write_text(json.dumps(dict(counts)))
    os.replace(temporary, path / FILE)


def add(path: Path, documents: list[dict]) -> None:
    """Count the words of newly indexed documents (words of removed ones stay; harmless)."""
    new = Counter(word for doc in documents for word in words_of(doc))
    if not new:
        return
    counts = Counter(_load(path)[0])
    counts.update(new)
    save(path, counts)


def _load(path: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    file = path / FILE
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        return {}, {}
    key = str(path)
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1], cached[2]
    counts = json.loads(file.read_text())
    by_initial: dict[str, list[str]] = {}
    for word in counts:
        by_initial.setdefault(word[0], []).append(word)
    with _lock:
        _cache[key] = (stamp, counts, by_initial)
    return counts, by_initial


def distance(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions (optimal string alignment), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2 = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if (previous2 is not None and i > 1 and j > 1 and ca == b[j - 2]
                    and a[i - 2] == cb):
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def correct(path: Path, word: str, limit: int = 2) -> str | None:
    """The known word nearest to `word` (same first letter, then the most common), if any."""
    counts, by_initial = _load(path)
    word = normal(word)
    if not word or word in counts or len(word) <= 3:
        return None
    best = None
    for candidate in by_initial.get(word[0], ()):
        found = distance(word, candidate, limit)
        if found <= limit:
            rank = (found, -counts[candidate])
            if best is None or rank < best[0]:
                best = (rank, candidate)
    return best[1] if best else None
