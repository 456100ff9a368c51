"""Pages of results shared between the processes serving one host (register/search/pages.py).

A search worked out by one gunicorn worker is read by the others, never after
the index has changed, never from a file the register did not seal itself, and
the folders of old indexes go when the worker tidies up.
"""

from __future__ import annotations

import hmac
import os
import pickle
import subprocess
import sys
import time

import pytest
from werkzeug.datastructures import MultiDict

from register.extensions import db
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.search import pages, services
from register.search.sync import sync
from tests.test_search import (  # noqa: F401  (fixtures)
    REPOSITORY,
    apply_changes,
    child_environment,
    data_of,
    find,
    make_mentor,
    register_of_mentors,
)

# Every test here searches the small register of test_search.py.
pytestmark = pytest.mark.usefixtures("register_of_mentors")

SEARCHER = """
import sys
from register import create_app
from register.search.services import SearchParams, search
from werkzeug.datastructures import MultiDict

app = create_app()
with app.app_context():
    hits = search(SearchParams.from_args(MultiDict({"q": sys.argv[1]}))).hits
print(",".join(hit.name for hit in hits))
"""


def search_in_another_process(app, words: str) -> list[str]:
    environment = child_environment(app) | {"SECRET_KEY": app.config["SECRET_KEY"]}
    done = subprocess.run([sys.executable, "-c", SEARCHER, words], cwd=REPOSITORY,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [name for name in done.stdout.strip().split(",") if name]


def only_from_pages(monkeypatch):
    """From here on, this process can only answer from a stored page."""
    services._cache.clear()

    def refuse(*_):
        raise AssertionError("worked out again instead of read")

    monkeypatch.setattr(services, "_ranked", refuse)


def page_files(app) -> list:
    with app.app_context():
        root = pages._root()
    return sorted(root.rglob("*")) if root.exists() else []


def test_a_page_worked_out_in_one_process_is_read_by_another(app, monkeypatch):
    names = search_in_another_process(app, "statistics")
    assert names == ["Priya Raman", "Owen Price"]
    only_from_pages(monkeypatch)
    with app.app_context():
        # (A search that fails answers from the database instead, without the order.)
        results = services.search(services.SearchParams.from_args(
            MultiDict({"q": "statistics"})))
        assert not results.degraded
    assert [hit.name for hit in results.hits] == names


def test_a_shared_page_is_not_read_once_the_index_has_changed(
        app, register_of_mentors):  # noqa: F811  (the fixture imported above)
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, register_of_mentors["Priya Raman"])
        mentors.update_profile(profile, data_of(profile, headline="Health economics",
                                                expertise=["Health economics"],
                                                bio="I work on the costs of care. " * 6),
                               by=profile.user)
        db.session.commit()
    apply_changes(app)
    services._cache.clear()  # this process's own copy too
    assert "Priya Raman" not in find(app, q="statistics")


@pytest.mark.parametrize("forgery", ["unsealed", "sealed with another key"])
def test_a_page_the_register_did_not_seal_is_ignored(app, forgery):
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]
    stored = [path for path in page_files(app) if path.is_file()]
    assert len(stored) == 1
    with app.app_context():
        results = pickle.loads(stored[0].read_bytes()[32:])
    key, page = results
    page.hits[0].name = "Mallory Forger"
    body = pickle.dumps((key, page))
    seal = (b"\0" * 32 if forgery == "unsealed"
            else hmac.new(b"not the register's key", body, "sha256").digest())
    stored[0].write_bytes(seal + body)
    services._cache.clear()
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]


def test_old_page_folders_go_when_the_worker_syncs(app):
    find(app, q="statistics")
    with app.app_context():
        root = pages._root()
    current = next(root.iterdir())
    old = root / "an-index-long-gone"
    old.mkdir()
    (old / "page").write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    with app.app_context():
        sync()
    assert not old.exists() and current.exists()


def test_a_process_stores_a_bounded_number_of_pages(app, monkeypatch):
    monkeypatch.setattr(pages, "WRITES_PER_STAMP", 2)
    for words in ("statistics", "leadership", "qualitative", "nursing"):
        find(app, q=words)
    assert len([path for path in page_files(app) if path.is_file()]) == 2
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]


def test_a_page_that_cannot_be_written_is_only_not_shared(app):
    with app.app_context():
        root = pages._root()
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("a file where the folder should be")  # every write now fails
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]  # from memory now
    root.unlink()
