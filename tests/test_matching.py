"""Objectives, suggestions with reasons, facilitated matching and batch pairing.

The ranking is measured against a labelled set: mentees whose best mentor is
known, among decoys that share their words but not their purpose. Batch
pairing is a pure function, so its guarantees are checked with Hypothesis.
Everything else runs through the services and the test client, on a real
index in tmp_path and a real SMTP server.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from register.admin.models import AuditEntry
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.introductions import services as introductions
from register.introductions.models import IntroRequest
from register.matching import pairing, ranking, services
from register.matching.models import MenteeObjectives
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from tests.conftest import BACKENDS, reload
from tests.test_profiles import full_data

BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

# The labelled set ----------------------------------------------------------------------

# key: (name, headline, bio, expertise, knowing, contexts, sector, location)
MENTORS = {
    "board": ("Grace Adeyemi", "Chief executive, NHS trust",
              "Ten years on NHS trust boards. I coach clinicians who want board-level "
              "influence and help them read NHS politics and governance.",
              ["board-level influence", "NHS politics", "governance"],
              ["whom", "why"], ["politics", "career"], "nhs", "London"),
    "rowing": ("Harry Pike", "Chair, rowing club board",
               "I chair a rowing club board and coach rowers on technique. I write about the "
               "influence of diet on performance.",
               ["rowing", "sports coaching"], ["how"], ["skills"], "charity", "London"),
    "data": ("Ines Moreau", "Medical statistician",
             "Statistics for clinical audit and data analysis in R for clinicians starting "
             "research.", ["statistics", "data analysis", "clinical audit"],
             ["how"], ["skills"], "academia", "Leeds"),
    "gdpr": ("Colin Barr", "Data protection officer",
             "Data protection, GDPR compliance and information governance audits.",
             ["data protection", "GDPR"], ["how"], ["sector"], "government", "York"),
    "merger": ("Ruth Okafor", "Director of transformation",
               "Led three hospital mergers: managing change and leading teams through "
               "reorganisation without losing people.", ["change management", "mergers"],
               ["how", "why"], ["change", "confidence"], "nhs", "Bristol"),
    "climate": ("Tom Reyes", "Climate scientist",
                "Research on climate change, environmental policy and managing research "
                "teams.", ["climate science", "environmental policy"],
                ["why"], ["sector"], "academia", "Norwich"),
    "newpost": ("Asha Rao", "Head of nursing",
                "I support first-time managers in their first year: being new in post, "
                "confidence, and finding your feet as a new manager.",
                ["new managers", "confidence"], ["why"], ["confidence", "career"], "nhs",
                "Leeds"),
    "postoffice": ("Neil Dunn", "Logistics manager",
                   "Ran the post office network; opened new distribution centres and "
                   "managed postal logistics.", ["logistics", "postal services"], ["how"],
                   ["skills"], "industry", "Leeds"),
    "network": ("Li Wei", "Professor of public health",
                "Building a research network, visibility with funders, and collaborations "
                "that outlast a grant.", ["research networks", "research funding"],
                ["whom"], ["career"], "academia", "Glasgow"),
    "netengineer": ("Sam Price", "Network engineer",
                    "Computer network infrastructure, networking hardware and "
                    "cybersecurity.", ["networking", "cybersecurity"], ["how"], ["skills"],
                    "industry", "Glasgow"),
}

# (objectives, knowing, contexts, development areas, sector, the best mentor)
MENTEES = [
    (["board-level influence", "NHS politics"], ["whom"], ["politics"], [], "nhs", "board"),
    (["statistics for my clinical audit", "data analysis"], ["how"], ["skills"], [],
     "academia", "data"),
    (["leading my team through a merger", "managing change"], ["how"], ["change"], [], "nhs",
     "merger"),
    (["confidence as a new manager"], ["why"], ["confidence"], ["new_in_post"], "nhs",
     "newpost"),
    (["building my research network", "visibility with funders"], ["whom"], ["career"], [],
     "academia", "network"),
]


@pytest.fixture
def make_mentor(app, make_user):
    """make_mentor(key or fields) -> (user, profile id), published."""

    def make(email=None, **overrides):
        user = make_user(email, name=overrides.get("display_name"))
        with app.test_request_context():
            person = db.session.get(User, user.id)
            profile = mentors.start_profile(person)
            mentors.update_profile(profile, full_data(**overrides), by=person)
            profile.state = MentorProfile.PUBLISHED
            profile.published_at = utcnow()
            db.session.commit()
            return user, profile.id

    return make


def labelled_mentor(make_mentor, key, email=None, **extra):
    name, headline, bio, expertise, knowing, contexts, sector, location = MENTORS[key]
    return make_mentor(email or f"{key}@example.org", display_name=name, headline=headline, bio=bio,
                       expertise=expertise, knowing=knowing, contexts=contexts, sector=sector,
                       location=location, organisation="", formats=["video"], **extra)


def text_of(response) -> str:
    """The page as a person reads it: no tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def rebuild_index(app):
    from register.search.sync import rebuild

    with app.app_context():
        rebuild()


def save_wants(app, user, **values) -> None:
    values.setdefault("objectives", ["board-level influence"])
    with app.test_request_context():
        services.save_objectives(db.session.get(User, user.id), services.ObjectivesDraft(**values))
        db.session.commit()


@pytest.fixture
def labelled(app, make_user, make_mentor):
    """The labelled register: every mentor and decoy, indexed; returns key -> profile id."""
    ids = {key: labelled_mentor(make_mentor, key)[1] for key in MENTORS}
    rebuild_index(app)
    return ids


def test_ranking_finds_the_known_best_mentor_ahead_of_decoys(app, make_user, labelled):
    by_id = {profile_id: key for key, profile_id in labelled.items()}
    reciprocal_ranks, hits_at_1, hits_at_3 = [], 0, 0
    for objectives, knowing, contexts, areas, sector, best in MENTEES:
        mentee = make_user()
        save_wants(app, mentee, objectives=objectives, knowing=knowing, contexts=contexts,
                   development_areas=areas, sector=sector, formats=["video"])
        with app.test_request_context():
            ranked = [by_id[s.profile.id] for s in
                      services.suggestions_for(db.session.get(User, mentee.id))]
        position = ranked.index(best) + 1 if best in ranked else None
        reciprocal_ranks.append(1 / position if position else 0)
        hits_at_1 += position == 1
        hits_at_3 += bool(position and position <= 3)
    mrr = sum(reciprocal_ranks) / len(MENTEES)
    print(f"\nranking on the labelled set: MRR {mrr:.2f}, hit@1 {hits_at_1}/{len(MENTEES)}, "
          f"hit@3 {hits_at_3}/{len(MENTEES)}")
    assert mrr >= 0.9
    assert hits_at_3 == len(MENTEES)


def test_each_suggestion_says_why_in_words(app, make_user, labelled, browser):
    mentee = make_user("mia@example.org")
    save_wants(app, mentee, objectives=["board-level influence", "NHS politics"],
               knowing=["whom"], contexts=["politics"], sector="nhs", formats=["video"])
    browser.log_in("mia@example.org")
    page = browser.get("/mentors/suggested").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", page)
    first = text.index("Grace Adeyemi")
    assert "Shares 2 of your objectives: board-level influence, NHS politics" in text[first:]
    assert "Helps with knowing whom" in text[first:]
    assert "Offers video calls" in text[first:]
    assert "Works in NHS too" in text[first:]
    assert "%" not in text[first:first + 2000]
    # The request form, filled from the objectives.
    link = re.search(rf'href="(/mentors/{labelled["board"]}/request\?[^"]+)"', page).group(1)
    link = link.replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query)["contexts"] == ["politics"]
    form = browser.get(link).get_data(as_text=True)
    assert "board-level influence; NHS politics" in form
    assert re.search(r'value="politics"[^>]*checked|checked[^>]*value="politics"', form)


def test_suggestions_leave_out_who_declined_mentors_already_and_oneself(
        app, make_user, make_mentor, labelled):
    mentee, own = labelled_mentor(make_mentor, "board", email="twin@example.org")
    # The mentee is a mentor too: their own profile is the best fit, and never suggested.
    decliner = labelled["board"]
    mentoring = labelled["merger"]
    with app.test_request_context():
        person = db.session.get(User, mentee.id)
        request = introductions.send(person, db.session.get(MentorProfile, decliner),
                                     _draft())
        introductions.decline(request, by=request.mentor, reason="experience")
        mentor_id = db.session.get(MentorProfile, mentoring).user_id
        db.session.add(Mentorship(mentor_id=mentor_id, mentee_id=mentee.id))
        db.session.commit()
    rebuild_index(app)
    save_wants(app, mentee, objectives=["board-level influence", "managing change"],
               knowing=["whom", "how"], contexts=["politics", "change"])
    with app.test_request_context():
        suggested = [s.profile.id for s in
                     services.suggestions_for(db.session.get(User, mentee.id))]
    assert suggested, "other mentors still fit"
    assert own not in suggested and decliner not in suggested and mentoring not in suggested


def _draft(**overrides):
    values = dict(subject="A first conversation", aspiration="I want to lead a hospital board "
                  "one day.", why_you="Your years on NHS trust boards.", ask="call15",
                  kind="either", contexts=["career"], knowing=["whom"], formats=["video"])
    values.update(overrides)
    return introductions.Draft(**values)


# The objectives page -----------------------------------------------------------------


def test_a_mentee_writes_objectives_and_asks_for_facilitated_matching(app, make_user, browser):
    make_user("mia@example.org")
    browser.log_in("mia@example.org")
    form = {"objectives-0": "", "objectives-1": "  ", "knowing": ["whom"], "sector": "",
            "matching": "self"}
    empty = browser.post("/me/objectives", form)
    assert empty.status_code == 422
    assert "Write at least one thing you want from mentoring" in empty.get_data(as_text=True)

    saved = browser.post("/me/objectives", {
        "objectives-0": "board-level influence", "objectives-1": "  NHS   politics ",
        "knowing": ["whom"], "contexts": ["politics"], "development_areas": ["influencing"],
        "formats": ["video"], "sector": "nhs", "location": "Leeds", "matching": "facilitated"},
        follow_redirects=True)
    assert "You are in the coordinators' queue" in text_of(saved)
    with app.app_context():
        wants = db.session.scalar(select(MenteeObjectives))
        assert wants.objectives == ["board-level influence", "NHS politics"]
        assert wants.facilitated and wants.waiting_since is not None
    again = browser.get("/me/objectives").get_data(as_text=True)
    assert 'value="board-level influence"' in again


def test_deleting_the_account_deletes_the_objectives(app, make_user):
    from register.auth import services as accounts
    from tests.conftest import TEST_PASSWORD

    mentee = make_user(name="Mia Mentee")
    save_wants(app, mentee, objectives=["a private ambition"], facilitated=True)
    with app.test_request_context():
        accounts.delete_account(db.session.get(User, mentee.id), TEST_PASSWORD)
        db.session.commit()
        assert db.session.scalar(select(MenteeObjectives)) is None
        assert services.waiting_mentees() == []


def test_objectives_are_private_to_the_mentee_and_the_coordinators(app, make_user, browser):
    mentee = make_user("mia@example.org", name="Mia Mentee")
    make_user("nosy@example.org")
    save_wants(app, mentee, objectives=["a secret ambition"], facilitated=True)
    browser.log_in("nosy@example.org")
    assert "a secret ambition" not in browser.get("/me/objectives").get_data(as_text=True)
    assert browser.get("/admin/matching").status_code == 403
    assert browser.get(f"/admin/matching/{mentee.id}").status_code == 403


# Facilitated matching -------------------------------------------------------------------


def test_the_coordinator_proposes_from_the_shortlist_and_both_are_told(
        app, make_user, labelled, browser, mailbox):
    mentee = make_user("mia@example.org", name="Mia Mentee")
    make_user("coord@example.org", admin=True)
    save_wants(app, mentee, objectives=["board-level influence", "NHS politics"],
               knowing=["whom"], contexts=["politics"], formats=["video"], facilitated=True)
    browser.log_in("coord@example.org")
    page = text_of(browser.get("/admin/matching"))
    assert "Mia Mentee" in page and "Propose Grace Adeyemi to Mia Mentee" in page
    assert "Shares 2 of their objectives: board-level influence, NHS politics" in page

    # A search for others, with the same reasons.
    others = text_of(browser.get(f"/admin/matching/{mentee.id}?q=rowing"))
    assert "Propose Harry Pike to Mia Mentee" in others
    assert "Propose Grace Adeyemi to Mia Mentee" in others  # the shortlist, above
    done = browser.post(f"/admin/matching/{mentee.id}/propose",
                        {"profile_id": labelled["board"], "note": "You both care about boards."},
                        follow_redirects=True)
    page = text_of(done)
    assert "Proposed Grace Adeyemi to Mia Mentee" in page
    assert "Nobody is waiting for facilitated matching" in page
    assert "Waiting for the mentor" in page

    to_mentor = mailbox.last_to("board@example.org")
    assert "Proposed by the coordinators" in to_mentor.text
    assert "You both care about boards." in to_mentor.text
    assert "What the coordinators saw: Shares 2 of their objectives" in to_mentor.text
    to_mentee = mailbox.last_to("mia@example.org")
    assert "Grace Adeyemi" in to_mentee.subject
    assert "Shares 2 of your objectives: board-level influence, NHS politics" in to_mentee.text
    with app.app_context():
        proposal = db.session.scalar(select(IntroRequest))
        assert proposal.proposed_by_id is not None
        assert db.session.scalar(select(AuditEntry.action).where(
            AuditEntry.subject_type == "intro_request")) == "match.proposed"

    # The mentor accepts from the email, as with any request; the coordinator sees it.
    accept = mailbox.link_to("board@example.org", "/accept/")
    path = urlsplit(accept).path
    browser.log_out()
    assert "Proposed by the coordinators" in text_of(browser.get(path))
    confirmed = browser.post(path, {"message": ""})
    assert confirmed.status_code == 200
    browser.log_in("coord@example.org")
    assert "Accepted: mentorship started" in browser.get("/admin/matching").get_data(
        as_text=True)
    browser.log_in("mia@example.org")
    shown = browser.get(f"/requests/{proposal.id}").get_data(as_text=True)
    assert "Proposed by the coordinators" in shown
    with app.app_context():
        mentorship_id = db.session.scalar(select(Mentorship.id))
    assert "Proposed by the coordinators" in text_of(browser.get(f"/mentorships/{mentorship_id}"))


@BOTH_BACKENDS
def test_a_declined_proposal_puts_the_mentee_back_in_the_queue(app, make_user, labelled):
    mentee = make_user(name="Mia Mentee")
    coordinator = make_user(admin=True)
    save_wants(app, mentee, objectives=["board-level influence"], knowing=["whom"],
               facilitated=True)
    with app.test_request_context():
        wants = db.session.scalar(select(MenteeObjectives))
        request = services.propose(wants, db.session.get(MentorProfile, labelled["board"]),
                                   by=db.session.get(User, coordinator.id))
        assert services.waiting_mentees() == []
        introductions.decline(request, by=request.mentor, reason="capacity")
        assert [w.user_id for w in services.waiting_mentees()] == [mentee.id]
        # ... and the mentor who declined is not proposed again.
        with pytest.raises(services.MatchingError, match="declined"):
            services.propose(wants, db.session.get(MentorProfile, labelled["board"]),
                             by=db.session.get(User, coordinator.id))
        assert labelled["board"] not in [
            s.profile.id for s in ranking.rank(wants, limit=10)]


def test_only_coordinators_propose_and_only_for_mentees_who_asked(app, make_user, labelled):
    mentee = make_user()
    someone = make_user()
    save_wants(app, mentee, objectives=["board-level influence"], facilitated=False)
    with app.test_request_context():
        wants = db.session.scalar(select(MenteeObjectives))
        profile = db.session.get(MentorProfile, labelled["board"])
        with pytest.raises(services.MatchingError, match="coordinators"):
            services.propose(wants, profile, by=db.session.get(User, someone.id))
        db.session.execute(update(User).where(User.id == someone.id).values(is_admin=True))
        with pytest.raises(services.MatchingError, match="not asked"):
            services.propose(wants, profile, by=db.session.get(User, someone.id))


@BOTH_BACKENDS
def test_the_queue_is_oldest_first(app, make_user):
    first, second = make_user(name="First"), make_user(name="Second")
    save_wants(app, second, facilitated=True)
    save_wants(app, first, facilitated=True)
    with app.app_context():
        db.session.execute(update(MenteeObjectives).where(MenteeObjectives.user_id == first.id)
                           .values(waiting_since=utcnow().replace(year=2025)))
        db.session.commit()
        assert [w.user.name for w in services.waiting_mentees()] == ["First", "Second"]


def test_pairings_for_everyone_respect_capacity_and_are_sent_as_chosen(
        app, make_user, make_mentor, labelled, browser, mailbox):
    make_user("coord@example.org", admin=True)
    mentees = [make_user(f"m{n}@example.org", name=f"Mentee {n}") for n in range(3)]
    for person in mentees:
        save_wants(app, person, objectives=["board-level influence"], knowing=["whom"],
                   contexts=["politics"], facilitated=True)
    browser.log_in("coord@example.org")
    assert "3 mentees waiting." in text_of(browser.get("/admin/matching"))
    page = browser.get("/admin/matching/pairings").get_data(as_text=True)
    pairs = re.findall(r'name="pair" value="(\d+):(\d+)"', page)
    assert len(pairs) == 3
    mentor_counts = Counter(mentor for _, mentor in pairs)
    with app.app_context():
        for profile_id, times in mentor_counts.items():
            assert times <= db.session.get(MentorProfile, int(profile_id)).capacity
    # Nothing sent yet; then only the first two pairs.
    assert reload(app, IntroRequest, 1) is None
    browser.post("/admin/matching/pairings", {"pair": [f"{a}:{b}" for a, b in pairs[:2]]})
    with app.app_context():
        sent = db.session.scalars(select(IntroRequest)).all()
        assert len(sent) == 2 and all(r.proposed_by_id for r in sent)
        assert [w.user_id for w in services.waiting_mentees()] == [int(pairs[2][0])]


def test_demo_data_has_mentees_waiting_and_a_year_of_requests(app):
    from register import demo

    with app.app_context():
        demo.load(mentors=30)
        db.session.commit()
        waiting = services.waiting_mentees()
        assert len(waiting) == 6
        assert waiting[0].waiting_since < waiting[-1].waiting_since
        states = set(db.session.scalars(select(IntroRequest.state)))
        assert {"accepted", "declined", "expired", "withdrawn", "pending"} <= states


# Batch pairing: the pure function ---------------------------------------------------------


def test_pairing_spreads_mentors_before_doubling_up():
    waiting = [("a", [("x", 3.0), ("y", 1.0)]), ("b", [("x", 2.0), ("y", 1.5)]),
               ("c", [("x", 2.0)])]
    pairs = pairing.pair_everyone(waiting, {"x": 2, "y": 1})
    assert [(p.mentee, p.mentor) for p in pairs] == [("a", "x"), ("b", "y"), ("c", "x")]
    declined = pairing.pair_everyone(waiting, {"x": 2, "y": 1}, excluded={("a", "x")})
    assert ("a", "x") not in [(p.mentee, p.mentor) for p in declined]


@st.composite
def queues(draw):
    mentors = [f"mentor{n}" for n in range(draw(st.integers(0, 6)))]
    spare = {m: draw(st.integers(0, 3)) for m in mentors}
    waiting = []
    for n in range(draw(st.integers(0, 10))):
        options = draw(st.lists(st.sampled_from(mentors), unique=True)) if mentors else []
        waiting.append((f"mentee{n}", [(m, draw(st.floats(0.1, 10))) for m in options]))
    pairs = [(mentee, m) for mentee, options in waiting for m, _ in options]
    excluded = set(draw(st.lists(st.sampled_from(pairs), unique=True))) if pairs else set()
    return waiting, spare, excluded


@settings(max_examples=300, deadline=None)
@given(queues())
def test_pairing_guarantees(case):
    waiting, spare, excluded = case
    pairs = pairing.pair_everyone(waiting, spare, excluded)
    load = Counter(p.mentor for p in pairs)
    # Capacity is never exceeded.
    assert all(load[m] <= spare[m] for m in load)
    # Declines (and other exclusions) are respected; each pair is one the mentee fits.
    fits = {mentee: {m for m, _ in options} for mentee, options in waiting}
    assert all((p.mentee, p.mentor) not in excluded and p.mentor in fits[p.mentee]
               for p in pairs)
    # One mentor per mentee.
    assert len({p.mentee for p in pairs}) == len(pairs)
    # No mentor twice while another the mentee fits is left without anyone: of the
    # mentees sharing a mentor, all but the first found every other fit taken.
    mentor_of = {p.mentee: p.mentor for p in pairs}
    sharing: dict = {}
    for p in pairs:
        sharing.setdefault(p.mentor, []).append(p.mentee)
    for mentor, group in sharing.items():
        for mentee in group[1:]:
            free = {m for m in fits[mentee] if (mentee, m) not in excluded
                    and spare.get(m, 0) > 0 and load[m] == 0}
            assert not free, f"{mentee} doubled up on {mentor} while {free} had nobody"
    # Nobody fit and left out while a mentor they fit has room.
    for mentee, _ in waiting:
        if mentee not in mentor_of:
            assert all(load[m] >= spare.get(m, 0) or (mentee, m) in excluded
                       for m in fits[mentee])


def test_the_mentees_portfolio_shows_the_best_three_mentors_for_them(
        app, make_user, labelled, browser):
    mentee = make_user("mia@example.org")
    browser.log_in("mia@example.org")
    page = text_of(browser.get("/me/mentors"))
    assert "Say what you want from mentoring" in page
    save_wants(app, mentee, objectives=["board-level influence", "NHS politics"],
               knowing=["whom"], contexts=["politics"], sector="nhs", formats=["video"])
    page = text_of(browser.get("/me/mentors"))
    panel = page[page.index("Mentors for you"):]
    assert "Grace Adeyemi" in panel
    assert "Shares 2 of your objectives: board-level influence, NHS politics" in panel
    assert "All mentors for you" in panel
