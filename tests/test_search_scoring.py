"""The search's own scoring (register/search/scoring.py) gives Whoosh's scores.

A search ranks its page by adding up BM25F scores from cached postings
instead of running Whoosh's collector, which was most of a search's time. If
the two ever drift (a change to the query builder, the schema or the
weighting), the ranking people see would no longer be the one the relevance
set measures. So every labelled query, with and without filters, and with the
index spread over several segments with deleted documents, is ranked both
ways here and must come out in the same order with the same scores.
"""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import select

from register.extensions import db
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.search import index, masks, postings, scoring, services
from register.search import query as text_query
from tests.relevance_set import PROFILES, QUERIES
from tests.test_search import apply_changes, data_of, make_mentor  # noqa: F401  (fixture)

# Quoted phrases, two-word synonyms, half-typed words, misspellings, stop words.
MORE = ['"quality improvement"', "GP", "QI", "general practice", "statis", "epidemiolgy",
        "the and of", "leadership coaching nhs", '"health data" science', "Zoë"]


@pytest.fixture
def spread_register(app, make_mentor):  # noqa: F811  (the fixture imported above)
    """The labelled register, indexed in three goes, with edits that delete old documents."""
    names = list(PROFILES)
    for batch in (names[::3], names[1::3], names[2::3]):
        for name in batch:
            headline, organisation, sector, expertise, bio = PROFILES[name]
            make_mentor(name, headline=headline, organisation=organisation, sector=sector,
                        expertise=expertise, bio=bio)
        apply_changes(app)
    with app.test_request_context(method="POST"):
        for profile in db.session.scalars(select(MentorProfile).limit(5)):
            mentors.update_profile(profile, data_of(profile, headline="Leadership coaching "
                                                    "in general practice"), by=profile.user)
        db.session.commit()
    apply_changes(app)


def whoosh_ranking(searcher, query, selected: int, size: int, limit: int):
    results = searcher.search(query, limit=limit, filter=masks.to_bitset(selected, size))
    return [(hit.docnum, hit.score) for hit in results]


@pytest.mark.parametrize("from_files", [True, False], ids=["postings files", "whoosh files"])
@pytest.mark.parametrize("narrowed", [False, True], ids=["all", "filtered"])
def test_the_fast_ranking_is_whooshs_ranking(app, spread_register, narrowed, from_files,
                                             monkeypatch):
    if not from_files:  # as for a segment whose postings file is not written yet
        monkeypatch.setattr(postings, "for_segment", lambda key, reader: None)
        masks.forget_terms()
    compared = 0
    with app.app_context():
        searcher = index.searcher()
        assert len(searcher.leaf_searchers()) > 1  # several segments, as a live index has
        assert searcher.doc_count_all() > searcher.doc_count()  # and deleted documents
        found = masks.for_searcher(searcher)
        lookups = services._lookups(searcher)
        # A filter that keeps every other document: part of each result list stays.
        half = masks.from_ids(range(0, found.size, 2), found.size)
        for typed in [*QUERIES, *MORE]:
            query = text_query.build(typed, **lookups).query
            if query is None:
                continue
            selected = masks.matching(searcher, found, query)
            if narrowed:
                selected &= half
            ours = scoring.top(searcher, query, selected, found.size, 40)
            if not selected:  # (Whoosh takes an empty filter for no filter at all)
                assert ours == [], typed
                continue
            theirs = whoosh_ranking(searcher, query, selected, found.size, 40)
            assert [d for d, _ in ours] == [d for d, _ in theirs], typed
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-9), typed
            compared += bool(ours)
    assert compared >= len(QUERIES) // (3 if narrowed else 1)


def test_a_page_beyond_the_first_continues_the_same_order(app, spread_register):
    with app.app_context():
        searcher = index.searcher()
        found = masks.for_searcher(searcher)
        query = text_query.build("leadership", **services._lookups(searcher)).query
        selected = masks.matching(searcher, found, query)
        first_two = scoring.top(searcher, query, selected, found.size, 8)
        first_one = scoring.top(searcher, query, selected, found.size, 4)
    assert len(first_two) == 8 and first_two[:4] == first_one
    assert [s for _, s in first_two] == sorted((s for _, s in first_two), reverse=True)


def test_the_kept_postings_and_term_masks_stay_within_their_budgets(app, spread_register,
                                                                    monkeypatch):
    from tests.test_search import find

    before = {typed: find(app, q=typed, accepting="0") for typed in list(QUERIES)[:12]}
    monkeypatch.setattr(masks, "POSTINGS_KEPT", 40)
    monkeypatch.setattr(masks, "TERMS_BYTES_KEPT", 2000)
    masks.forget_terms()
    for typed, names in before.items():
        with app.app_context():
            services.forget_pages()
        assert find(app, q=typed, accepting="0") == names, typed  # the same, read again
        assert masks._postings_size <= 40 or len(masks._postings) == 1
        assert masks._terms_bytes <= 2000 or len(masks._terms) == 1
    assert masks._postings and masks._terms  # something is kept, just not too much


def test_a_web_worker_reads_the_index_before_its_first_request(app, spread_register):
    import logging
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    hooks = runpy.run_path(str(Path(__file__).resolve().parent.parent / "deploy"
                               / "gunicorn.conf.py"))
    assert hooks["timeout"] == 30
    scoring.forget()
    masks._segments.clear()
    postings.forget()
    with app.app_context():
        leaves = len(index.searcher().leaf_searchers())
    # As gunicorn does, in the worker's thread, once the app has loaded.
    try:
        hooks["post_worker_init"](SimpleNamespace(wsgi=app, log=logging.getLogger("gunicorn")))
        assert gc.get_freeze_count() > 0  # what is loaded is left out of full collections
    finally:
        gc.unfreeze()  # this is a test run, not a worker: its garbage must still go
    assert len(masks._segments) == leaves
    assert len(postings._open) == leaves  # each segment's postings file, its directory read
    compiled = {name for _, name in app.jinja_env.cache}
    assert {"search/results.html", "search/_results.html", "base.html"} <= compiled
    assert {field for _, field in scoring._lengths} == set(text_query.FIELDS)
    assert len(scoring._lengths) == leaves * len(text_query.FIELDS)


def test_a_worker_without_an_index_starts_all_the_same(app, caplog):
    import logging
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    hooks = runpy.run_path(str(Path(__file__).resolve().parent.parent / "deploy"
                               / "gunicorn.conf.py"))
    log = logging.getLogger("gunicorn.test")
    with caplog.at_level(logging.INFO, logger="gunicorn.test"):
        try:
            hooks["post_worker_init"](SimpleNamespace(wsgi=app, log=log))
            hooks["post_worker_init"](SimpleNamespace(wsgi=object(), log=log))  # failed to load
        finally:
            gc.unfreeze()
    assert "Search not warmed: the index cannot be read yet" in caplog.text
