"""Bitsets of documents, kept per searcher, that make filters and counts cheap.

Whoosh counts facets by visiting every matching document in Python, which
takes hundreds of milliseconds at 20,000 profiles. Here each filter value's
documents are a bitset (a Python int: bit n set means document n has the
value), built once when a searcher opens or refreshes. A search then filters
and counts with a few bitwise ANDs and `int.bit_count()`.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from collections import OrderedDict

import numpy as np
from whoosh import query as q
from whoosh.idsets import BitSet

from register.search import postings

# The keyword fields that filters and counts use, with every value they can hold.
_lock = threading.Lock()

KEYWORD_FIELDS = ("sector", "knowing", "contexts", "formats", "kind", "accepting", "in_training")


def from_ids(ids, size: int) -> int:
    """A bitset of the given document numbers (any iterable, or a numpy array)."""
    if not isinstance(ids, np.ndarray):
        ids = np.fromiter(ids, dtype=np.int64)
    bits = np.zeros(size, dtype=bool)
    bits[ids] = True
    return from_bools(bits)


def from_bools(bits: np.ndarray) -> int:
    """A bitset of the documents whose item in a boolean array is true."""
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def as_bools(mask: int, size: int) -> np.ndarray:
    """A bitset as an array of `size` booleans (item n: whether document n is in it)."""
    packed = np.frombuffer(as_bytes(mask, size), dtype=np.uint8)
    return np.unpackbits(packed, count=size, bitorder="little").view(bool)


def to_bitset(mask: int, size: int) -> BitSet:
    """The same documents as a Whoosh BitSet, to hand to a search as its filter."""
    bitset = BitSet()
    bitset.bits = array("B", as_bytes(mask, size))
    return bitset


def as_bytes(mask: int, size: int) -> bytes:
    return mask.to_bytes((size + 7) // 8 or 1, "little")


def leaves(searcher) -> list[tuple[int, object, int]]:
    """(number, leaf searcher, its first document number) for each segment a searcher
    reads; none for an empty index (Whoosh gives it one leaf without a segment)."""
    return [(number, leaf, offset)
            for number, (leaf, offset) in enumerate(searcher.leaf_searchers())
            if leaf.reader().segment() is not None]


def per_searcher(cache: weakref.WeakKeyDictionary, searcher, build):
    """What `build(searcher)` makes, made once per searcher and dropped with it."""
    with _lock:
        found = cache.get(searcher)
    if found is None:
        found = build(searcher)
        with _lock:
            found = cache.setdefault(searcher, found)
    return found


class _SegmentMasks:
    """Each filter value's documents within one segment, which never changes once written
    (deletions are applied through the live mask)."""

    def __init__(self, leaf):
        self.size = leaf.doc_count_all()
        reader = leaf.reader()
        self.values = {}
        for fieldname in KEYWORD_FIELDS:
            for value in reader.field_terms(fieldname):
                self.values[(fieldname, value)] = from_ids(
                    postings.whoosh_postings(reader, fieldname, value)[0], self.size)
        published = reader.column_reader("published")
        self.published = np.array([published[docnum] or 0 for docnum in range(self.size)],
                                  dtype=np.int64)


_segments: dict[str, _SegmentMasks] = {}
_SEGMENTS_KEPT = 64


def segment_key(reader) -> tuple:
    """Which segment of which index folder a reader reads.

    Whoosh draws segment ids from Python's `random`; a process that reseeds it (as a
    test runner does) can make the same id again in another folder, so the folder is
    part of the key.
    """
    key = getattr(reader, "register_segment_key", None)
    if key is None:  # worked out once per reader: a search asks thousands of times
        storage = reader.storage()
        # A compound segment reads through an overlay whose second storage is the folder.
        folder = getattr(storage, "folder", None) or getattr(getattr(storage, "b", None),
                                                             "folder", None)
        key = reader.register_segment_key = (folder, reader.segment().segment_id())
    return key


def per_segment(cache: dict, key: tuple, build, kept: int):
    """What `build()` makes for one segment (a key beginning with its segment_key), made
    once and kept; the oldest goes when `kept` are held. Segments never change."""
    with _lock:
        found = cache.get(key)
    if found is None:
        found = build()
        with _lock:
            if len(cache) >= kept:
                cache.pop(next(iter(cache)))
            cache[key] = found
    return found


def _segment_masks(leaf) -> _SegmentMasks:
    return per_segment(_segments, segment_key(leaf.reader()), lambda: _SegmentMasks(leaf),
                       _SEGMENTS_KEPT)


class Masks:
    """For one searcher: the live documents, each filter value's documents, and the
    live documents in newest-first order. Built from per-segment parts, so after a
    small change only the new segment is read."""

    def __init__(self, searcher):
        self.size = searcher.doc_count_all()
        self.values: dict[tuple[str, str], int] = {}
        live = np.zeros(self.size, dtype=bool)
        published = np.zeros(self.size, dtype=np.int64)
        for _, leaf, offset in leaves(searcher):
            part = _segment_masks(leaf)
            for key, mask in part.values.items():
                self.values[key] = self.values.get(key, 0) | (mask << offset)
            published[offset:offset + part.size] = part.published
            reader = leaf.reader()
            if reader.has_deletions():  # only a segment with deletions is gone through
                live[np.fromiter(reader.all_doc_ids(), dtype=np.int64) + offset] = True
            else:
                live[offset:offset + part.size] = True
        self.live = from_bools(live)
        # Newest first; mentors published at the same moment in document order (a stable
        # sort, as Python's sorted(reverse=True) gives).
        ids = np.flatnonzero(live)
        self.newest = ids[np.argsort(-published[ids], kind="stable")]

    def value(self, fieldname: str, value: str) -> int:
        return self.values.get((fieldname, value), 0)

    def any_of(self, fieldname: str, values) -> int:
        mask = 0
        for value in values:
            mask |= self.value(fieldname, value)
        return mask


# Per segment, the documents of each term a search has used lately: people search for
# the same words again and again (active search sends each word several times).
# Kept within a memory budget rather than a count: at 100,000 profiles one common
# term's bitset is 12 KB.
_terms: OrderedDict[tuple[str, str, str], int] = OrderedDict()
_terms_bytes = 0
TERMS_BYTES_KEPT = 8 * 1024 * 1024
MAX_PREFIX_TERMS = 200


def _remembered(key: tuple, compute) -> int:
    global _terms_bytes
    with _lock:
        found = _terms.get(key)
        if found is not None:
            _terms.move_to_end(key)
            return found
    found = compute()
    with _lock:
        if key not in _terms:
            _terms[key] = found
            _terms_bytes += _cost(found)
        while _terms_bytes > TERMS_BYTES_KEPT and len(_terms) > 1:
            _terms_bytes -= _cost(_terms.popitem(last=False)[1])
    return found


# Per segment, each term's postings (document numbers and weights) that searches
# have read lately: bitsets are made from them here and scores in scoring.py, so a
# term is read once for both. Reading one again from its postings file is cheap (a
# pread), so the budget is small.
_postings: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_postings_size = 0
POSTINGS_KEPT = 1_000_000  # postings across all kept terms: about 8 MB


def _from_file(reader, read):
    """read(the segment's postings file), or None if the segment has no sound file (or the
    file has nothing for it): the caller then asks Whoosh's own files."""
    segment = segment_key(reader)
    found = postings.for_segment(segment, reader)
    if found is None:
        return None
    try:
        return read(found)
    except (OSError, postings.Damaged):
        postings.damaged(segment)
        return None


def _read_postings(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's (document numbers, weights) in one segment: from the segment's postings
    file (postings.py) if it has a sound one, else from Whoosh's own files."""
    read = _from_file(reader, lambda found: found.postings(fieldname, text))
    return read if read is not None else postings.whoosh_postings(reader, fieldname, text)


def segment_files(searcher) -> list | None:
    """Each segment's postings file in the searcher's order, or None if any has none."""
    files = []
    for _, leaf, _ in leaves(searcher):
        reader = leaf.reader()
        found = postings.for_segment(segment_key(reader), reader)
        if found is None:
            return None
        files.append(found)
    return files


def doc_frequency(searcher, fieldname: str, text: str | bytes) -> int:
    """How many documents hold a term, deleted ones included (Whoosh's doc_frequency),
    looked up in the postings files' directories rather than Whoosh's term files."""
    files = segment_files(searcher)
    if files is not None:
        counts = [found.doc_frequency(fieldname, text) for found in files]
        if None not in counts:
            return sum(counts)
    return searcher.doc_frequency(fieldname, text)


def expand_prefix(searcher, fieldname: str, prefix: str) -> list:
    """The terms of a field that begin with `prefix`, in order (Whoosh's expand_prefix)."""
    files = segment_files(searcher)
    if files is not None:
        found = [each.expand_prefix(fieldname, prefix) for each in files]
        if None not in found:
            return sorted(set().union(*found))
    return list(searcher.reader().expand_prefix(fieldname, prefix))


def segment_postings(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's (document numbers, weights) in one segment, kept for the next search."""
    global _postings_size
    key = (segment_key(reader), fieldname, text)
    with _lock:
        found = _postings.get(key)
        if found is not None:
            _postings.move_to_end(key)
            return found
    ids, weights = _read_postings(reader, fieldname, text)
    with _lock:
        if key not in _postings:
            _postings[key] = (ids, weights)
            _postings_size += len(ids)
        while _postings_size > POSTINGS_KEPT and len(_postings) > 1:
            _, (dropped, _) = _postings.popitem(last=False)
            _postings_size -= len(dropped)
    return ids, weights


def forget_terms() -> None:
    """Drop every remembered term's bitset and postings (a search the first of its kind)."""
    global _terms_bytes, _postings_size
    with _lock:
        _terms.clear()
        _terms_bytes = 0
        _postings.clear()
        _postings_size = 0


def _cost(mask: int) -> int:
    return mask.bit_length() // 8 + 100  # the int's bits, the key and the entry


def _segment_term(leaf, fieldname: str, text: str) -> int:
    reader = leaf.reader()

    def compute() -> int:
        return from_ids(segment_postings(reader, fieldname, text)[0], leaf.doc_count_all())

    return _remembered((segment_key(reader), fieldname, text), compute)


def _segment_query(leaf, query) -> int:
    return _remembered((segment_key(leaf.reader()), "", repr(query)),
                       lambda: from_ids(_query_ids(leaf, query), leaf.doc_count_all()))


def _query_ids(leaf, query):
    """The documents of one segment a query (a phrase) matches, deleted ones included."""
    if type(query) is q.Phrase and query.slop == 1 and not query.char_ranges:
        ids = _from_file(leaf.reader(), lambda found: found.phrase(query.fieldname, query.words))
        if ids is not None:
            return ids
    return leaf.docs_for_query(query)


def term(searcher, fieldname: str, text: str) -> int:
    """The documents holding a term, across every segment (deleted ones included)."""
    mask = 0
    for _, leaf, offset in leaves(searcher):
        mask |= _segment_term(leaf, fieldname, text) << offset
    return mask


def matching(searcher, found: Masks, query) -> int:
    """The live documents a query matches, computed from cached term bitsets where it can.

    Terms, prefixes and the And/Or that join them are worked out here; anything
    else (phrases) is asked of Whoosh, segment by segment, and remembered too.
    """
    return _evaluate(searcher, found, query) & found.live


def _evaluate(searcher, found: Masks, query) -> int:
    if isinstance(query, q.Term):
        return term(searcher, query.fieldname, query.text)
    if isinstance(query, q.Or):
        mask = 0
        for child in query.subqueries:
            mask |= _evaluate(searcher, found, child)
        return mask
    if isinstance(query, q.And):
        mask = -1
        for child in query.subqueries:
            mask &= _evaluate(searcher, found, child)
            if not mask:
                break
        return mask if mask != -1 else 0
    if isinstance(query, q.Prefix):
        mask = 0
        for text in expand_prefix(searcher, query.fieldname, query.text)[:MAX_PREFIX_TERMS]:
            mask |= term(searcher, query.fieldname, text)
        return mask
    # Anything else (a phrase): asked of Whoosh once per segment, then remembered.
    mask = 0
    for _, leaf, offset in leaves(searcher):
        mask |= _segment_query(leaf, query) << offset
    return mask


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def for_searcher(searcher) -> Masks:
    """The masks of this searcher, built the first time it is asked for."""
    return per_searcher(_cache, searcher, Masks)
