"""Turning what a mentee typed into a Whoosh query that cannot fail.

We never hand user text to a query parser: quotes, brackets, AND, * and
stray punctuation are just characters here. The text is split into quoted
phrases and words; each word is analysed like the documents were
(stemming, accent folding), widened with the synonyms we keep in
synonyms.txt, and looked for in every text field with that field's
weight. The last word also matches as a prefix, so results keep up with
someone who is still typing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from whoosh import query as q

from register.search.index import TEXT_ANALYZER

FIELDS = ("name", "headline", "expertise", "bio", "place")
# Fields that keep word positions, so phrases can be matched in them.
PHRASE_FIELDS = ("name", "headline", "expertise", "place")
MAX_WORDS = 12
MAX_LENGTH = 200

_TOKEN = re.compile(r'"([^"]*)"|([\w&]+)', re.UNICODE)


@dataclass(frozen=True)
class Part:
    """A word or a quoted phrase from the mentee's text."""

    words: tuple[str, ...]
    phrase: bool = False


def split(text: str) -> list[Part]:
    """Words and quoted phrases, lower-cased, with everything else dropped."""
    parts: list[Part] = []
    text = (text or "")[:MAX_LENGTH]
    for phrase, word in _TOKEN.findall(text.replace("“", '"').replace("”", '"')):
        if phrase:
            words = tuple(w.lower() for w in re.findall(r"[\w&]+", phrase))
            if words:
                parts.append(Part(words, phrase=len(words) > 1))
        elif word:
            parts.append(Part((word.lower(),)))
    return parts[:MAX_WORDS]


@cache
def synonyms() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Our synonym list: a word or phrase typed, and the phrase it should also find."""
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    path = Path(__file__).with_name("synonyms.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "=>" not in line:
            continue
        left, right = (side.strip().lower() for side in line.split("=>", 1))
        table[tuple(re.findall(r"[\w&]+", left))] = tuple(re.findall(r"[\w&]+", right))
    return table


def analyse(word: str) -> list[str]:
    """The index terms a word becomes (none for a stop word such as 'and')."""
    return [token.text for token in TEXT_ANALYZER(word)]


def _phrase_query(words: tuple[str, ...]) -> q.Query | None:
    terms = [t for w in words for t in analyse(w)]
    if not terms:
        return None
    if len(terms) == 1:
        return q.Or([q.Term(f, terms[0]) for f in FIELDS])
    # The bio has no positions: there, every word of the phrase must appear.
    return q.Or([q.Phrase(f, terms) for f in PHRASE_FIELDS]
                + [q.And([q.Term("bio", t) for t in terms])])


def _word_query(word: str, *, last: bool, known) -> q.Query | None:
    terms = analyse(word)
    if not terms:
        return None  # a stop word ("and", "the"), or an operator someone typed
    options: list[q.Query] = [q.Term(f, t) for t in terms for f in FIELDS]
    if last and len(word) >= 3 and not any(known(t) for t in terms):
        # Still typing: "statis" should already find "statistics". A word that is
        # complete already ("care") is not widened ("career").
        options += [q.Prefix(f, word) for f in ("name", "headline", "expertise")]
    return q.Or(options) if options else None


def meaningful(text: str) -> bool:
    """Whether `text` has a word worth searching for; operators, symbols and stop words
    alone ("(", "*", "NOT", "c++") are no search at all, so they browse, not match all."""
    return any(analyse(word) for part in split(text) for word in part.words)


def build(text: str, *, match_all: bool = True, known=lambda term: False
          ) -> tuple[q.Query | None, list[str]]:
    """The query for `text` and the words that took part, or None for an empty search.

    With `match_all`, every word must match (in some field); without it, any may.
    `known(term)` says whether the index has a term, so a finished last word is
    not also searched as a prefix.
    """
    parts = split(text)
    table = synonyms()
    clauses: list[q.Query] = []
    used: list[str] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        # A two-word synonym ("general practitioner") beats its single words.
        pair = None
        if not part.phrase and index + 1 < len(parts) and not parts[index + 1].phrase:
            candidate = part.words + parts[index + 1].words
            if candidate in table:
                pair = candidate
        key = pair or part.words
        last = index + (2 if pair else 1) >= len(parts)
        phrase = part.phrase or pair
        base = (_phrase_query(key) if phrase
                else _word_query(part.words[0], last=last, known=known))
        expansion = _phrase_query(table[key]) if key in table else None
        options = [c for c in (base, expansion) if c is not None]
        if options:
            clauses.append(q.Or(options) if len(options) > 1 else options[0])
            used.extend(key)
        index += 2 if pair else 1
    if not clauses:
        return None, used
    if len(clauses) == 1:
        return clauses[0], used
    return (q.And(clauses) if match_all else q.Or(clauses)), used
