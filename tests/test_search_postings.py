"""Each segment's postings file (register/search/postings.py) says what Whoosh's files say.

A search reads terms, their document counts, prefixes and phrases from these
files rather than from Whoosh's. So here every term of every text field of a
register indexed in several goes is read both ways and must agree, phrases
must be found in the same documents, a search must give the same page with
or without the files, and a damaged file must be passed over (and written
again by the next sync), never trusted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from register.search import index, masks, postings, services, sync
from register.search import query as text_query
from tests.relevance_set import PROFILES, QUERIES
from tests.test_search import apply_changes, find, make_mentor  # noqa: F401  (fixture)
from tests.test_search_scoring import spread_register  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("spread_register")


def segment_readers(searcher):
    return [leaf.reader() for _, leaf, _ in masks.leaves(searcher)]


def file_of(reader) -> postings.SegmentFile:
    found = postings.for_segment(masks.segment_key(reader), reader)
    assert found is not None, "the sync wrote no postings file for this segment"
    return found


def whoosh_positions(reader, fieldname, text):
    ids, positions = [], {}
    matcher = postings._matcher(reader, fieldname, text)  # deleted documents too
    while matcher.is_active():
        ids.append(matcher.id())
        positions[matcher.id()] = list(matcher.value_as("positions"))
        matcher.next()
    return ids, positions


def test_every_term_of_every_segment_reads_as_whoosh_has_it(app):
    checked = 0
    with app.app_context():
        searcher = index.searcher()
        readers = segment_readers(searcher)
        assert len(readers) > 1
        for reader in readers:
            kept = file_of(reader)
            for fieldname, positional in postings.text_fields(reader.schema):
                for text in reader.field_terms(fieldname):
                    ids, weights = kept.postings(fieldname, text)
                    theirs = postings.whoosh_postings(reader, fieldname, text)
                    assert ids.tolist() == theirs[0].tolist(), (fieldname, text)
                    assert weights.tolist() == theirs[1].tolist(), (fieldname, text)
                    assert kept.doc_frequency(fieldname, text) == reader.doc_frequency(
                        fieldname, text)
                    if positional:
                        at, counts, flat = kept.positions(fieldname, text)
                        their_ids, their_positions = whoosh_positions(reader, fieldname, text)
                        assert at.tolist() == their_ids
                        ours = np.split(flat, np.cumsum(counts)[:-1]) if len(counts) else []
                        assert [p.tolist() for p in ours] == [their_positions[d]
                                                             for d in their_ids]
                    checked += 1
            # A term it has never seen, and a field it does not keep.
            assert kept.postings("bio", "zzzzqx")[0].size == 0
            assert kept.doc_frequency("bio", "zzzzqx") == 0
            assert kept.postings("sector", "nhs") is None
        assert checked > 500
        # Across segments: document counts and prefixes, as the search asks for them.
        for word in ["grant", "lead", "qual", "statist", "z", "zzz", "é"]:
            for fieldname in text_query.FIELDS:
                assert masks.doc_frequency(searcher, fieldname, word) == \
                    searcher.doc_frequency(fieldname, word)
                assert masks.expand_prefix(searcher, fieldname, word) == [
                    t.decode() for t in searcher.reader().expand_prefix(fieldname, word)]


def phrases_of_the_register() -> list[list[str]]:
    """Every run of two and three words in the register's short fields, as analysed, and
    some that are not there: words reversed, a word repeated, a word unknown."""
    found = set()
    for headline, organisation, _, expertise, _ in PROFILES.values():
        for text in [headline, organisation, *expertise]:
            words = text_query.analyse(text)
            for size in (2, 3):
                for start in range(len(words) - size + 1):
                    found.add(tuple(words[start:start + size]))
                    found.add(tuple(reversed(words[start:start + size])))
    found |= {("grant", "grant"), ("grant", "zzzzqx"), ("qualiti", "improv", "improv")}
    return [list(words) for words in sorted(found)]


def test_phrases_are_found_in_the_documents_whoosh_finds_them_in(app):
    from whoosh import query as q

    phrases = phrases_of_the_register()
    assert len(phrases) > 100
    matched = 0
    with app.app_context():
        searcher = index.searcher()
        for _, leaf, _ in masks.leaves(searcher):
            reader = leaf.reader()
            kept = file_of(reader)
            for fieldname in text_query.PHRASE_FIELDS:
                for words in phrases:
                    # Whoosh leaves deleted documents out; the search does so through
                    # the live documents.
                    ours = [d for d in kept.phrase(fieldname, words).tolist()
                            if not reader.is_deleted(d)]
                    theirs = list(leaf.docs_for_query(q.Phrase(fieldname, words)))
                    assert ours == sorted(theirs), (fieldname, words)
                    matched += bool(theirs)
            assert kept.phrase("bio", ["grant", "writing"]) is None  # the bio keeps no positions
    assert matched > 20


def test_a_search_gives_the_same_page_with_or_without_the_files(app, monkeypatch):
    typed = [*list(QUERIES)[:40], "QI", '"quality improvement"', "GP", "statis"]
    with_files = {words: find(app, q=words, accepting="0") for words in typed}
    monkeypatch.setattr(postings, "for_segment", lambda key, reader: None)
    with app.app_context():
        services.forget_pages()
    masks.forget_terms()
    for words in typed:
        assert find(app, q=words, accepting="0") == with_files[words], words


def live_files(app) -> list[Path]:
    with app.app_context():
        return sorted(index.live_path().glob(f"*.{postings.SUFFIX}"))


@pytest.mark.parametrize("damage", ["cut short", "garbled directory", "another segment's"])
def test_a_damaged_file_is_passed_over_and_the_next_sync_writes_it_again(app, damage):
    typed = ["grant writing", "QI", "leadership", "statis"]
    before = {words: find(app, q=words, accepting="0") for words in typed}
    files = live_files(app)
    assert len(files) > 1
    victim = files[0]
    data = victim.read_bytes()
    if damage == "cut short":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "garbled directory":
        victim.write_bytes(data[:-40] + b"\xff" * 40)
    else:
        victim.write_bytes(files[1].read_bytes())
    postings.forget()
    masks.forget_terms()
    with app.app_context():
        services.forget_pages()
        reader = next(r for r in segment_readers(index.searcher())
                      if postings.file_name(r.segment()) == victim.name)
        assert postings.for_segment(masks.segment_key(reader), reader) is None
    for words in typed:
        assert find(app, q=words, accepting="0") == before[words], words
    apply_changes(app)  # the worker's sync
    postings.forget()
    with app.app_context():
        reader = next(r for r in segment_readers(index.searcher())
                      if postings.file_name(r.segment()) == victim.name)
        written = file_of(reader)
        for text in reader.field_terms("bio"):
            assert written.postings("bio", text)[0].tolist() == \
                postings.whoosh_postings(reader, "bio", text)[0].tolist()


def test_a_rebuild_gives_every_segment_a_file_and_old_ones_go_with_their_segments(app):
    with app.app_context():
        sync.rebuild(processes=2)
        searcher = index.searcher()
        names = {postings.file_name(r.segment()) for r in segment_readers(searcher)}
        assert len(names) > 1
        assert {p.name for p in live_files(app)} == names
        # A merge of every segment into one: Whoosh deletes the merged segments'
        # files, ours among them, and the next sync writes the new one's.
        index.open_live().optimize()
        assert live_files(app) == []
        sync.sync()
        merged = {postings.file_name(r.segment()) for r in segment_readers(index.searcher())}
        assert {p.name for p in live_files(app)} == merged


def test_a_file_that_cannot_be_written_leaves_sync_rebuild_and_searches_working(
        app, monkeypatch, caplog):
    for path in live_files(app):
        path.unlink()
    postings.forget()

    def full_disk(folder, reader):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(postings, "write", full_disk)
    monkeypatch.setattr(sync, "_postings_failure", [""])
    with caplog.at_level(logging.INFO):
        result = apply_changes(app)
        assert not result.waiting
        assert "No space left on device" in caplog.text
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info  # the cause, in full, once
        apply_changes(app)
        apply_changes(app)  # the worker's next syncs: the same cause is not logged again
        assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
        with app.app_context():
            sync.rebuild()  # a rebuild goes ahead without them too
    assert live_files(app) == []
    masks.forget_terms()
    with app.app_context():
        services.forget_pages()
    assert find(app, q="grant writing", accepting="0")[0] == "Nadia Kowalski"
