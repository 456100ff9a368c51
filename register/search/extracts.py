"""What a result shows of a mentor's bio: one or two whole sentences around the words found.

Whoosh's highlighter cuts a fixed number of characters around each match,
so extracts began and ended mid-sentence and could be a bare fragment ("I
am"). Here the bio is split into sentences; the one holding the most of the
searched words is shown whole, with a second if it adds words and room is
left; an ellipsis marks every place text was left out. With no match in the
bio, the extract is its opening, again in whole sentences.

Words are matched the way the index matches them (the same analyser), so
"mentoring" marks "mentored". Everything is escaped here; only the <mark>
elements are ours.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape
from whoosh import query as q

from register.search.analysis import MIN_SIZE, STOP_WORDS, WORD, _index_form

CHARACTERS = 240  # about what an extract may hold
LONGEST = 320  # two sentences are shown only if together they stay within this
ELLIPSIS = "…"

# A sentence ends at . ! or ? followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")


def terms_of(query, field: str = "bio") -> tuple[frozenset[str], tuple[str, ...]]:
    """The index terms a query looks for in `field`, and the prefixes it widens."""
    terms: set[str] = set()
    prefixes: list[str] = []
    stack = [query] if query is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, q.Term):
            if node.fieldname == field:
                terms.add(node.text)
        elif isinstance(node, q.Prefix):
            prefixes.append(node.text)
        elif isinstance(node, q.Phrase):
            if node.fieldname == field:
                terms.update(node.words)
        elif hasattr(node, "subqueries"):
            stack.extend(node.subqueries)
    return frozenset(terms), tuple(sorted(set(prefixes)))


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if text[start:end.start()].strip():
            spans.append((start, end.start()))
        start = end.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _matches(text: str, start: int, end: int, terms, prefixes) -> list[tuple[int, int, str]]:
    # The analyser's own steps for one word (see analysis.py), without building tokens:
    # this runs for every word of every bio on a page.
    found = []
    for word in WORD.finditer(text, start, end):
        lowered = word.group(0).lower()
        if len(lowered) < MIN_SIZE or lowered in STOP_WORDS:
            continue
        term = _index_form(lowered)
        if term in terms:
            found.append((word.start(), word.end(), term))
        elif prefixes and lowered.startswith(prefixes):
            found.append((word.start(), word.end(), lowered))
    return found


def _trim(text: str, start: int, end: int, around: int | None) -> tuple[int, int]:
    """A piece of a very long sentence, cut at spaces, around the character `around`."""
    if end - start <= LONGEST:
        return start, end
    centre = around if around is not None else start
    left = max(start, centre - CHARACTERS // 3)
    right = min(end, left + CHARACTERS)
    if left > start:
        space = text.find(" ", left)
        left = space + 1 if 0 <= space < centre else left
    if right < end:
        space = text.rfind(" ", left, right)
        right = space if space > centre else right
    return left, right


def _render(text: str, pieces: list[tuple[int, int]], marks: list[tuple[int, int, str]],
            whole: tuple[int, int]) -> Markup:
    out: list[str] = []
    previous_end = None
    for start, end in pieces:
        if previous_end is None:
            if start > whole[0]:
                out.append(ELLIPSIS + " ")
        else:
            gap = text[previous_end:start]
            out.append(" " + ELLIPSIS + " " if gap.strip() else " ")
        cursor = start
        for mark_start, mark_end, _ in marks:
            if start <= mark_start and mark_end <= end:
                out.append(str(escape(text[cursor:mark_start])))
                out.append(f"<mark>{escape(text[mark_start:mark_end])}</mark>")
                cursor = mark_end
        out.append(str(escape(text[cursor:end])))
        previous_end = end
    if previous_end is not None and text[previous_end:whole[1]].strip():
        out.append(" " + ELLIPSIS)
    return Markup("".join(out))  # noqa: S704  (every piece of text above was escaped)


def extract(bio: str, terms=frozenset(), prefixes=()) -> Markup:
    """One or two whole sentences of `bio` holding the searched words, marked; or its opening."""
    bio = bio or ""
    spans = _sentences(bio)
    if not spans:
        return Markup("")
    whole = (spans[0][0], spans[-1][1])
    found = [(span, _matches(bio, *span, terms, prefixes)) for span in spans] if (
        terms or prefixes) else []
    scored = [(len({m[2] for m in marks}), -n, n) for n, (_, marks) in enumerate(found) if marks]
    if not scored:
        return _opening(bio, spans, whole)
    _, _, first = max(scored)
    chosen = [first]
    have = {m[2] for m in found[first][1]}
    # A second sentence if it adds a searched word (or, failing that, follows on), and fits.
    extra = sorted(((len({m[2] for m in marks} - have), -abs(n - first), n)
                    for n, (_, marks) in enumerate(found) if n != first and marks), reverse=True)
    length = spans[first][1] - spans[first][0]
    for adds, _, n in extra:
        if adds and length + spans[n][1] - spans[n][0] <= LONGEST:
            chosen.append(n)
        break
    pieces, marks = [], []
    for n in sorted(chosen):
        start, end = spans[n]
        sentence_marks = found[n][1]
        start, end = _trim(bio, start, end, sentence_marks[0][0] if sentence_marks else None)
        pieces.append((start, end))
        marks += [m for m in sentence_marks if start <= m[0] and m[1] <= end]
    return _render(bio, pieces, marks, whole)


def _opening(bio: str, spans, whole) -> Markup:
    pieces = []
    length = 0
    for start, end in spans:
        if pieces and length + end - start > CHARACTERS:
            break
        pieces.append(_trim(bio, start, end, None) if not pieces else (start, end))
        length += pieces[-1][1] - pieces[-1][0]
    # Consecutive sentences read as one piece, so no ellipsis between them.
    joined = [(pieces[0][0], pieces[-1][1])] if pieces[-1][1] - pieces[0][0] <= LONGEST + 40 \
        else pieces[:1]
    return _render(bio, joined, [], whole)
