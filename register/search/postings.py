"""Each segment's postings in a compact file of our own, written beside Whoosh's.

Whoosh keeps a term's postings in pickled, compressed blocks: reading a
common word at 100,000 profiles means unpickling hundreds of them, in
Python, and that was most of the time a search took the first time it met a
word. Segments never change once written, so each gets, once, a second copy
of its text fields' postings in plain arrays: document numbers (int32) and
weights (float32) a term, and for the fields that keep positions, how many
each document has and where they are. A search reads a term with one
`os.pread` and hands the bytes to numpy as they are.

Whoosh stays the index: this file is derived from a segment and named after
it (`MAIN_<id>.postings`), so Whoosh deletes it with the segment. Sync writes
it for each new segment after its commit, and a rebuild for every segment
before the swap. A segment without one, or with one that does not read
back as whole, is read from Whoosh's own files, with the same result.

Layout: a header (a mark, where the term tables and the directory begin,
the segment's document count and a CRC-32 of all that follows); then each
term's arrays; then per field a term table: the terms in order as one block
of UTF-8 with their offsets, and where each term's arrays start, how many
postings and positions it has, all as packed integers (a few bytes a term,
where a dictionary of Python objects took hundreds); then a small JSON
directory of where each table lies. A term is found by binary search. A
search checks the mark, the lengths and the directory; sync checks the sum,
and writes again a file that fails it.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import threading
import time
import zlib
from array import array
from itertools import accumulate
from pathlib import Path

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.system import _INT_SIZE

MARK = b"MRPOST02"
# Mark, where the term tables start, where the JSON directory starts and its length, the
# segment's document count, and a CRC-32 of everything after the header.
_HEADER = struct.Struct("<8sQQQQI")
SUFFIX = "postings"

_lock = threading.Lock()


def _matcher(reader, fieldname: str, text: str):
    """Whoosh's matcher of a term's postings in a segment, deleted documents included:
    the searches leave those out through masks.py's live documents, and a segment's
    deletions grow after its postings file is written."""
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
        matcher.reset()  # the filter has already stepped past the deleted documents
    return matcher


def whoosh_postings(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's document numbers and weights in one segment (deleted documents included),
    read from Whoosh's files.

    Whoosh's matchers hand postings out one at a time, a few method calls each.
    Its on-disk matcher reads a block at a time, so here each block's data is
    decoded whole: document numbers are stored as gaps, summed by
    itertools.accumulate, and a block whose postings share one weight stores it
    once. This is Whoosh 2.7's layout, pinned in pyproject.toml; any other matcher
    is walked the ordinary way.
    """
    ids: list[int] = []
    weights: list[float] = []
    if (fieldname, text) in reader:
        matcher = _matcher(reader, fieldname, text)
        if isinstance(matcher, W3LeafMatcher):
            while matcher.is_active():
                if matcher._data is None:
                    matcher._read_data()
                stored_ids, stored_weights = matcher._data[0], matcher._data[1]
                ids.extend(stored_ids if matcher._byteids else accumulate(stored_ids))
                if stored_weights is None or isinstance(stored_weights, float):
                    one = 1.0 if stored_weights is None else stored_weights
                    weights.extend([one] * matcher._blocklength)
                else:
                    weights.extend(stored_weights)
                matcher._next_block()
        else:
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                matcher.next()
    return np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32)


def _whoosh_positions(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """How many positions each posting of a term has, and all of them in order.

    Whoosh 2.7's Positions format keeps each posting's positions as a count and a
    pickled list of gaps; a block's are decoded here in one go rather than through a
    matcher's value_as() a posting at a time (three quarters of writing a file).
    """
    counts: list[int] = []
    positions: list[int] = []
    if (fieldname, text) in reader:
        matcher = _matcher(reader, fieldname, text)
        if isinstance(matcher, W3LeafMatcher) and type(matcher.format) is Positions:
            while matcher.is_active():
                if matcher._data is None:
                    matcher._read_data()
                for value in matcher._data[2]:
                    # The index's own files, which Whoosh unpickles just the same.
                    gaps = pickle.loads(value[_INT_SIZE:] if value.endswith(b".")  # noqa: S301
                                        else value[_INT_SIZE:] + b".")
                    counts.append(len(gaps))
                    positions.extend(accumulate(gaps))
                matcher._next_block()
        else:
            while matcher.is_active():
                found = matcher.value_as("positions")
                counts.append(len(found))
                positions.extend(found)
                matcher.next()
    return np.array(counts, dtype=np.int32), np.array(positions, dtype=np.int32)


def file_name(segment) -> str:
    return f"{segment.segment_id()}.{SUFFIX}"


def text_fields(schema) -> list[tuple[str, bool]]:
    """(name, keeps positions) for each scored field: the ones searches rank by."""
    return [(name, field.format.supports("positions"))
            for name, field in schema.items() if field.scorable]


def write(folder: Path, reader) -> Path:
    """Write the postings file of the segment `reader` reads, into `folder`."""
    segment = reader.segment()
    target = folder / file_name(segment)
    temporary = folder / f"{file_name(segment)}.tmp{os.getpid()}-{threading.get_ident()}"
    try:
        with open(temporary, "wb") as out:
            out.write(bytes(_HEADER.size))
            at = _HEADER.size
            check = 0

            def put(part: bytes) -> tuple[int, int]:
                nonlocal at, check
                out.write(part)
                check = zlib.crc32(part, check)
                at += len(part)
                return at - len(part), len(part)

            tables = []
            for fieldname, positional in text_fields(reader.schema):
                words, starts = [], array("q")
                sizes, position_sizes = array("i"), array("i")
                for text in reader.field_terms(fieldname):
                    ids, weights = whoosh_postings(reader, fieldname, text)
                    starts.append(at)
                    put(ids.tobytes())
                    put(weights.tobytes())
                    found = 0
                    if positional:
                        counts, positions = _whoosh_positions(reader, fieldname, text)
                        put(counts.tobytes())
                        put(positions.tobytes())
                        found = len(positions)
                    words.append(text.encode("utf-8"))
                    sizes.append(len(ids))
                    position_sizes.append(found)
                tables.append((fieldname, positional, words, starts, sizes, position_sizes))
            tables_at = at
            directory: dict = {"segment": segment.segment_id(), "fields": {}}
            for fieldname, positional, words, starts, sizes, position_sizes in tables:
                offsets = array("I", [0])
                for word in words:
                    offsets.append(offsets[-1] + len(word))
                directory["fields"][fieldname] = {
                    "positional": positional, "count": len(words),
                    **{name: put(part) for name, part in (
                        ("words", b"".join(words)), ("offsets", offsets.tobytes()),
                        ("starts", starts.tobytes()), ("sizes", sizes.tobytes()),
                        ("positions", position_sizes.tobytes()))}}
            listed_at, listed_length = put(json.dumps(directory).encode())
            out.seek(0)
            out.write(_HEADER.pack(MARK, tables_at, listed_at, listed_length,
                                   reader.doc_count_all(), check))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def write_missing(ix) -> int:
    """Write the postings file of each segment of `ix` that has none; how many were written."""
    folder = Path(ix.storage.folder)
    # Every sync asks; looking at the files is cheap, opening the segments is not.
    if all(_whole(folder / file_name(segment), segment.segment_id(), segment.doc_count_all())
           for segment in ix._segments()):
        return 0
    written = 0
    with ix.reader() as whole:
        for reader, _ in whole.leaf_readers():
            segment = reader.segment()
            if segment is None or _whole(folder / file_name(segment), segment.segment_id(),
                                         reader.doc_count_all()):
                continue
            write(folder, reader)
            written += 1
    return written


# Files found whole, by (path, size, modified): each is read through once per process.
_checked: set[tuple] = set()


def _whole(path: Path, segment_id: str, docs: int) -> bool:
    """Whether a segment's postings file is there, is its own, is as long as its header
    says and its checksum holds."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            seen = (str(path), stat.st_size, stat.st_mtime_ns, docs)
            if seen in _checked:
                return True
            mark, _, where, length, count, expected = _HEADER.unpack(
                handle.read(_HEADER.size))
            if mark != MARK or count != docs or stat.st_size != where + length:
                return False
            check = 0
            while chunk := handle.read(1 << 20):
                check = zlib.crc32(chunk, check)
            if check != expected:
                return False
            handle.seek(where)
            if json.loads(handle.read(length)).get("segment") != segment_id:
                return False
    except (OSError, struct.error, ValueError, AttributeError):
        return False
    with _lock:
        if len(_checked) > 4 * _KEPT:
            _checked.clear()
        _checked.add(seen)
    return True


class Damaged(Exception):
    """A postings file that does not read back as whole."""


class _Table:
    """One field's terms in a postings file: in order, found by binary search."""

    __slots__ = ("count", "words", "offsets", "starts", "sizes", "positions", "positional")

    def __init__(self, count: int, positional: bool, parts: dict[str, bytes]):
        self.count, self.positional = count, positional
        self.words = parts["words"]
        self.offsets, self.starts = array("I", parts["offsets"]), array("q", parts["starts"])
        self.sizes, self.positions = array("i", parts["sizes"]), array("i", parts["positions"])
        if not (len(self.offsets) == count + 1 and len(self.starts) == len(self.sizes)
                == len(self.positions) == count and self.offsets[-1] == len(self.words)):
            raise Damaged("a term table does not add up")

    def word(self, number: int) -> bytes:
        return self.words[self.offsets[number]:self.offsets[number + 1]]

    def first_from(self, key: bytes) -> int:
        """The number of the first term not before `key` (count if there is none)."""
        low, high = 0, self.count
        while low < high:
            middle = (low + high) >> 1
            if self.word(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low

    def find(self, key: bytes) -> int | None:
        number = self.first_from(key)
        return number if number < self.count and self.word(number) == key else None


class SegmentFile:
    """One segment's postings file, open for reading; its term tables read once."""

    def __init__(self, path: Path, segment_id: str, docs: int):
        self.handle: int | None = None
        self.handle = os.open(path, os.O_RDONLY)
        try:
            head = os.pread(self.handle, _HEADER.size, 0)
            if len(head) != _HEADER.size:
                raise Damaged(f"{path.name} is cut short")
            mark, tables_at, where, length, count, _ = _HEADER.unpack(head)
            if (mark != MARK or count != docs or not _HEADER.size <= tables_at <= where
                    or os.fstat(self.handle).st_size != where + length):
                raise Damaged(f"{path.name} is not whole")
            try:
                directory = json.loads(os.pread(self.handle, length, where))
            except ValueError as error:
                raise Damaged(f"{path.name} has an unreadable directory") from error
            if directory.get("segment") != segment_id:
                raise Damaged(f"{path.name} belongs to another segment")
            self.end = tables_at
            self.tables: dict[str, _Table] = {}
            for fieldname, listed in directory["fields"].items():
                parts = {}
                for name in ("words", "offsets", "starts", "sizes", "positions"):
                    start, size = listed[name]
                    if not tables_at <= start <= start + size <= where:
                        raise Damaged(f"{path.name} has a table out of place")
                    parts[name] = os.pread(self.handle, size, start)
                    if len(parts[name]) != size:
                        raise Damaged(f"{path.name} is cut short")
                self.tables[fieldname] = _Table(listed["count"], listed["positional"], parts)
        except BaseException:
            self.close()
            raise

    def _read(self, start: int, size: int) -> bytes:
        if start < _HEADER.size or start + size > self.end:
            raise Damaged("a term's postings lie outside the file's arrays")
        data = os.pread(self.handle, size, start)
        if len(data) != size:
            raise Damaged("a term's postings are cut short")
        return data

    def _entry(self, fieldname: str, text: str | bytes) -> tuple[_Table | None, int | None]:
        table = self.tables.get(fieldname)
        if table is None:
            return None, None
        return table, table.find(term_bytes(text))

    def doc_frequency(self, fieldname: str, text: str | bytes) -> int | None:
        """How many documents of the segment hold a term (deleted ones too, as Whoosh
        counts); None for a field this file does not keep."""
        table, number = self._entry(fieldname, text)
        if table is None:
            return None
        return 0 if number is None else table.sizes[number]

    def expand_prefix(self, fieldname: str, prefix: str | bytes) -> list[str] | None:
        """The segment's terms that begin with `prefix`, in order; None for a field not kept."""
        table = self.tables.get(fieldname)
        if table is None:
            return None
        key = term_bytes(prefix)
        found = []
        for number in range(table.first_from(key), table.count):
            word = table.word(number)
            if not word.startswith(key):
                break
            found.append(word.decode("utf-8"))
        return found

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(document numbers, weights) of a term, empty if absent; None for a field not kept."""
        table, number = self._entry(fieldname, text)
        if table is None:
            return None
        if number is None:
            return _EMPTY
        size = table.sizes[number]
        data = self._read(table.starts[number], size * 8)
        return (np.frombuffer(data, np.int32, size),
                np.frombuffer(data, np.float32, size, size * 4))

    def positions(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray] | None:
        """(document numbers, positions each, every position) of a term, or None if this
        file has no positions for the field."""
        table, number = self._entry(fieldname, text)
        if table is None or not table.positional:
            return None
        if number is None:
            return _EMPTY[0], _EMPTY[0], _EMPTY[0]
        size, position_size = table.sizes[number], table.positions[number]
        data = self._read(table.starts[number], size * 12 + position_size * 4)
        return (np.frombuffer(data, np.int32, size),
                np.frombuffer(data, np.int32, size, size * 8),
                np.frombuffer(data, np.int32, position_size, size * 12))

    def phrase(self, fieldname: str, words) -> np.ndarray | None:
        """The documents where `words` stand next to each other in this order (Whoosh's
        Phrase with a slop of 1), or None if this file keeps no positions for the field.

        Each word's (document, position) pairs are made one number, shifted back by
        the word's place in the phrase; the numbers all the words share are the
        phrase's starts.
        """
        starts = None
        for place, word in enumerate(words):
            found = self.positions(fieldname, word)
            if found is None:
                return None
            ids, counts, positions = found
            if not len(ids):
                return _EMPTY[0]
            keys = (np.repeat(ids.astype(np.int64), counts) * _STRIDE
                    + (positions.astype(np.int64) - place))
            starts = keys if starts is None else np.intersect1d(starts, keys,
                                                                assume_unique=True)
            if not len(starts):
                return _EMPTY[0]
        if starts is None:
            return _EMPTY[0]
        documents = (starts // _STRIDE).astype(np.int32)  # in order, as starts are
        # Each document once (np.unique would do, but its first call imports numpy.ma).
        first = np.ones(len(documents), dtype=bool)
        first[1:] = documents[1:] != documents[:-1]
        return documents[first]

    def close(self) -> None:
        if self.handle is not None:
            os.close(self.handle)
            self.handle = None

    __del__ = close


_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.float32))


def term_bytes(term: str | bytes) -> bytes:
    # Whoosh hands out a term as text or as its UTF-8 bytes (expand_prefix gives bytes).
    return term if isinstance(term, bytes) else term.encode("utf-8")

# Room for every position of a field in a document, between one document and the next.
_STRIDE = 1 << 32

# Open postings files by segment (a key from masks.segment_key), and for segments that
# had none when last looked at, when to look again: sync writes the file just after
# it commits the segment.
_open: dict[tuple, SegmentFile] = {}
_missing: dict[tuple, float] = {}
_KEPT = 64
LOOK_AGAIN_AFTER = 2.0
DAMAGED_LOOK_AGAIN_AFTER = 60.0


def for_segment(key: tuple, reader) -> SegmentFile | None:
    """The postings file of the segment `reader` reads, or None (read Whoosh's instead)."""
    with _lock:
        found = _open.get(key)
        if found is not None:
            return found
        if _missing.get(key, 0.0) > time.monotonic():
            return None
    folder = key[0]
    if folder is None:
        return None
    segment = reader.segment()
    try:
        found = SegmentFile(Path(folder) / file_name(segment), segment.segment_id(),
                            reader.doc_count_all())
    except (OSError, Damaged, ValueError, KeyError, TypeError, struct.error):
        with _lock:
            _missing[key] = time.monotonic() + LOOK_AGAIN_AFTER
            while len(_missing) > _KEPT * 4:
                _missing.pop(next(iter(_missing)))
        return None
    with _lock:
        if key in _open:
            found.close()
            return _open[key]
        while len(_open) >= _KEPT:
            # Not closed here: a search in another thread may be reading it. The file
            # closes when the last one lets go of it.
            _open.pop(next(iter(_open)))
        _open[key] = found
        _missing.pop(key, None)
    return found


def damaged(key: tuple) -> None:
    """Stop reading a segment's postings file that proved damaged: Whoosh's files serve
    until sync has written it again."""
    with _lock:
        _open.pop(key, None)  # closed once no search holds it
        _missing[key] = time.monotonic() + DAMAGED_LOOK_AGAIN_AFTER


def forget() -> None:
    """Let go of every open postings file (for tests)."""
    with _lock:
        _open.clear()
        _missing.clear()
