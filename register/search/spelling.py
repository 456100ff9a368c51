"""Misspellings: the words of the register, and the known words nearest to one typed.

Whoosh can keep a spelling field in the index, but analysing the text a third
time made rebuilding a fifth slower. Instead each generation of the index
keeps words.json: how often each word of the names, roles, organisations,
places, expertise and bios appears, as typed (not stemmed), because people
misspell words, not stems ("coachng" is one letter from "coaching", two from
its stem "coach"). A rebuild writes it; each sync adds the words of the
profiles it indexed.

The search uses it twice: inside the query, a word the register does not
know (or knows far less than a word one letter away) also matches its
nearest known words; and "Did you mean" offers the corrected text.
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
SPELLING_FIELDS = ("name", "headline", "expertise", "place", "bio")
# A known word this many times rarer than a word one edit away is treated as a typo too
# (someone's bio says "writting"); the word itself still matches, and ranks first.
FAR_RARER = 5
MAX_CORRECTIONS = 3
MAX_COMPLETIONS = 12

_lock = threading.Lock()
_cache: dict[str, tuple[int, dict[str, int], dict]] = {}
_near_cache: dict[tuple, list[str]] = {}
_NEAR_KEPT = 5000


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


def _load(path: Path) -> tuple[dict[str, int], dict[tuple[str, int], list[str]]]:
    """The word counts, and the words grouped by first letter and length."""
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
    try:
        counts = json.loads(file.read_text())
    except (OSError, ValueError):
        return {}, {}
    groups: dict[tuple[str, int], list[str]] = {}
    for word in counts:
        groups.setdefault((word[0], len(word)), []).append(word)
    with _lock:
        for stale in [k for k in _cache if k != key]:
            del _cache[stale]  # one generation is live at a time
        _cache[key] = (stamp, counts, groups)
    return counts, groups


def limit_for(word: str) -> int:
    """How many edits a typed word may be from the word meant: none for short words."""
    if len(word) <= 3:
        return 0
    return 1 if len(word) < 8 else 2


def near(path: Path, word: str, *, indexed: bool = False) -> list[str]:
    """Known words within limit_for(word) edits of `word`, same first letter, nearest and
    then most common first; [] when `word` is known and not far rarer than them.

    `indexed` says the index has the word's stem. That is not enough: "visualization"
    stems to "visual", which a profile may have, while the word meant is
    "visualisation". So a word nobody wrote as typed is corrected either way (at a
    lower weight than the exact match, which still counts), and a word written
    somewhere only when words.json shows it far rarer than a neighbour.
    """
    word = normal(word)
    limit = limit_for(word)
    if not limit:
        return []
    counts, groups = _load(path)
    if indexed and not counts:
        return []  # no vocabulary to judge by
    cache_key = (str(path), id(groups), word)
    with _lock:
        found = _near_cache.get(cache_key)
    if found is not None:
        return found
    scored = []
    for length in range(len(word) - limit, len(word) + limit + 1):
        for candidate in groups.get((word[0], length), ()):
            if candidate != word:
                edits = distance(word, candidate, limit)
                if edits <= limit:
                    scored.append((edits, -counts[candidate], candidate))
    scored.sort()
    own = counts.get(word, 0)
    if own:
        # A known word is corrected only towards far more common words one edit away.
        scored = [s for s in scored if s[0] == 1 and -s[1] >= FAR_RARER * own]
    best = scored[0][0] if scored else 0
    found = [candidate for edits, _, candidate in scored if edits == best][:MAX_CORRECTIONS]
    with _lock:
        if len(_near_cache) >= _NEAR_KEPT:
            _near_cache.clear()
        _near_cache[cache_key] = found
    return found


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


def completions(path: Path, prefix: str) -> list[str]:
    """The most common known words that begin with `prefix` (someone still typing).

    Whoosh's prefix query looks among stems, where "palliat" finds nothing: the
    stem of "palliative" is "palli". The words as typed do not have that problem.
    """
    prefix = normal(prefix)
    if len(prefix) < 3:
        return []
    counts, groups = _load(path)
    cache_key = (str(path), id(groups), "prefix", prefix)
    with _lock:
        found = _near_cache.get(cache_key)
    if found is not None:
        return found
    matching = [(count, word) for (initial, length), words in groups.items()
                if initial == prefix[0] and length > len(prefix)
                for word in words if word.startswith(prefix) for count in (counts[word],)]
    found = [word for _, word in sorted(matching, reverse=True)[:MAX_COMPLETIONS]]
    with _lock:
        if len(_near_cache) >= _NEAR_KEPT:
            _near_cache.clear()
        _near_cache[cache_key] = found
    return found


def correct(path: Path, word: str, limit: int = 2) -> str | None:
    """The known word nearest to `word` (same first letter, then the most common), if any."""
    counts, _ = _load(path)
    word = normal(word)
    if not word or word in counts or len(word) <= 3:
        return None
    found = near(path, word)
    return found[0] if found else None
