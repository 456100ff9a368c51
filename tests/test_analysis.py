"""Our one-pass analyser gives exactly the tokens of Whoosh's own chain."""

import random

import pytest
from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.support.charset import accent_map

from register import demo
from register.search.analysis import FoldingStemAnalyzer

WHOOSH = StemmingAnalyzer() | CharsetFilter(accent_map)
OURS = FoldingStemAnalyzer()


def sample_texts(count=300):
    rng = random.Random(7)
    words = (demo.FIRST_NAMES + demo.SURNAMES + demo.SHARED_EXPERTISE
             + [w for pool in demo.EXPERTISE.values() for w in pool]
             + [w for pool in demo.SECTOR_ROLES.values() for w in pool]
             + ["the", "and", "of", "a", "I", "e.g.", "3.5", "A&E", "naïve", "café", "Zoë",
                "mentoring", "mentored", "mentors", "co-ordinator", "it's", "x", "", "!!"])
    texts = [demo.OPENINGS[0], demo.MIDDLES[1], "", "   ", "the and of", "Zoë Ní Bhriain"]
    for _ in range(count):
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))))
    return texts


def tokens(analyzer, text, **options):
    return [(t.text, getattr(t, "pos", None), getattr(t, "startchar", None),
             getattr(t, "endchar", None), t.stopped) for t in analyzer(text, **options)]


@pytest.mark.parametrize("options", [
    {},
    {"positions": True, "chars": True},  # how documents are indexed
    {"positions": True, "chars": True, "removestops": False, "mode": "query"},  # highlighting
    {"positions": True, "start_pos": 5, "start_char": 10},
    {"tokenize": False},
])
def test_same_tokens_as_whooshs_chain(options):
    for text in sample_texts():
        assert tokens(OURS, text, **options) == tokens(WHOOSH, text, **options), text


def test_stems_and_folds():
    assert [t.text for t in OURS("Mentoring mentored Zoë statistics the")] == [
        "mentor", "mentor", "zoe", "statist"]


def test_spelling_offers_the_nearest_common_word(tmp_path):
    from collections import Counter

    from register.search import spelling

    spelling.save(tmp_path, Counter({"statistics": 40, "statistician": 2, "leadership": 9,
                                     "leeds": 5, "zoe": 3}))
    assert spelling.correct(tmp_path, "statistcs") == "statistics"  # a letter missing
    assert spelling.correct(tmp_path, "ttatistics") is None  # a different first letter
    assert spelling.correct(tmp_path, "statsitics") == "statistics"  # two letters swapped
    assert spelling.correct(tmp_path, "Leaderhsip") == "leadership"
    assert spelling.correct(tmp_path, "leadership") is None  # known words stay
    assert spelling.correct(tmp_path, "quantum") is None  # nothing near enough
    spelling.add(tmp_path, [{"name": "Quentin Orthodontist"}])
    assert spelling.correct(tmp_path, "orthodontsit") == "orthodontist"
