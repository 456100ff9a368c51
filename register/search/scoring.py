"""Ranking a page of results: Whoosh's BM25F scores, worked out from cached postings.

Whoosh's collector walks a tree of matcher objects for every matching document
and every field, in pure Python: at 20,000 profiles a common word takes tens of
milliseconds, and that was most of a search's time. The documents a search
shows are already known as a bitset (masks.py); what is left is their scores.

So here each term's postings (document numbers and weights) are read once per
segment and kept, each field's document lengths once per segment, and a
search adds up BM25F scores per document with plain dictionaries. The formula,
its constants and the order of its arithmetic are Whoosh's own (scoring.bm25),
so the scores are the ones Whoosh gives, and ties fall in Whoosh's order
(lower document number first). Where a phrase is found is still Whoosh's
answer (masks.py asks its span matchers); any query part this module does not
take apart is scored by Whoosh's own matchers. `tests/test_search_scoring.py`
holds the two to each other.
"""

from __future__ import annotations

import heapq
import weakref
from array import array

from whoosh import query as q
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.util.numeric import byte_to_length, length_to_byte

from register.search import masks

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
        self.by_field: dict[tuple[str, int], array] = {}

    def get(self, leaf, number: int, fieldname: str) -> array:
        key = (fieldname, number)
        found = self.by_field.get(key)
        if found is None:
            weighting = self.searcher.weighting
            k1 = weighting.K1
            b = weighting._field_B.get(fieldname, weighting.B)
            average = self.searcher.avg_field_length(fieldname) or 1
            found = array("d", [k1 * ((1 - b) + b * length / average)
                                for length in _segment_lengths(leaf, fieldname)])
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


def _term(searcher, fieldname: str, text: str, boost: float, into: dict[int, float]) -> None:
    """Add a term's scores to `into` (document number -> score so far)."""
    if not searcher.schema[fieldname].scorable:
        raise _NotOurs  # keyword fields are filtered through masks, never ranked here
    idf = searcher.idf(fieldname, text)
    k1_plus_1 = searcher.weighting.K1 + 1
    norms = _norms_of(searcher)
    get = into.get
    for number, leaf, offset in masks.leaves(searcher):
        ids, weights = masks.segment_postings(leaf.reader(), fieldname, text)
        if not ids:
            continue
        norm = norms.get(leaf, number, fieldname)
        if boost == 1.0:
            for docnum, tf in zip(ids, weights, strict=True):
                into[offset + docnum] = get(offset + docnum, 0.0) + idf * (
                    (tf * k1_plus_1) / (tf + norm[docnum]))
        else:
            for docnum, tf in zip(ids, weights, strict=True):
                into[offset + docnum] = get(offset + docnum, 0.0) + idf * (
                    (tf * k1_plus_1) / (tf + norm[docnum])) * boost


class _NotOurs(Exception):
    """A query part whose scores are left to Whoosh's matchers."""


def _add(into: dict[int, float], part: dict[int, float], boost: float = 1.0) -> None:
    get = into.get
    if boost == 1.0:
        for docnum, score in part.items():
            into[docnum] = get(docnum, 0.0) + score
    else:
        for docnum, score in part.items():
            into[docnum] = get(docnum, 0.0) + score * boost


def _scores(searcher, node, into: dict[int, float] | None = None) -> dict[int, float]:
    """The scores of the documents `node` matches, added to `into` (a new dict if None).

    An OR adds up whichever of its parts match, so its parts add straight into the
    same dict; an AND counts only where all its parts match, so its parts are
    scored apart first and joined.
    """
    into = {} if into is None else into
    if isinstance(node, q.Term):
        _term(searcher, node.fieldname, node.text, node.boost, into)
    elif isinstance(node, q.Prefix):
        # Whoosh ORs the words the prefix expands to, each scored as a term (and a
        # single word as that term, boost and all ignored).
        words = list(searcher.reader().expand_prefix(node.fieldname, node.text))
        if len(words) == 1:
            _term(searcher, node.fieldname, words[0], 1.0, into)
        elif words:
            _scores(searcher, q.Or([q.Term(node.fieldname, w) for w in words],
                                   boost=node.boost), into)
    elif type(node) is q.Or:
        if node.boost == 1.0:
            for child in node.subqueries:
                _scores(searcher, child, into)
        else:
            part: dict[int, float] = {}
            for child in node.subqueries:
                _scores(searcher, child, part)
            _add(into, part, node.boost)
    elif type(node) is q.And:
        parts = [_scores(searcher, child) for child in node.subqueries]
        total = parts[0] if parts else {}
        for part in parts[1:]:
            total = {d: s + part[d] for d, s in total.items() if d in part}
        _add(into, total, node.boost)
    elif type(node) is q.Phrase and searcher.schema[node.fieldname].scorable:
        # Whoosh scores a phrase as the sum of its words' scores, where the phrase is found.
        found = masks.matching(searcher, masks.for_searcher(searcher), node)
        if found:
            inside = masks.as_bytes(found, searcher.doc_count_all())
            total: dict[int, float] = {}
            for word in node.words:
                scores: dict[int, float] = {}
                _term(searcher, node.fieldname, word, 1.0, scores)
                for docnum, score in scores.items():
                    if inside[docnum >> 3] >> (docnum & 7) & 1:
                        total[docnum] = total.get(docnum, 0.0) + score
            _add(into, total, node.boost)
    else:
        _add(into, _by_whoosh(searcher, node))
    return into


def _by_whoosh(searcher, node) -> dict[int, float]:
    """A part's scores from Whoosh's own matchers, segment by segment as its collector runs."""
    scores: dict[int, float] = {}
    for _, leaf, offset in masks.leaves(searcher):
        matcher = node.matcher(leaf, leaf.context())
        while matcher.is_active():
            scores[offset + matcher.id()] = matcher.score()
            matcher.next()
    return scores


def top(searcher, query, selected: int, size: int, limit: int) -> list[tuple[int, float]]:
    """The `limit` best (document number, score) among the `selected` documents, best
    first; equal scores in document order, as Whoosh's collector gives them."""
    if not selected or limit <= 0:
        return []
    try:
        scores = _scores(searcher, query)
    except _NotOurs:
        scores = _by_whoosh(searcher, query)
    chosen = masks.as_bytes(selected, size)
    candidates = ((-score, docnum) for docnum, score in scores.items()
                  if chosen[docnum >> 3] >> (docnum & 7) & 1)
    return [(docnum, -negative) for negative, docnum in heapq.nsmallest(limit, candidates)]
