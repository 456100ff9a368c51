"""Finding mentors: relevance, filters, who may appear, and an index that keeps up.

Every test builds a real Whoosh index in tmp_path from profiles the mentors'
own services wrote, applies the change log with `sync` (or `rebuild`), and
looks at what a mentee would see: the order of the names, the counts beside
the filters, the words on the results page.
"""

from __future__ import annotations

import gc
import html
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from register.search import index
from register.search.models import SearchChange
from register.search.services import GROUPS, SearchParams, search
from register.search.sync import check, rebuild, sync

BOTH_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
REPOSITORY = Path(__file__).resolve().parent.parent

# Eight mentors with distinct expertise. Only Grace's bio has any form of the
# word "mentor", only Sinéad's anything that stems to "doctor", only Tom's
# "general" or "practice"; Owen has "statistics" in his bio and nowhere else.
MENTORS = {
    "Priya Raman": dict(
        headline="Medical statistician", organisation="University of Leeds", sector="academia",
        location="Leeds", expertise=["statistics", "clinical trials"],
        bio="I have taught statistics to clinicians for fifteen years and run the analysis "
            "for several large randomised studies. Happy to talk about methods, careers in "
            "research and writing for journals.",
        knowing=["how"], contexts=["skills", "sector"], formats=["video", "email"],
        kind="formal"),
    "Zoë Whitfield": dict(
        headline="Quality improvement lead", organisation="Bristol Royal Infirmary",
        sector="nhs", location="Bristol", expertise=["quality improvement", "patient safety"],
        bio="I run improvement programmes across surgical wards and coach teams through "
            "plan-do-study-act cycles. I can help you design your first project and present "
            "the results to your board.",
        knowing=["how", "whom"], contexts=["skills", "change"], formats=["in_person", "video"],
        kind="both"),
    "Sinéad O'Connell": dict(
        headline="Director of doctoral studies", organisation="Trinity College",
        sector="academia", location="Dublin", expertise=["doctorate", "research careers"],
        bio="I supervise candidates from proposal to viva and sit on progression panels. "
            "Talk to me about funding applications, writing up and life after the viva.",
        knowing=["why", "whom"], contexts=["career", "politics"],
        formats=["telephone", "video"], kind="informal", languages=["English", "Irish"]),
    "Tom Baker": dict(
        headline="Partner in general practice", organisation="Hillside Surgery", sector="nhs",
        location="York", expertise=["general practice", "primary care"],
        bio="Twenty years as a family physician in a rural town. I help newly qualified "
            "colleagues find their feet, manage a full list and keep a life outside work.",
        knowing=["why", "how"], contexts=["career", "confidence"],
        formats=["in_person", "telephone"], kind="formal"),
    "Grace Adeyemi": dict(
        headline="Leadership coach", organisation="Adeyemi Consulting", sector="industry",
        location="London", expertise=["leadership", "confidence"],
        bio="I have mentored more than forty new managers through their first year in post. "
            "We work on influencing skills, hard conversations and building a network.",
        knowing=["why", "whom"], contexts=["confidence", "politics", "career"],
        formats=["video"], kind="informal", in_training=True, training_body="EMCC"),
    "Owen Price": dict(
        headline="Health economist", organisation="Office of Health Economics",
        sector="government", location="Cardiff", expertise=["health economics", "policy"],
        bio="My work leans heavily on statistics, but my interest is how evidence reaches "
            "policy. I can explain how government departments commission and use research.",
        knowing=["how", "whom"], contexts=["sector", "politics"],
        formats=["email", "telephone"], kind="both"),
    "Hannah Lee": dict(
        headline="Fundraising director", organisation="Hope Children's Charity",
        sector="charity", location="Manchester", expertise=["fundraising", "trustee boards"],
        bio="I have built fundraising teams at three national charities and can help with "
            "moving from a corporate role into the voluntary sector.",
        knowing=["whom"], contexts=["sector", "change"], formats=["telephone"],
        kind="informal", paused=True),
    "Marcus Bell": dict(
        headline="Head of data science", organisation="Northwind Analytics", sector="industry",
        location="Glasgow", expertise=["machine learning", "data engineering"],
        bio="I lead a team of engineers building forecasting tools. Ask me about moving from "
            "academic research into industry, technical interviews and growing a team.",
        knowing=["how"], contexts=["skills", "career"], formats=["video", "in_person"],
        kind="formal", capacity=1, full=True),
}
PAUSED, FULL = {"Hannah Lee"}, {"Marcus Bell"}
TAKING_REQUESTS = set(MENTORS) - PAUSED - FULL


def profile_data(name: str, **fields) -> mentors.ProfileData:
    """What a mentor would have typed: every field submission asks for."""
    values = dict(display_name=name, headline="Mentor", sector="other", bio="",
                  expertise=["listening"], knowing=["why"], contexts=["career"],
                  formats=["video"], kind="informal", capacity=2)
    values.update(fields)
    return mentors.ProfileData(**values)


def data_of(profile: MentorProfile, **changes) -> mentors.ProfileData:
    """The profile's current fields as the editor would show them, with `changes` made."""
    values = {name: getattr(profile, name) for name in mentors.ProfileData.__dataclass_fields__}
    values.update(changes)
    return mentors.ProfileData(**values)


@pytest.fixture
def make_mentor(app, make_user):
    """make_mentor("Ada", state="published", paused=False, full=False, **fields) -> profile id.

    The mentor writes the profile through the service; each published one is
    dated a minute before the one made before it, so "newest first" has a fixed order.
    """
    ages = iter(range(1, 10_000))

    def make(name, *, state=MentorProfile.PUBLISHED, paused=False, full=False, **fields) -> int:
        account = make_user(name=name)
        with app.test_request_context(method="POST"):
            user = db.session.get(User, account.id)
            profile = mentors.start_profile(user)
            mentors.update_profile(profile, profile_data(name, **fields), by=user)
            profile.state = state
            if state == MentorProfile.PUBLISHED:
                profile.published_at = utcnow() - timedelta(minutes=next(ages))
            if paused:
                mentors.pause(profile, by=user)
            if full:
                for n in range(profile.capacity):
                    mentee = User(email=f"mentee-of-{profile.id}-{n}@example.org",
                                  name="A mentee", password_hash=None)
                    db.session.add(mentee)
                    db.session.flush()
                    db.session.add(Mentorship(mentor_id=user.id, mentee_id=mentee.id))
                # A new mentorship is a change mentees see ("Full").
                mentors.profile_changed(profile)
            db.session.commit()
            return profile.id

    return make


@pytest.fixture
def register_of_mentors(app, make_mentor) -> dict[str, int]:
    """The eight mentors above, published and indexed: name -> profile id."""
    ids = {}
    for name, fields in MENTORS.items():
        fields = dict(fields)
        ids[name] = make_mentor(name, paused=fields.pop("paused", False),
                                full=fields.pop("full", False), **fields)
    apply_changes(app)
    return ids


def apply_changes(app):
    """What the worker does: bring the index up to date with the change log."""
    with app.app_context():
        return sync()


def find(app, **args) -> list[str]:
    """The names a mentee would see, in order, for a search given as URL arguments."""
    return [hit.name for hit in results_for(app, **args).hits]


def results_for(app, **args):
    multi = MultiDict()
    for key, value in args.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            multi.add(key, one)
    with app.app_context():
        return search(SearchParams.from_args(multi))


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def result_names(body: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'class="mentor-name"><a [^>]*>([^<]+)</a>', body)]


# 1. Relevance -------------------------------------------------------------------------


@BOTH_BACKENDS
@pytest.mark.parametrize("typed, expected", [
    ("statistics", "Priya Raman"),
    ("stats", "Priya Raman"),                 # synonym of statistics
    ("Statistics", "Priya Raman"),
    ("QI", "Zoë Whitfield"),                  # quality improvement
    ("quality improvement", "Zoë Whitfield"),
    ("PhD", "Sinéad O'Connell"),             # doctorate
    ("GP", "Tom Baker"),                      # general practice
    ("general practitioner", "Tom Baker"),
    ("mentoring", "Grace Adeyemi"),           # her bio says "mentored"
    ("Zoe", "Zoë Whitfield"),                 # accents fold
    ("Sinead", "Sinéad O'Connell"),
    ("economics", "Owen Price"),
    ("Dublin", "Sinéad O'Connell"),           # place
    ("Irish", "Sinéad O'Connell"),            # languages
    ("statis", "Priya Raman"),                # still typing
])
def test_the_expected_mentor_comes_first(app, register_of_mentors, typed, expected):
    assert find(app, q=typed)[:1] == [expected]


@BOTH_BACKENDS
def test_each_shorthand_finds_only_the_mentor_it_stands_for(app, register_of_mentors):
    assert find(app, q="QI") == ["Zoë Whitfield"]
    assert find(app, q="PhD") == ["Sinéad O'Connell"]
    assert find(app, q="GP") == ["Tom Baker"]
    assert find(app, q="mentoring") == ["Grace Adeyemi"]


@BOTH_BACKENDS
def test_expertise_outweighs_the_same_word_in_a_bio(app, register_of_mentors):
    # Owen mentions statistics only in his bio; Priya lists it as expertise.
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]
    assert find(app, q="stats") == ["Priya Raman", "Owen Price"]


@BOTH_BACKENDS
def test_a_misspelling_finds_the_mentor_and_offers_the_word(app, client, register_of_mentors):
    body = page_text(client.get("/mentors?q=statistcs"))
    # The results already read the word as meant; the suggestion says so.
    assert result_names(body) == ["Priya Raman", "Owen Price"]
    match = re.search(r'Did you mean <a href="([^"]+)">statistics</a>\?', body)
    assert match, body
    followed = page_text(client.get(html.unescape(match.group(1))))
    assert result_names(followed) == ["Priya Raman", "Owen Price"]
    assert "Did you mean" not in followed


@BOTH_BACKENDS
def test_a_misspelt_word_among_others_still_ranks_the_mentor_with_all_of_them(app,
                                                                             register_of_mentors):
    # Only Priya has both; Owen has "statistics" and "policy" but no "clinical".
    assert find(app, q="clinical statistcs")[:1] == ["Priya Raman"]
    assert find(app, q="clinicl statistics")[:1] == ["Priya Raman"]
    assert find(app, q="statistics policy")[:1] == ["Owen Price"]
    assert find(app, q="statistcs polcy")[:1] == ["Owen Price"]
    # Word order does not matter, nor for two-word synonyms.
    assert find(app, q="policy statistics") == find(app, q="statistics policy")
    assert find(app, q="practitioner general")[:1] == ["Tom Baker"]


@BOTH_BACKENDS
def test_words_that_match_nobody_together_fall_back_to_any_of_them(app, client,
                                                                   register_of_mentors):
    body = page_text(client.get("/mentors?q=statistics+fundraising&accepting=0"))
    assert "No mentor matched all of your words" in body
    assert set(result_names(body)) == {"Priya Raman", "Owen Price", "Hannah Lee"}


# 2. Queries are never errors -------------------------------------------------------------

ODD_QUERIES = [
    '"', '"unclosed phrase', '""', '((statistics', 'statistics)', "[a TO z]", "{x}",
    "AND", "OR", "NOT", "statistics AND NOT leadership", "OR OR AND", "*", "stat*", "*stat",
    "?", "st?ts", "~", "statistics~2", "^", "statistics^10", ":", "name:Priya", "bio:",
    "!!!", "...", "-", "--statistics", "+", "\\", "/", "//", "&", "&&||", "%", "%%", "#",
    "<script>alert(1)</script>", "' OR 1=1 --", "'; DROP TABLE mentor_profile; --",
    "1; SELECT * FROM user", "x" * 5000, "statistics " * 300, "🧑‍⚕️", "👩🏽‍🔬 statistics 🚀",
    "\u200b", "ß", "İstanbul", "\ufeff", "a&e", "   ", "\t\n",
]
# Only operators, symbols or stop words: no search at all, so the browse page.
NOTHING_TO_SEARCH = ['"', '""', "AND", "OR", "NOT", "OR OR AND", "*", "?", "~", "^", ":", "!!!",
                     "...", "-", "+", "\\", "/", "//", "&", "&&||", "%", "%%", "#", "(", "c++",
                     "🧑‍⚕️", "\u200b", "\ufeff", "   ", "\t\n", "the", "(( NOT *"]


@pytest.mark.parametrize("hx", [False, True], ids=["page", "fragment"])
def test_no_query_is_an_error(app, client, register_of_mentors, hx):
    headers = {"HX-Request": "true"} if hx else {}
    for typed in ODD_QUERIES:
        response = client.get(f"/mentors?q={quote(typed)}", headers=headers)
        body = page_text(response)
        assert re.search(r"(No mentors match|\d+ mentors? match)", body), typed
        assert ("<html" in body) is not hx, typed
        if "<" in typed:
            assert typed not in body  # shown back escaped, never as markup
    for page in ("0", "-3", "99999999999999999999", "2.5", "x"):
        body = page_text(client.get(f"/mentors?q=statistics&page={page}", headers=headers))
        assert "2 mentors match" in body, page
    # Undecodable bytes and unknown filter values are dropped, not refused.
    body = page_text(client.get("/mentors?q=%ED%A0%80%FF&knowing=nonsense&page=x&sort=up",
                                headers=headers))
    assert "mentors match" in body
    # The SQL-looking text did nothing to the register.
    assert find(app, q="statistics")[0] == "Priya Raman"
    # A NUL byte is refused by the app-wide guard, or dropped: never a server error.
    assert client.get("/mentors?q=%00", headers=headers).status_code in (200, 422)


@pytest.mark.parametrize("typed", NOTHING_TO_SEARCH)
def test_a_query_of_only_operators_is_the_browse_page(app, client, register_of_mentors, typed):
    body = page_text(client.get(f"/mentors?q={quote(typed)}&accepting=0"))
    assert re.search(r">8 mentors match\s*</h2>", body)  # the browse page: no quoted text
    assert "mentors match “" not in body
    assert result_names(body) == result_names(page_text(client.get("/mentors?accepting=0")))


# 3. Filters and their counts ---------------------------------------------------------------


def having(group: str, codes) -> set[str]:
    """The fixture's mentors with any of `codes` in a filter group, computed by hand."""
    field = {"context": "contexts", "format": "formats"}.get(group, group)
    found = set()
    for name, fields in MENTORS.items():
        value = fields[field]
        values = set(value) if isinstance(value, list) else (
            {"formal", "informal"} if value == "both" else {value})
        if values & set(codes):
            found.add(name)
    return found


@BOTH_BACKENDS
def test_filters_narrow_or_within_a_group_and_across_groups(app, register_of_mentors):
    everyone = {"accepting": "0"}
    assert set(find(app, knowing="why", **everyone)) == having("knowing", ["why"])
    assert set(find(app, knowing=["why", "whom"], **everyone)) == having("knowing",
                                                                          ["why", "whom"])
    assert set(find(app, knowing="why", sector="industry", **everyone)) == (
        having("knowing", ["why"]) & having("sector", ["industry"])) == {"Grace Adeyemi"}
    assert set(find(app, context=["politics", "change"], format="telephone", **everyone)) == (
        having("context", ["politics", "change"]) & having("format", ["telephone"]))
    # A mentor offering either kind is found by both.
    assert set(find(app, kind="formal", **everyone)) == {
        "Priya Raman", "Zoë Whitfield", "Tom Baker", "Owen Price", "Marcus Bell"}
    assert set(find(app, kind="informal", **everyone)) == {
        "Zoë Whitfield", "Sinéad O'Connell", "Grace Adeyemi", "Owen Price", "Hannah Lee"}
    assert set(find(app, kind=["formal", "informal"], **everyone)) == set(MENTORS)
    # Filters narrow a text search too.
    assert find(app, q="statistics", sector="government") == ["Owen Price"]
    assert find(app, q="statistics", sector="charity") == []


@BOTH_BACKENDS
@pytest.mark.parametrize("already", [{}, {"sector": "nhs"}, {"knowing": "how"},
                                     {"q": "research", "accepting": "0"}])
def test_the_count_beside_each_value_is_what_ticking_it_gives(app, register_of_mentors,
                                                               already):
    shown = results_for(app, **already)
    for group in GROUPS:
        for value in shown.facets[group]:
            # Within a group already ticked, each value counts as if ticked on its own.
            ticked = results_for(app, **{**already, group: value.code})
            assert ticked.total == value.count, (already, group, value)
    assert shown.accepting_count == results_for(app, **{**already, "accepting": "1"}).total
    assert shown.in_training_count == results_for(app, **already, in_training="1").total


@BOTH_BACKENDS
def test_the_page_shows_the_counts(app, client, register_of_mentors):
    body = page_text(client.get("/mentors?accepting=0"))
    why = len(having("knowing", ["why"]))
    assert f"Knowing why ({why})" in body
    assert f"Academia ({len(having('sector', ['academia']))})" in body
    assert f"Taking requests now ({len(TAKING_REQUESTS)})" in body
    assert "Mentors in training (1)" in body
    assert f"{len(MENTORS)} mentors match" in body


@BOTH_BACKENDS
def test_taking_requests_is_on_by_default_and_can_be_turned_off(app, client,
                                                                register_of_mentors):
    assert set(find(app)) == TAKING_REQUESTS
    assert set(find(app, accepting=["0", "1"])) == TAKING_REQUESTS  # hidden 0, box ticked
    assert set(find(app, accepting="0")) == set(MENTORS)
    body = page_text(client.get("/mentors?accepting=0"))
    assert re.search(r'id="accepting" name="accepting" value="1">', body)  # not checked
    for name, status in (("Hannah Lee", "Paused"), ("Marcus Bell", "Full")):
        article = re.search(rf"{name}</a></h3>.*?</article>", body, re.S).group(0)
        assert f"{status}: not taking requests now" in article
    for name in TAKING_REQUESTS:
        article = re.search(rf"{escape(name)}</a></h3>.*?</article>", body, re.S).group(0)
        assert "not taking requests" not in article
    assert "not taking requests" not in page_text(client.get("/mentors"))


@BOTH_BACKENDS
def test_mentors_in_training(app, register_of_mentors):
    assert find(app, in_training="1") == ["Grace Adeyemi"]
    assert find(app, in_training="1", q="statistics") == []


# 4. Never shown where they should not be ----------------------------------------------------


@BOTH_BACKENDS
def test_only_published_profiles_are_ever_found(app, make_user, make_mentor):
    coordinator = make_user(admin=True)
    ids = {state: make_mentor(f"Quentin {state.title()}", state=MentorProfile.DRAFT,
                              expertise=["orthodontics"], bio="Orthodontics. " * 10,
                              headline="Orthodontist")
           for state in MentorProfile.STATES}
    with app.test_request_context(method="POST"):
        admin = db.session.get(User, coordinator.id)

        def moved(state):
            profile = db.session.get(MentorProfile, ids[state])
            if state != MentorProfile.DRAFT:
                mentors.submit(profile, by=profile.user)
            if state in {MentorProfile.PUBLISHED, MentorProfile.SUSPENDED}:
                mentors.approve(profile, by=admin)
            if state == MentorProfile.REJECTED:
                mentors.reject(profile, by=admin, reason="Not a member.")
            if state == MentorProfile.SUSPENDED:
                mentors.suspend(profile, by=admin, reason="Complaint upheld.")
            if state == MentorProfile.DELETED:
                mentors.approve(profile, by=admin)
                mentors.remove_for_deleted_account(profile)
            assert profile.state == state

        for state in MentorProfile.STATES:
            moved(state)
        db.session.commit()
    apply_changes(app)
    assert find(app, q="orthodontics", accepting="0") == ["Quentin Published"]
    assert find(app, accepting="0") == ["Quentin Published"]
    with app.app_context():
        rebuild()
    assert find(app, q="quentin", accepting="0") == ["Quentin Published"]


@BOTH_BACKENDS
def test_suspending_pausing_and_resuming_show_at_once_after_sync(app, client, make_user,
                                                                 register_of_mentors):
    coordinator = make_user(admin=True)
    priya = register_of_mentors["Priya Raman"]

    def change(action, **kwargs):
        with app.test_request_context(method="POST"):
            profile = db.session.get(MentorProfile, priya)
            by = db.session.get(User, coordinator.id) if action in (
                mentors.suspend, mentors.reinstate) else profile.user
            action(profile, by=by, **kwargs)
            db.session.commit()
        apply_changes(app)

    change(mentors.pause)
    assert find(app, q="statistics") == ["Owen Price"]
    assert find(app, q="statistics", accepting="0") == ["Priya Raman", "Owen Price"]
    assert "Paused: not taking requests now" in page_text(
        client.get("/mentors?q=Priya&accepting=0"))
    change(mentors.resume)
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]
    change(mentors.suspend, reason="Complaint upheld.")
    assert find(app, q="statistics", accepting="0") == ["Owen Price"]
    assert "No mentors match" in page_text(client.get("/mentors?q=Priya&accepting=0"))
    change(mentors.reinstate, reason="Resolved.")
    assert find(app, q="statistics")[0] == "Priya Raman"


@BOTH_BACKENDS
def test_a_mentor_back_from_away_takes_requests_again(app, register_of_mentors):
    priya = register_of_mentors["Priya Raman"]
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, priya)
        mentors.pause(profile, by=profile.user, away_until=utcnow().date() + timedelta(days=14))
        db.session.commit()
    apply_changes(app)
    assert "Priya Raman" not in find(app, q="statistics")
    assert results_for(app, q="Priya", accepting="0").hits[0].status == "paused"

    # Two weeks on, the return date has passed; the worker's daily job notices.
    with app.app_context():
        profile = db.session.get(MentorProfile, priya)
        profile.away_until = utcnow().date() - timedelta(days=1)
        db.session.commit()
    with app.app_context():
        assert mentors.resume_returned_mentors() == 1
        db.session.commit()
    apply_changes(app)
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]
    assert results_for(app, q="Priya").hits[0].status == "open"
    with app.app_context():
        assert check().ok


def test_a_mentor_who_deletes_their_account_leaves_the_register(app, register_of_mentors):
    from register.auth import services as accounts
    from tests.conftest import TEST_PASSWORD

    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, register_of_mentors["Priya Raman"])
        accounts.delete_account(profile.user, TEST_PASSWORD)
        db.session.commit()
    apply_changes(app)
    assert find(app, q="statistics", accepting="0") == ["Owen Price"]
    assert "Priya Raman" not in find(app, accepting="0")


# 5. Index consistency under concurrent edits -----------------------------------------------


def child_environment(app) -> dict[str, str]:
    """Environment for another process on this test's database and index."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {})
    if "options" in options:  # the PostgreSQL schema of this test run
        url += "?options=" + quote(options["options"])
    return {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": url,
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
        "SECRET_KEY": "child-" + "k" * 40,
        "REGISTER_ENV": "development",
    }


EDITOR = """
import sys
from register import create_app
from register.extensions import db
from register.mentors import services
from register.mentors.models import MentorProfile
from register.search.sync import sync

label, ids = sys.argv[1], [int(i) for i in sys.argv[2].split(",")]
app = create_app()
for n in range(10):
    with app.app_context():
        profile = db.session.get(MentorProfile, ids[n % len(ids)])
        values = {k: getattr(profile, k) for k in services.ProfileData.__dataclass_fields__}
        values["headline"] = f"Edited by {label} number {n}"
        values["expertise"] = [f"{label}topic{n}", *profile.expertise[:3]]
        services.update_profile(profile, services.ProfileData(**values), by=profile.user)
        db.session.commit()
        sync(max_seconds=2)  # as after a request
print("edited", label)
"""


def edit_in_thread(app, label: str, ids: list[int], failures: list, edits: int = 10):
    """A mentor's browser tab: edit, commit, update the index, search; over and over."""
    try:
        for n in range(edits):
            with app.app_context():
                profile = db.session.get(MentorProfile, ids[n % len(ids)])
                mentors.update_profile(profile, data_of(
                    profile, headline=f"Edited by {label} number {n}",
                    expertise=[f"{label}topic{n}", *profile.expertise[:3]]), by=profile.user)
                db.session.commit()
                sync(max_seconds=2)
                search(SearchParams.from_args(MultiDict({"q": "edited"})))
    except BaseException as error:  # noqa: BLE001  (reported by the test, not lost)
        failures.append((label, repr(error)))


@BOTH_BACKENDS
def test_concurrent_edits_from_threads_and_processes_leave_the_index_exact(app, runner,
                                                                           register_of_mentors):
    ids = list(register_of_mentors.values())
    children = [
        subprocess.Popen([sys.executable, "-c", EDITOR, f"proc{p}",
                          ",".join(map(str, ids[p::2]))],
                         cwd=REPOSITORY, env=child_environment(app),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in range(2)
    ]
    failures: list = []
    threads = [threading.Thread(target=edit_in_thread,
                                args=(app, f"thread{t}", ids[t:] + ids[:t], failures))
               for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert "Traceback" not in err and "LockError" not in err, err
    assert failures == []

    apply_changes(app)
    with app.app_context():
        result = check()
        assert result.ok, result
        changes = db.session.scalar(select(db.func.count()).select_from(SearchChange))
    assert changes >= len(ids) + 60  # every edit was logged
    outcome = runner.invoke(args=["search", "check"])
    assert outcome.exit_code == 0, outcome.output
    assert "The index matches the database." in outcome.output
    # A mentee finds each mentor by the last thing written to their profile.
    with app.app_context():
        for profile in db.session.scalars(select(MentorProfile)):
            word = profile.expertise[0]
            hits = search(SearchParams.from_args(MultiDict({"q": word, "accepting": "0"}))).hits
            shown = {hit.id: hit.headline for hit in hits}
            assert shown.get(profile.id) == f"{profile.headline}, {profile.organisation}", word


SEARCHER = """
import json, sys, time
from register import create_app

app = create_app()
app.config["WTF_CSRF_ENABLED"] = False
client = app.test_client()
seconds = float(sys.argv[1])
statuses, repaired, searches = {}, 0, 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for query in ("edited", "edited number", "topic", "statistics"):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get("/mentors?accepting=0&q=" + query, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            repaired += "Search is being repaired" in response.get_data(as_text=True)
            searches += 1
print(json.dumps({"statuses": statuses, "repaired": repaired, "searches": searches}))
"""


@BOTH_BACKENDS
def test_searches_in_other_processes_during_edits_never_fail_or_rebuild(app,
                                                                       register_of_mentors):
    """Web workers search while others edit and sync: refresh races, never a 500 or rebuild."""
    import json

    ids = list(register_of_mentors.values())
    with app.app_context():
        live = index.live_path()
    environment = child_environment(app)
    searchers = [subprocess.Popen([sys.executable, "-c", SEARCHER, "8"], cwd=REPOSITORY,
                                  env=environment, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    editors = [subprocess.Popen([sys.executable, "-c", EDITOR, f"proc{p}",
                                 ",".join(map(str, ids[p::2]))],
                                cwd=REPOSITORY, env=environment,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for p in range(2)]
    failures: list = []
    thread = threading.Thread(target=edit_in_thread, args=(app, "thread", ids, failures, 20))
    thread.start()
    thread.join(timeout=120)
    for editor in editors:
        out, err = editor.communicate(timeout=120)
        assert editor.returncode == 0, err
    assert failures == []
    seen = []
    for child in searchers:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert "Traceback" not in err, err
        seen.append(json.loads(out))
    for outcome in seen:
        assert set(outcome["statuses"]) == {"200"}, outcome  # never a 500
        assert outcome["repaired"] == 0, outcome  # never the fallback listing
        assert outcome["searches"] >= 8, outcome  # at least one pass of every query
    with app.app_context():
        assert index.live_path() == live  # nobody rebuilt the index
        assert check().ok
    assert [p.name for p in Path(app.config["SEARCH_INDEX_DIR"]).glob("gen-*")] == [live.name]


@BOTH_BACKENDS
def test_a_change_replayed_twice_or_late_is_harmless(app, make_user, register_of_mentors):
    coordinator = make_user(admin=True)
    priya, owen = register_of_mentors["Priya Raman"], register_of_mentors["Owen Price"]
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, priya)
        mentors.suspend(profile, by=db.session.get(User, coordinator.id), reason="Complaint.")
        db.session.commit()
    apply_changes(app)
    with app.app_context():
        old = db.session.scalars(select(SearchChange).where(SearchChange.profile_id == priya)
                                 .order_by(SearchChange.id)).first()
        # Priya's first entry (from before her suspension) arrives again, with its own
        # time and with a new one; an entry for Owen arrives three days late.
        db.session.add(SearchChange(profile_id=priya, created_at=old.created_at))
        db.session.add(SearchChange(profile_id=priya, created_at=utcnow()))
        db.session.add(SearchChange(profile_id=owen, created_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    applied = apply_changes(app)
    assert applied.applied == 3
    assert find(app, q="statistics", accepting="0") == ["Owen Price"]
    assert apply_changes(app).applied == 0  # each entry is applied once
    with app.app_context():
        assert check().ok


@BOTH_BACKENDS
def test_a_change_committed_after_a_later_one_is_still_applied(app, register_of_mentors):
    """A transaction that took its log id first but committed last is not skipped."""
    owen = register_of_mentors["Owen Price"]
    with app.app_context():
        top = db.session.scalar(select(db.func.max(SearchChange.id)))
        # The later transaction committed first and was synced...
        db.session.add(SearchChange(id=top + 10, profile_id=owen))
        db.session.commit()
    apply_changes(app)
    with app.app_context():
        profile = db.session.get(MentorProfile, owen)
        # ...then the earlier one commits, with the lower id.
        profile.expertise = ["beekeeping", *profile.expertise]
        profile.updated_at = utcnow()
        db.session.add(SearchChange(id=top + 5, profile_id=owen))
        db.session.commit()
    apply_changes(app)
    assert find(app, q="beekeeping") == ["Owen Price"]
    with app.app_context():
        assert check().ok


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_edit_whose_transaction_commits_late_still_reaches_the_index(app,
                                                                       register_of_mentors):
    """On PostgreSQL a transaction can take a log id and commit after a later one was synced."""
    owen, tom = register_of_mentors["Owen Price"], register_of_mentors["Tom Baker"]
    logged, release, failures = threading.Event(), threading.Event(), []

    def slow_editor():
        try:
            with app.app_context():
                profile = db.session.get(MentorProfile, owen)
                mentors.update_profile(profile, data_of(profile, expertise=["beekeeping"]),
                                       by=profile.user)  # flushed: its log id is taken
                logged.set()
                release.wait(timeout=30)
                db.session.commit()
        except BaseException as error:  # noqa: BLE001
            failures.append(repr(error))
            logged.set()

    thread = threading.Thread(target=slow_editor)
    thread.start()
    assert logged.wait(timeout=30)
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, tom)
        mentors.update_profile(profile, data_of(profile, expertise=["woodturning"]),
                               by=profile.user)
        db.session.commit()
    apply_changes(app)  # the later id is applied; the earlier one is not visible yet
    assert find(app, q="woodturning") == ["Tom Baker"]
    assert find(app, q="beekeeping") == []
    release.set()
    thread.join(timeout=30)
    assert failures == []
    apply_changes(app)
    assert find(app, q="beekeeping") == ["Owen Price"]
    with app.app_context():
        assert check().ok


# 6. Rebuilds, and an index that is missing or damaged -------------------------------------


@BOTH_BACKENDS
def test_rebuilding_while_mentees_search(app, register_of_mentors):
    stop = threading.Event()
    seen: list = []
    failures: list = []

    def mentee():
        try:
            while not stop.is_set():
                with app.app_context():
                    found = search(SearchParams.from_args(MultiDict({"accepting": "0"})))
                    statistics = search(SearchParams.from_args(MultiDict({"q": "statistics"})))
                seen.append((found.total, [hit.name for hit in statistics.hits]))
        except BaseException as error:  # noqa: BLE001
            failures.append(repr(error))

    searchers = [threading.Thread(target=mentee) for _ in range(3)]
    for thread in searchers:
        thread.start()
    try:
        with app.app_context():
            for _ in range(3):
                time.sleep(0.1)
                assert rebuild().profiles == len(MENTORS)
        time.sleep(0.2)
    finally:
        stop.set()
        for thread in searchers:
            thread.join(timeout=30)
    assert failures == []
    assert len(seen) > 10
    assert {total for total, _ in seen} == {len(MENTORS)}
    assert {tuple(names) for _, names in seen} == {("Priya Raman", "Owen Price")}
    # Generations read while they were swapped out go once nobody reads them.
    with app.app_context():
        sync()
        live = index.live_path()
    assert [p.name for p in Path(app.config["SEARCH_INDEX_DIR"]).glob("gen-*")] == [live.name]


@BOTH_BACKENDS
def test_a_missing_index_is_never_rebuilt_by_a_search(app, client, runner, register_of_mentors):
    assert result_names(page_text(client.get("/mentors?q=statistics")))[0] == "Priya Raman"
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    for headers in ({}, {"HX-Request": "true"}):
        body = page_text(client.get("/mentors?q=statistics", headers=headers))
        # A plain listing from the database, said so, with the mentors that have the word.
        assert "Search is being repaired" in body
        assert sorted(result_names(body)) == ["Owen Price", "Priya Raman"]
        assert "2 mentors match “statistics”" in body
        assert "(0)" not in body and "Taking requests now (" not in body  # no false counts
    assert not list(Path(app.config["SEARCH_INDEX_DIR"]).glob("gen-*"))  # nothing was built
    # Filters still apply to the listing.
    body = page_text(client.get("/mentors?sector=nhs&accepting=0"))
    assert sorted(result_names(body)) == ["Tom Baker", "Zoë Whitfield"]
    body = page_text(client.get("/mentors?accepting=1&knowing=whom"))
    assert sorted(result_names(body)) == ["Grace Adeyemi", "Owen Price", "Sinéad O'Connell",
                                          "Zoë Whitfield"]
    body = page_text(client.get("/mentors?q=50%25_off"))  # LIKE's wildcards are just text
    assert result_names(body) == []
    # The worker's sync (or `search sync`) rebuilds it; then searches rank again.
    outcome = runner.invoke(args=["search", "sync"])
    assert outcome.exit_code == 0, outcome.output
    body = page_text(client.get("/mentors?q=statistics"))
    assert "Search is being repaired" not in body
    assert result_names(body) == ["Priya Raman", "Owen Price"]
    with app.app_context():
        assert check().ok


def damage_segments(live: Path, how: str) -> None:
    """Do to the live generation's segment files what a full disk or a careless hand does."""
    segments = sorted(live.glob("*.seg"))
    assert segments
    for path in segments:
        if how == "truncated":
            with open(path, "r+b") as handle:
                handle.truncate(path.stat().st_size // 2)
        elif how == "deleted":
            path.unlink()
        else:
            path.write_bytes(os.urandom(max(64, path.stat().st_size)))


@BOTH_BACKENDS
@pytest.mark.parametrize("how", ["truncated", "deleted", "garbled"])
# Whoosh leaves a damaged file open when it refuses it; the garbage collector closes it,
# with a ResourceWarning that is Whoosh's, not ours.
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning",
                            "ignore:Exception ignored in:pytest.PytestUnraisableExceptionWarning")
def test_a_damaged_index_is_reported_and_repaired_by_the_worker(app, client, runner,
                                                                 register_of_mentors, how):
    from register import worker

    # Searched once, so this thread holds an open searcher on the generation to damage.
    assert result_names(page_text(client.get("/mentors?q=statistics")))[0] == "Priya Raman"
    with app.app_context():
        live = index.live_path()
    damage_segments(live, how)
    outcome = runner.invoke(args=["search", "check"])
    assert outcome.exit_code != 0
    assert "cannot be read" in outcome.output or "cut short" in outcome.output, outcome.output
    assert "Run `search rebuild`" in outcome.output and "Traceback" not in outcome.output
    # The page survives (the process is not killed by SIGBUS, the request does not rebuild).
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/mentors?q=Priya", headers=headers)
        assert "Priya Raman" in result_names(page_text(response))
    with app.app_context():
        assert index.live_path() == live  # no request rebuilt it
        worker.sync_search()  # the worker's next pass notices, and rebuilds
        assert index.live_path() != live
        assert check().ok
    body = page_text(client.get("/mentors?q=statistics"))
    assert "Search is being repaired" not in body
    assert result_names(body) == ["Priya Raman", "Owen Price"]
    gc.collect()  # files Whoosh left open when it refused them are closed (and warned of) here


@BOTH_BACKENDS
def test_a_half_built_generation_is_removed_and_old_ones_once_unread(app, register_of_mentors):
    folder = Path(app.config["SEARCH_INDEX_DIR"])
    with app.app_context():
        first = index.live_path()
        half_built = folder / "gen-99"  # a rebuild killed mid-way leaves this
        half_built.mkdir()
        (half_built / "MAIN_x.seg").write_bytes(b"partial")
    # Another thread of a web server, which keeps its searcher on the first generation.
    with ThreadPoolExecutor(max_workers=1) as server_thread:
        def reading():
            with app.app_context():
                return index.searcher().doc_count()

        assert server_thread.submit(reading).result() == len(MENTORS)
        with app.app_context():
            rebuild()
            second = index.live_path()
        assert not half_built.exists()
        assert sorted(p.name for p in folder.glob("gen-*")) == sorted({first.name, second.name})
        with app.app_context():
            sync()  # still in use: kept
        assert first.exists()
        # Its next search moves on to the new generation, and lets go of the old one.
        assert server_thread.submit(reading).result() == len(MENTORS)
    with app.app_context():
        sync()
        assert index.live_path() == second
    assert [p.name for p in folder.glob("gen-*")] == [second.name]
    assert find(app, q="statistics") == ["Priya Raman", "Owen Price"]


# 7. The command line -----------------------------------------------------------------------


@pytest.mark.parametrize("processes", [1, 2])
def test_a_rebuild_in_passes_finds_what_one_pass_found(app, register_of_mentors, monkeypatch,
                                                       processes):
    from register.search import sync as syncing

    searches = ["statistics", "leadership", "Priya", "qualitative research"]
    with app.app_context():
        rebuild(processes=processes)
        whole = {q: find(app, q=q, accepting="0") for q in searches}
        monkeypatch.setattr(syncing, "PASS_SIZE", 2)  # a large register, in miniature
        rebuild(processes=processes)
        searcher = index.searcher()
        assert searcher.doc_count() >= 6
        assert len(searcher.leaf_searchers()) >= searcher.doc_count() // 2  # a pass each
        assert check().ok
    assert {q: find(app, q=q, accepting="0") for q in searches} == whole
    assert any(whole.values())


@BOTH_BACKENDS
def test_search_commands_rebuild_sync_and_check(app, runner, register_of_mentors):
    outcome = runner.invoke(args=["search", "rebuild"])
    assert outcome.exit_code == 0, outcome.output
    assert re.fullmatch(r"Indexed 8 profiles in \d+\.\ds \([\d,]+ a second\)\.\n", outcome.output)

    owen = register_of_mentors["Owen Price"]
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, owen)
        mentors.update_profile(profile, data_of(profile, expertise=["beekeeping"]),
                               by=profile.user)
        db.session.commit()
    outcome = runner.invoke(args=["search", "check"])
    assert outcome.exit_code != 0
    assert f"1 profile out of date in the index: {owen}" in outcome.output
    assert "Run `search sync`" in outcome.output
    assert find(app, q="beekeeping") == []  # what a mentee sees until the sync

    outcome = runner.invoke(args=["search", "sync"])
    assert outcome.exit_code == 0, outcome.output
    assert re.fullmatch(r"Applied 1 changes; up to change \d+\.\n", outcome.output)
    assert find(app, q="beekeeping") == ["Owen Price"]
    outcome = runner.invoke(args=["search", "check"])
    assert (outcome.exit_code, outcome.output) == (0, "The index matches the database.\n")

    # Changed straight in the database, as a mistaken script might: no log entry.
    with app.app_context():
        db.session.get(MentorProfile, owen).state = MentorProfile.DRAFT
        db.session.get(MentorProfile, register_of_mentors["Tom Baker"]).updated_at = utcnow()
        db.session.commit()
    outcome = runner.invoke(args=["search", "check"])
    assert outcome.exit_code != 0
    assert f"1 profile in the index but not published: {owen}" in outcome.output
    assert f"out of date in the index: {register_of_mentors['Tom Baker']}" in outcome.output
    assert runner.invoke(args=["search", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    assert find(app, q="beekeeping") == []


def test_search_check_from_another_process(app, register_of_mentors):
    def flask(*args):
        return subprocess.run([str(REPOSITORY / ".venv/bin/flask"), "--app", "wsgi", *args],
                              cwd=REPOSITORY, env=child_environment(app), capture_output=True,
                              text=True, timeout=60)

    done = flask("search", "check")
    assert (done.returncode, done.stdout) == (0, "The index matches the database.\n"), done.stderr
    with app.app_context():
        db.session.get(MentorProfile, register_of_mentors["Zoë Whitfield"]).updated_at = utcnow()
        db.session.commit()
    done = flask("search", "check")
    assert done.returncode != 0
    assert f"out of date in the index: {register_of_mentors['Zoë Whitfield']}" in done.stdout


# 8. The page -------------------------------------------------------------------------------


def test_full_page_and_fragment(app, client, register_of_mentors):
    page = client.get("/mentors?q=statistics")
    body = page_text(page)
    assert "<html" in body and 'id="search-form"' in body
    assert "HX-Request" in page.headers["Vary"]
    assert '<p id="result-status" class="visually-hidden" role="status"' in body

    fragment = client.get("/mentors?q=statistics", headers={"HX-Request": "true"})
    part = page_text(fragment)
    assert "<html" not in part and 'id="search-form"' not in part
    assert "HX-Request" in fragment.headers["Vary"]
    assert '<p id="result-status" hx-swap-oob="innerHTML">2 mentors match “statistics”.</p>' in part
    assert result_names(part) == result_names(body) == ["Priya Raman", "Owen Price"]

    # Back, with nothing in htmx's cache: the whole page.
    restored = client.get("/mentors?q=statistics",
                          headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in page_text(restored)
    assert result_names(page_text(restored)) == ["Priya Raman", "Owen Price"]


def result_details_shown(body: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", item).strip() for item in
            re.findall(r'<ul class="mentor-meta">(.*?)</ul>', body, re.S)]


def test_a_results_page_shows_each_mentors_details_without_asking_the_database(
        app, client, register_of_mentors):
    from sqlalchemy import event

    client.get("/mentors?q=zzzz")  # the first request checks the schema, once
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        body = page_text(client.get("/mentors?q=statistics"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []  # an anonymous search reads the index alone
    shown = result_details_shown(body)
    assert result_names(body) == ["Priya Raman", "Owen Price"]
    assert "Location: Leeds" in shown[0] and "Sector: Academia" in shown[0]
    assert "Meets by video call, email" in shown[0] and "Formal mentoring" in shown[0]


def test_an_index_from_before_it_kept_the_details_is_rebuilt_and_the_page_reads_the_database(
        app, client, register_of_mentors, monkeypatch):
    from whoosh.fields import Schema

    from register.search import documents, services
    from register.search import sync as sync_module

    before = page_text(client.get("/mentors?q=statistics"))
    # An index as the previous version of the register built it: no "shown" field.
    old_schema = index.schema()
    old_schema.remove("shown")
    monkeypatch.setattr(index, "schema", lambda: Schema(**dict(old_schema.items())))
    monkeypatch.setattr(sync_module, "document", lambda *a, **k: {
        k2: v for k2, v in documents.document(*a, **k).items() if k2 != "shown"})
    with app.app_context():
        rebuild()
    monkeypatch.undo()
    with app.app_context():
        services.forget_pages()
        assert index.damage() == ["the index's fields are not this version's"]
    old = page_text(client.get("/mentors?q=statistics"))
    assert result_details_shown(old) == result_details_shown(before)  # from the database
    with app.app_context():
        assert sync().rebuilt  # the worker's next sync builds it again
        assert index.damage() == []
        assert all(hit.details is not None
                   for hit in search(SearchParams.from_args(MultiDict({"q": "statistics"}))).hits)
    assert result_details_shown(page_text(client.get("/mentors?q=statistics"))) == \
        result_details_shown(before)


def test_matched_words_are_marked_in_the_extract(app, client, register_of_mentors):
    body = page_text(client.get("/mentors?q=statistics"))
    extracts = re.findall(r'<p class="extract">(.*?)</p>', body, re.S)
    assert "<mark" in extracts[0] and "statistics</mark>" in extracts[0]
    assert "statistics</mark>" in extracts[1]  # Owen's bio
    body = page_text(client.get("/mentors?q=mentoring"))
    assert re.search(r"<mark[^>]*>mentored</mark>", body)


@pytest.mark.parametrize("typed", ["", "alert", "Mallory"], ids=["all", "in-bio", "in-name"])
def test_html_in_a_bio_is_shown_as_text(app, client, make_mentor, typed):
    make_mentor("Mallory Hacker", expertise=["security"], headline="<i>Tester</i>",
                bio="I test <b>bold</b> claims. <script>alert(1)</script> Also & more.")
    apply_changes(app)
    for headers in ({}, {"HX-Request": "true"}):
        body = page_text(client.get(f"/mentors?q={typed}", headers=headers))
        assert result_names(body) == ["Mallory Hacker"]
        assert "<script>alert" not in body and "<b>bold" not in body and "<i>Tester" not in body
        # "alert" shows its own sentence (with the match marked inside the escaped text).
        if typed != "alert":
            assert "&lt;b&gt;bold&lt;/b&gt;" in body
        assert "&lt;script&gt;" in body and "(1)&lt;/script&gt;" in body
        assert "&lt;i&gt;Tester&lt;/i&gt;" in body


def test_paging(app, client, make_mentor):
    for n in range(1, 26):
        make_mentor(f"Mentor {n:02d}", expertise=["rowing"], bio=f"Rowing coach number {n}.")
    apply_changes(app)
    first = page_text(client.get("/mentors?q=rowing"))
    assert "25 mentors match" in first and "Page 1 of 2" in first
    assert len(result_names(first)) == 20
    link = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#results-area" '
                     r'hx-push-url="true" rel="next">Next page</a>', first)
    assert link and "page=2" in link.group(1)
    second_page = client.get(html.unescape(link.group(1)), headers={"HX-Request": "true"})
    second = page_text(second_page)
    assert "Page 2 of 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert '<ol class="results" start="21">' in second
    assert len(result_names(second)) == 5
    assert sorted(result_names(first) + result_names(second)) == [
        f"Mentor {n:02d}" for n in range(1, 26)]
    # Newest first when nothing is typed: mentor 01 was published last.
    assert result_names(page_text(client.get("/mentors")))[:2] == ["Mentor 01", "Mentor 02"]
    assert result_names(page_text(client.get("/mentors?q=rowing&sort=newest")))[:1] == [
        "Mentor 01"]
    beyond = page_text(client.get("/mentors?q=rowing&page=9"))
    assert result_names(beyond) == []


def test_an_index_deleted_and_rebuilt_is_not_mistaken_for_the_old_one(app, register_of_mentors):
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    # One thread of a web server, which keeps its searcher between requests.
    with ThreadPoolExecutor(max_workers=1) as server_thread:
        def search():
            return server_thread.submit(find, app, q="statistics", accepting="0").result()

        assert "Priya Raman" in search()
        with app.test_request_context(method="POST"):
            profile = db.session.get(MentorProfile, register_of_mentors["Priya Raman"])
            profile.state = MentorProfile.SUSPENDED  # straight in the database, no log entry
            db.session.commit()
        shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
        with app.app_context():
            rebuild()  # the same folder names as before, built anew from the database
        assert "Priya Raman" not in search()


def test_files_renamed_into_place_while_sync_looks_are_not_taken_for_damage(app,
                                                                            register_of_mentors):
    from register.search import sync as syncing

    with app.app_context():
        live = index.live_path()
    stop = threading.Event()

    def writer():  # what a sync in another process does with its state file, very often
        n = 0
        while not stop.is_set():
            temporary = live / f"note-{n % 7}.tmp"
            temporary.write_text("{}")
            os.replace(temporary, live / f"note-{n % 7}.json")
            (live / f"note-{n % 7}.json").unlink()
            n += 1

    seen = []
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with app.app_context():
            for _ in range(400):
                syncing._healthy.clear()  # look at the files every time
                seen.extend(syncing._damage())
    finally:
        stop.set()
        thread.join()
    assert seen == []
    with app.app_context():
        assert index.live_path() == live and check().ok


# 9. What mentees search for, counted for the coordinators ----------------------------------


@pytest.fixture
def search_stats(monkeypatch):
    """The statistics module with nothing pending, writing after every response."""
    from register.search import stats

    monkeypatch.setattr(stats, "_pending", {})
    monkeypatch.setattr(stats, "FLUSH_EVERY", 0.0)
    return stats


def stat_rows(app) -> list[tuple]:
    from register.search.models import SearchQueryStat

    with app.app_context():
        return sorted((row.day.isoformat(), row.words, row.filters, row.searches, row.results)
                      for row in db.session.scalars(select(SearchQueryStat)))


@BOTH_BACKENDS
def test_searches_are_counted_per_day_query_and_filters_without_who(app, client,
                                                                    register_of_mentors,
                                                                    search_stats):
    today = utcnow().date().isoformat()
    for url, headers in [
        ("/mentors?q=Statistics", {}),
        ("/mentors?q=statistics", {"HX-Request": "true"}),
        ("/mentors?q=statistics&page=2", {}),  # later pages are not new searches
        ("/mentors", {}),  # browsing is not a search
        ("/mentors?q=(+NOT+*", {}),  # nor are operators alone
        ("/mentors?q=the+statistics&knowing=why&knowing=how&accepting=0", {}),
        ("/mentors?q=statistics&knowing=how&knowing=why&accepting=0", {}),
    ]:
        client.get(url, headers=headers).close()  # as the server does once it is sent
    assert stat_rows(app) == [
        (today, "statistics", "", 2, 2),
        (today, "statistics", "accepting=0;knowing=how,why", 2, 2),
    ]
    from register.search.models import SearchQueryStat

    columns = set(SearchQueryStat.__table__.columns.keys())
    assert columns == {"id", "day", "words", "filters", "searches", "results"}  # no identity


@BOTH_BACKENDS
def test_counting_never_writes_during_a_search_and_old_counts_go(app, client,
                                                                 register_of_mentors,
                                                                 search_stats, monkeypatch):
    monkeypatch.setattr(search_stats, "FLUSH_EVERY", 3600.0)
    monkeypatch.setattr(search_stats, "_last_flush", time.monotonic())
    for _ in range(3):
        assert "Priya Raman" in result_names(page_text(client.get("/mentors?q=statistics")))
    assert stat_rows(app) == []  # held in memory until a write is due
    with app.app_context():
        assert search_stats.flush() == 1
        assert search_stats.flush() == 0
    assert [row[1:] for row in stat_rows(app)] == [("statistics", "", 3, 2)]
    # Counts are added to, not replaced, by a later batch from another process.
    with app.test_request_context("/mentors?q=statistics"):
        search_stats.note(SearchParams.from_args(MultiDict({"q": "statistics"})), 1)
    with app.app_context():
        search_stats.flush()
    assert [row[1:] for row in stat_rows(app)] == [("statistics", "", 4, 1)]
    # The worker deletes what is older than twelve months, and only that.
    today = utcnow().date()
    for age in (364, 366):
        search_stats.note(SearchParams.from_args(MultiDict({"q": f"aged {age}"})), 0,
                          today=today - timedelta(days=age))
    with app.app_context():
        search_stats.flush()
        assert search_stats.forget_old() == 1
    assert sorted(row[1] for row in stat_rows(app)) == ["aged 364", "statistics"]


@BOTH_BACKENDS
def test_repeated_searches_are_answered_from_the_cache_until_the_index_changes(
        app, register_of_mentors):
    first = results_for(app, q="statistics")
    assert results_for(app, q="  Statistics ") is first  # the same search, however typed
    assert results_for(app, q="statistics", page="2") is not first
    phrase = results_for(app, q='"statistics policy"', accepting="0")
    assert results_for(app, q="statistics policy", accepting="0") is not phrase
    owen = register_of_mentors["Owen Price"]
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, owen)
        mentors.update_profile(profile, data_of(profile, expertise=["statistics"]),
                               by=profile.user)
        db.session.commit()
    assert results_for(app, q="statistics") is first  # not in the index yet: same answer
    apply_changes(app)
    fresh = results_for(app, q="statistics")
    assert fresh is not first
    assert {hit.name: hit.expertise for hit in fresh.hits}["Owen Price"] == ["statistics"]
