"""Ranking a page of results: Whoosh's BM25F scores, worked out from cached postings.

Whoosh's collector walks a tree of matcher objects for every matching document
and every field, in pure Python: at 20,000 profiles a common word takes tens of
milliseconds, and that was most of a search's time. The documents a search
shows are already known as a bitset (masks.py); what is left is their scores.

So here each term's postings (document numbers and weights, from the segment's
postings file: postings.py) are read once per segment and kept, each field's
document lengths once per segment, and a search adds up BM25F scores for all
of a term's documents at once with numpy, into one slot per document. The
formula, its constants and the order of its arithmetic are Whoosh's own
(scoring.bm25), so the scores are the ones Whoosh gives, and ties fall in
Whoosh's order (lower document number first). Where a phrase is found comes
from masks.py; any query part this module does not take apart is scored by
Whoosh's own matchers. `tests/test_search_scoring.py` holds the two to each
other.
"""

from __future__ import annotations

import weakref
from array import array
from math import log

import numpy as np
from whoosh import query as q
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.util.numeric import byte_to_length, length_to_byte

from register.search import masks, postings

# Per segment (segments never change once written): each field's document lengths
# as Whoosh records them (one byte, so rounded). Terms' postings are kept by masks.py.
_lengths: dict[tuple, array] = {}
_LENGTH_SEGMENTS_KEPT = 64


def forget() -> None:
    """Drop the field lengths and norms a worker reads when it starts (for tests)."""
    _lengths.clear()
    _norms.clear()


# Whoosh keeps a field's length in a document as one byte; these are the lengths it
# scores with for each byte.
_BYTE_LENGTHS = [0, *(byte_to_length(b) for b in range(1, 256))]


def _length_bytes(reader, fieldname: str) -> bytes:
    """The length byte of every document in a segment, for one field.

    Read as one block from the segment's lengths column: asking document by
    document costs 30 ms a field at 20,000 profiles, on the first search of every
    worker. The column's layout is Whoosh 2.7's (pinned in pyproject.toml); if it is
    not what we expect, the documents are asked one by one after all.
    """
    count = reader.doc_count_all()
    try:
        column = reader._perdoc.column_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        stored = column._dbfile.get(column._basepos, column._count)
        if column._fixedlen == 1 and len(stored) == column._count <= count:
            return bytes(stored) + bytes(count - column._count)
    except (AttributeError, TypeError, KeyError, OSError):
        pass
    return bytes(length_to_byte(reader.doc_field_length(d, fieldname, 0) or 0)
                 for d in range(count))


def _segment_lengths(leaf, fieldname: str) -> array:
    reader = leaf.reader()
    return masks.per_segment(
        _lengths, (masks.segment_key(reader), fieldname),
        lambda: array("d", map(_BYTE_LENGTHS.__getitem__, _length_bytes(reader, fieldname))),
        _LENGTH_SEGMENTS_KEPT)


class _Norms:
    """For one searcher: per field and segment, the length part of BM25F's denominator,
    K1 * ((1 - B) + B * length / average length), which the average ties to the searcher."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.by_field: dict[tuple[str, int], np.ndarray] = {}
        self.idfs: dict[tuple[str, bytes], float] = {}

    def idf(self, fieldname: str, text: str | bytes) -> float:
        """Whoosh's idf (WeightingModel.idf), from the document frequency masks.py finds."""
        key = (fieldname, postings.term_bytes(text))
        found = self.idfs.get(key)
        if found is None:
            frequency = masks.doc_frequency(self.searcher, fieldname, text)
            found = log(self.searcher.doc_count_all() / (frequency + 1)) + 1
            self.idfs[key] = found
        return found

    def get(self, leaf, number: int, fieldname: str) -> np.ndarray:
        key = (fieldname, number)
        found = self.by_field.get(key)
        if found is None:
            weighting = self.searcher.weighting
            k1 = weighting.K1
            b = weighting._field_B.get(fieldname, weighting.B)
            average = self.searcher.avg_field_length(fieldname) or 1
            lengths = np.frombuffer(_segment_lengths(leaf, fieldname), dtype=np.float64)
            # The same operations in the same order as Whoosh's bm25(), element by element.
            found = k1 * ((1 - b) + b * lengths / average)
            self.by_field[key] = found
        return found


_norms: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _norms_of(searcher) -> _Norms:
    return masks.per_searcher(_norms, searcher, _Norms)


def warm(searcher, fieldnames) -> None:
    """Read each text field's lengths and norms for `searcher` now, not in a request."""
    norms = _norms_of(searcher)
    for number, leaf, _ in masks.leaves(searcher):
        for fieldname in fieldnames:
            norms.get(leaf, number, fieldname)


class _Scores:
    """Scores so far, one slot per document of the searcher, and which documents matched.

    Whoosh adds a document's scores up one matcher at a time; here each term adds
    its postings' scores to their documents' slots in one numpy operation, in the
    same order, so every document's sum is the same float Whoosh's collector gets.
    """

    __slots__ = ("scores", "matched")

    def __init__(self, size: int):
        self.scores = np.zeros(size, dtype=np.float64)
        self.matched = np.zeros(size, dtype=bool)

    def add(self, part: _Scores, boost: float = 1.0) -> None:
        where = part.matched
        if boost == 1.0:
            self.scores[where] += part.scores[where]
        else:
            self.scores[where] += part.scores[where] * boost
        self.matched |= where


def _term(searcher, fieldname: str, text: str, boost: float, into: _Scores) -> None:
    """Add a term's scores to `into`."""
    if not searcher.schema[fieldname].scorable:
        raise _NotOurs  # keyword fields are filtered through masks, never ranked here
    norms = _norms_of(searcher)
    idf = norms.idf(fieldname, text)
    k1_plus_1 = searcher.weighting.K1 + 1
    for number, leaf, offset in masks.leaves(searcher):
        ids, weights = masks.segment_postings(leaf.reader(), fieldname, text)
        if not len(ids):
            continue
        tf = weights.astype(np.float64)
        score = idf * ((tf * k1_plus_1) / (tf + norms.get(leaf, number, fieldname)[ids]))
        if boost != 1.0:
            score *= boost
        where = ids + offset if offset else ids
        # A term's postings name each document once, so the slots can be added at once.
        into.scores[where] += score
        into.matched[where] = True


class _NotOurs(Exception):
    """A query part whose scores are left to Whoosh's matchers."""


def _scores(searcher, node, size: int, into: _Scores | None = None) -> _Scores:
    """The scores of the documents `node` matches, added to `into` (new if None).

    An OR adds up whichever of its parts match, so its parts add straight into the
    same scores; an AND counts only where all its parts match, so its parts are
    scored apart first and joined.
    """
    into = _Scores(size) if into is None else into
    if isinstance(node, q.Term):
        _term(searcher, node.fieldname, node.text, node.boost, into)
    elif isinstance(node, q.Prefix):
        # Whoosh ORs the words the prefix expands to, each scored as a term (and a
        # single word as that term, boost and all ignored).
        words = masks.expand_prefix(searcher, node.fieldname, node.text)
        if len(words) == 1:
            _term(searcher, node.fieldname, words[0], 1.0, into)
        elif words:
            _scores(searcher, q.Or([q.Term(node.fieldname, w) for w in words],
                                   boost=node.boost), size, into)
    elif type(node) is q.Or:
        if node.boost == 1.0:
            for child in node.subqueries:
                _scores(searcher, child, size, into)
        else:
            part = _Scores(size)
            for child in node.subqueries:
                _scores(searcher, child, size, part)
            into.add(part, node.boost)
    elif type(node) is q.And:
        parts = [_scores(searcher, child, size) for child in node.subqueries]
        if parts:
            total = parts[0]
            for part in parts[1:]:
                total.matched &= part.matched
                total.scores += part.scores
            total.scores[~total.matched] = 0.0
            into.add(total, node.boost)
    elif type(node) is q.Phrase and searcher.schema[node.fieldname].scorable:
        # Whoosh scores a phrase as the sum of its words' scores, where the phrase is found.
        found = masks.matching(searcher, masks.for_searcher(searcher), node)
        if found:
            inside = masks.as_bools(found, size)
            total = _Scores(size)
            for word in node.words:
                scores = _Scores(size)
                _term(searcher, node.fieldname, word, 1.0, scores)
                total.scores[inside] += scores.scores[inside]
            total.matched = inside
            into.add(total, node.boost)
    else:
        into.add(_by_whoosh(searcher, node, size))
    return into


def _by_whoosh(searcher, node, size: int) -> _Scores:
    """A part's scores from Whoosh's own matchers, segment by segment as its collector runs."""
    scores = _Scores(size)
    for _, leaf, offset in masks.leaves(searcher):
        matcher = node.matcher(leaf, leaf.context())
        while matcher.is_active():
            scores.scores[offset + matcher.id()] = matcher.score()
            scores.matched[offset + matcher.id()] = True
            matcher.next()
    return scores


def top(searcher, query, selected: int, size: int, limit: int) -> list[tuple[int, float]]:
    """The `limit` best (document number, score) among the `selected` documents, best
    first; equal scores in document order, as Whoosh's collector gives them."""
    if not selected or limit <= 0:
        return []
    try:
        found = _scores(searcher, query, size)
    except _NotOurs:
        found = _by_whoosh(searcher, query, size)
    candidates = np.flatnonzero(found.matched & masks.as_bools(selected, size))
    scores = found.scores[candidates]
    if len(candidates) > limit:
        # Only what could make the page is sorted: every score at least the
        # limit-th best (ties at the edge included, to be ordered by document).
        edge = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= edge
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))[:limit]
    return [(int(d), float(s)) for d, s in zip(candidates[order], scores[order], strict=True)]
