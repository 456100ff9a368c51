"""Our one-pass analyser gives exactly the tokens of Whoosh's own chain; spelling; extracts."""

import html
import random
import re

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
                "mentoring", "mentored", "mentors", "co-ordinator", "it's", "x", "", "!!",
                "a..b", "v1.2.3", "end.", ".start", "é.ü_1", "..", "x.y.z."])
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


# Extracts: whole sentences around the words found --------------------------------------------

BIO = ("I am a paediatric nurse. For ten years I ran the ward's safeguarding training and "
       "wrote the trust's policy. I coach new ward sisters through their first year in post. "
       "Outside work I sing in a choir. Ask me about mentoring, rotas and difficult "
       "conversations with families.")


def shown(markup) -> str:
    """The extract as a person reads it: the text without the marks."""
    return html.unescape(re.sub(r"</?mark>", "", str(markup)))


def marked(markup) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", str(markup))


def terms(text):
    from register.search import query as text_query
    from register.search.extracts import terms_of

    return terms_of(text_query.build(text, known=lambda term: True).query)


def test_an_extract_is_whole_sentences_around_the_words_found():
    from register.search.extracts import extract

    result = extract(BIO, *terms("safeguarding"))
    assert shown(result) == ("… For ten years I ran the ward's safeguarding training and wrote "
                             "the trust's policy. …")
    assert marked(result) == ["safeguarding"]
    # Two words in two sentences: both sentences, an ellipsis where text was left out.
    result = extract(BIO, *terms("safeguarding choir"))
    assert shown(result) == ("… For ten years I ran the ward's safeguarding training and wrote "
                             "the trust's policy. … Outside work I sing in a choir. …")
    # Word forms are marked as the index matched them: "mentors" finds "mentoring".
    assert marked(extract(BIO, *terms("mentors"))) == ["mentoring"]
    # The first sentence, matched, has no ellipsis before it; the last none after it.
    assert shown(extract(BIO, *terms("paediatric"))) == "I am a paediatric nurse. …"
    assert shown(extract(BIO, *terms("families"))).endswith("families.")
    assert shown(extract(BIO, *terms("families"))).startswith("… Ask me")


def test_without_a_match_the_extract_is_the_opening_never_a_fragment():
    from register.search.extracts import extract

    for result in (extract(BIO), extract(BIO, *terms("astronomy"))):
        text = shown(result)
        assert text.startswith("I am a paediatric nurse. For ten years")
        assert text.endswith("… ") or text.endswith(" …")
        assert not marked(result)
        # Whole sentences: it stops at a full stop before the ellipsis.
        assert re.search(r"\. …$", text), text
    assert str(extract("")) == ""
    assert shown(extract("Short bio without a full stop")) == "Short bio without a full stop"


def test_a_very_long_sentence_is_cut_at_spaces_around_the_match():
    from register.search.extracts import extract

    long = "I " + " ".join(["worked"] * 80) + " on oncology trials " + " ".join(["and"] * 80) + "."
    text = shown(extract(long, *terms("oncology")))
    assert text.startswith("… ") and text.endswith(" …")
    assert "oncology" in text and len(text) < 300
    assert not re.search(r"\w…|…\w", text)  # never a cut word


def test_an_extract_escapes_the_bio():
    from register.search.extracts import extract

    result = str(extract("I test <b>bold</b> claims & <script>alert(1)</script>.",
                         *terms("alert")))
    assert "<b>" not in result and "<script>" not in result
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in result
