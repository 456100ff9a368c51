"""Turning what a mentee typed into a Whoosh query that cannot fail.

We never hand user text to a query parser: quotes, brackets, AND, * and
stray punctuation are just characters here. The text is split into quoted
phrases and words; each word is analysed like the documents were
(stemming, accent folding), widened with the synonyms we keep in
synonyms.txt, and looked for in every text field with that field's
weight. The last word also matches as a prefix, so results keep up with
someone who is still typing. A word the register does not know (or knows far
less than a word one letter away) also matches its nearest known spellings,
at a lower weight, so "grant writting" ranks the grant writer first and an
exact match still beats a corrected one.
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


# How much a corrected spelling counts against the word as typed.
CORRECTED_BOOST = 0.6


def _word_query(word: str, *, last: bool, known, similar, complete,
                corrected: dict) -> q.Query | None:
    terms = analyse(word)
    if not terms:
        return None  # a stop word ("and", "the"), or an operator someone typed
    options: list[q.Query] = [q.Term(f, t) for t in terms for f in FIELDS]
    indexed = any(known(t) for t in terms)
    if last and len(word) >= 3 and not indexed:
        # Still typing: "statis" should already find "statistics". A word that is
        # complete already ("care") is not widened ("career").
        options += [q.Prefix(f, word) for f in ("name", "headline", "expertise")]
        seen = set(terms)
        for whole in complete(word):
            for t in analyse(whole):
                if t not in seen and known(t):
                    seen.add(t)
                    options += [q.Term(f, t, boost=CORRECTED_BOOST) for f in FIELDS]
    spellings = [w for w in similar(word, indexed)
                 if any(known(t) for t in analyse(w))]
    if spellings:
        corrected[word] = spellings
        seen = set(terms)
        for spelling in spellings:
            for t in analyse(spelling):
                if t not in seen and known(t):
                    seen.add(t)
                    options += [q.Term(f, t, boost=CORRECTED_BOOST) for f in FIELDS]
    return q.Or(options) if options else None


def meaningful(text: str) -> bool:
    """Whether `text` has a word worth searching for; operators, symbols and stop words
    alone ("(", "*", "NOT", "c++") are no search at all, so they browse, not match all."""
    return any(analyse(word) for part in split(text) for word in part.words)


@dataclass
class Built:
    """A query ready for Whoosh, and what went into it."""

    query: q.Query | None
    words: list[str]
    corrected: dict[str, list[str]]  # a typed word -> the known spellings it also matched


def build(text: str, *, match_all: bool = True, known=lambda term: False,
          similar=lambda word, indexed: [], complete=lambda prefix: []) -> Built:
    """The query for `text`, or a query of None for an empty search.

    With `match_all`, every word must match (in some field); without it, any may.
    `known(term)` says whether the index has a term, so a finished last word is
    not also searched as a prefix. `similar(word, indexed)` gives the known
    spellings a word should also match (see spelling.near), and `complete(prefix)`
    the known words a half-typed last word may become (spelling.completions).
    """
    parts = split(text)
    table = synonyms()
    clauses: list[q.Query] = []
    used: list[str] = []
    corrected: dict[str, list[str]] = {}
    index = 0
    while index < len(parts):
        part = parts[index]
        # A two-word synonym ("general practitioner", or "practitioner general")
        # beats its single words.
        pair = None
        if not part.phrase and index + 1 < len(parts) and not parts[index + 1].phrase:
            candidate = part.words + parts[index + 1].words
            if candidate in table:
                pair = candidate
            elif candidate[::-1] in table:
                pair = candidate[::-1]
        key = pair or part.words
        last = index + (2 if pair else 1) >= len(parts)
        phrase = part.phrase or pair
        base = (_phrase_query(key) if phrase
                else _word_query(part.words[0], last=last, known=known, similar=similar,
                                 complete=complete, corrected=corrected))
        expansion = _phrase_query(table[key]) if key in table else None
        options = [c for c in (base, expansion) if c is not None]
        if options:
            clauses.append(q.Or(options) if len(options) > 1 else options[0])
            used.extend(key)
        index += 2 if pair else 1
    if not clauses:
        return Built(None, used, corrected)
    if len(clauses) == 1:
        return Built(clauses[0], used, corrected)
    return Built(q.And(clauses) if match_all else q.Or(clauses), used, corrected)
