"""How well the search ranks: MRR@10 and recall@10 over a labelled set with decoys.

The set is in tests/relevance_set.py. The figures are printed (run with -s)
and kept in the README's measurement section; the test fails below the
targets. Run on both databases: ranking comes from the index, but the
profiles reach it through the same services and sync as in production.
"""

from __future__ import annotations

import pytest

from tests.relevance_set import PROFILES, QUERIES
from tests.test_search import apply_changes, find, make_mentor  # noqa: F401  (fixture)

TARGET_MRR = 0.95
TARGET_RECALL = 0.95
CUTOFF = 10


@pytest.fixture
def labelled_register(app, make_mentor):  # noqa: F811  (the fixture imported above)
    for name, (headline, organisation, sector, expertise, bio) in PROFILES.items():
        make_mentor(name, headline=headline, organisation=organisation, sector=sector,
                    expertise=expertise, bio=bio)
    apply_changes(app)


def measure(app) -> tuple[float, float, list[tuple[str, int | None, list[str]]]]:
    """MRR@10, recall@10, and for each query the rank of its first relevant mentor."""
    reciprocal, recall, ranks = [], [], []
    for typed, relevant in QUERIES.items():
        shown = find(app, q=typed, accepting="0")[:CUTOFF]
        rank = next((n for n, name in enumerate(shown, 1) if name in relevant), None)
        reciprocal.append(1 / rank if rank else 0.0)
        recall.append(len(relevant & set(shown)) / len(relevant))
        ranks.append((typed, rank, shown[:3]))
    return sum(reciprocal) / len(QUERIES), sum(recall) / len(QUERIES), ranks


def test_the_labelled_set_is_big_enough_and_its_answers_exist():
    assert len(QUERIES) >= 60
    for relevant in QUERIES.values():
        assert relevant <= set(PROFILES)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_mrr_and_recall_at_10_on_the_labelled_set(app, labelled_register):
    mrr, recall, ranks = measure(app)
    misses = [(typed, rank, top) for typed, rank, top in ranks if rank != 1]
    print(f"\nRelevance over {len(QUERIES)} queries, {len(PROFILES)} profiles: "
          f"MRR@10 {mrr:.3f}, recall@10 {recall:.3f}")
    for typed, rank, top in misses:
        print(f"  {typed!r}: first relevant at {rank}; top three {top}")
    assert mrr >= TARGET_MRR, misses
    assert recall >= TARGET_RECALL, misses
