"""The figures at /admin/reports, against registers small enough to count by hand.

Rows are written straight to the database with the times they would have
had; the figures are read through the services and the page, on SQLite and
PostgreSQL, since the SQL differs (percentiles, months, JSON lists).
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from register.auth.models import User
from register.extensions import db
from register.introductions.models import IntroRequest
from register.matching.models import MenteeObjectives
from register.mentors.models import MentorProfile
from register.mentorships.models import Evaluation, Meeting, Mentorship
from register.reports import services
from tests.conftest import BACKENDS

BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
PERIOD = services.Period(date(2026, 1, 1), date(2026, 6, 30))


class Register:
    """A tiny register written row by row."""

    def __init__(self):
        self.count = 0

    def person(self, name=None, admin=False) -> User:
        self.count += 1
        user = User(email=f"p{self.count}@example.org", name=name or f"Person {self.count}",
                    password_hash=None, email_verified_at=NOW, is_admin=admin)
        db.session.add(user)
        db.session.flush()
        return user

    def mentor(self, *, sector="nhs", knowing=("how",), contexts=("career",), capacity=2,
               paused=False, name=None) -> MentorProfile:
        user = self.person(name)
        profile = MentorProfile(user_id=user.id, display_name=name or user.name, sector=sector,
                                knowing=list(knowing), contexts=list(contexts),
                                capacity=capacity, paused=paused,
                                state=MentorProfile.PUBLISHED, published_at=NOW)
        db.session.add(profile)
        db.session.flush()
        return profile

    def request(self, profile, *, sent, state=IntroRequest.PENDING, answered_after=None,
                reason=None, knowing=("how",), contexts=("career",), closed_note=None):
        mentee = self.person()
        item = IntroRequest(
            mentee_id=mentee.id, mentor_id=profile.user_id, profile_id=profile.id,
            subject="=HYPERLINK(\"http://evil\")", aspiration="a" * 30, why_you="b" * 30,
            ask="call15", kind="either", contexts=list(contexts), knowing=list(knowing),
            formats=["video"], state=state, created_at=sent, expires_at=sent + timedelta(14),
            answered_at=sent + answered_after if answered_after is not None else None,
            decline_reason=reason, closed_note=closed_note)
        db.session.add(item)
        db.session.flush()
        return item


def at(month, day, hour=9):
    return datetime(2026, month, day, hour, tzinfo=UTC)


@BOTH_BACKENDS
def test_request_figures_match_a_hand_count(app):
    with app.app_context():
        r = Register()
        nhs = r.mentor(name="Nadia NHS")
        academic = r.mentor(sector="academia", name="Alan Academic")
        # In the period: 4 answered by the mentor (1, 2, 3, 10 days), a declined one
        # that was the automatic decline of a pause, one withdrawn, one expired, two
        # waiting (one for more than 7 days).
        r.request(nhs, sent=at(2, 1), state="accepted", answered_after=timedelta(days=1))
        r.request(nhs, sent=at(3, 1), state="declined", answered_after=timedelta(days=2),
                  reason="capacity")
        r.request(academic, sent=at(4, 1), state="declined", answered_after=timedelta(days=3),
                  reason="experience")
        r.request(academic, sent=at(5, 1), state="accepted", answered_after=timedelta(days=10))
        r.request(nhs, sent=at(5, 2), state="declined", answered_after=timedelta(hours=1),
                  reason="unavailable", closed_note="They paused their profile.")
        r.request(nhs, sent=at(5, 3), state="withdrawn")
        r.request(academic, sent=at(5, 4), state="expired")
        r.request(nhs, sent=NOW - timedelta(days=8))
        r.request(academic, sent=NOW - timedelta(days=1))
        # Outside the period: not counted, except as a long wait today.
        r.request(nhs, sent=at(12, 1) - timedelta(days=400), state="accepted",
                  answered_after=timedelta(days=1))
        db.session.commit()

        found = services.request_figures(PERIOD, NOW)
        assert (found.sent, found.accepted, found.declined, found.withdrawn, found.expired,
                found.waiting) == (9, 2, 3, 1, 1, 2)
        assert found.acceptance_rate == pytest.approx(2 / 6)  # accepted / (acc + dec + exp)
        # Mentors' own answers: 1, 2, 3 and 10 days; nearest rank: median 2nd, p90 4th.
        assert found.median_answer == pytest.approx(2 * 86400, abs=1)
        assert found.p90_answer == pytest.approx(10 * 86400, abs=1)
        assert found.mentors_waiting_long == 1
        declines = {row[0]: row[1] for row in found.tables[1].rows}
        assert declines["I am at capacity just now"] == 1
        assert declines["Not available at the moment"] == 1
        by_month = {row[0]: row[1:] for row in found.tables[2].rows}
        assert by_month["2026-05"] == [4, 1] and by_month["2026-02"] == [1, 1]
        assert [row[0] for row in found.tables[3].rows] == ["Nadia NHS"]

        only_academia = services.Period(PERIOD.start, PERIOD.end, "academia")
        narrowed = services.request_figures(only_academia, NOW)
        assert (narrowed.sent, narrowed.accepted, narrowed.expired) == (4, 1, 1)
        assert narrowed.mentors_waiting_long == 0


def test_an_empty_period_shows_dashes_not_errors(app, make_user, browser):
    make_user("coord@example.org", admin=True)
    browser.log_in("coord@example.org")
    page = browser.get("/admin/reports?start=2020-01-01&end=2020-01-31")
    assert page.status_code == 200
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))
    assert "No request was declined in this period." in text
    assert "No mentorship closed in this period." in text
    with app.app_context():
        found = services.request_figures(services.Period(date(2020, 1, 1), date(2020, 1, 31)),
                                         NOW)
        assert found.sent == 0 and found.acceptance_rate is None and found.median_answer is None


@BOTH_BACKENDS
def test_supply_and_demand_by_knowing_context_and_sector(app):
    with app.app_context():
        r = Register()
        full = r.mentor(knowing=("how", "whom"), contexts=("politics",), capacity=1)
        r.mentor(knowing=("whom",), contexts=("career",), capacity=3)
        r.mentor(knowing=("why",), capacity=2, paused=True)
        db.session.add(Mentorship(mentor_id=full.user_id, mentee_id=r.person().id,
                                  started_at=at(1, 5)))
        wants = r.person()
        db.session.add(MenteeObjectives(user_id=wants.id, objectives=["x"], knowing=["whom"],
                                        contexts=["politics"], development_areas=[],
                                        formats=[], sector="nhs", location=""))
        r.request(full, sent=at(3, 1), knowing=("whom", "how"), contexts=("politics",))
        db.session.commit()

        knowing, contexts, sectors = services.supply_and_demand(PERIOD, NOW.date())
        rows = {row[0]: row[1:] for row in knowing.rows}
        # mentors, places free, objectives, requests, searches
        assert rows["Knowing how"][:4] == [1, 0, 0, 1]
        assert rows["Knowing whom"][:4] == [2, 3, 1, 1]  # the full mentor has no place left
        assert rows["Knowing why"][:4] == [1, 0, 0, 0]   # paused: no place free
        politics = {row[0]: row[1:] for row in contexts.rows}[
            "Navigating the political environment"]
        assert politics[:4] == [1, 0, 1, 1]
        assert {row[0]: row[1:3] for row in sectors.rows}["NHS"] == [3, 3]


@BOTH_BACKENDS
def test_evaluations_are_shown_only_with_three_answers(app):
    with app.app_context():
        r = Register()
        profile = r.mentor()

        def closed_with_evaluation(useful, recommend, goals, changed=""):
            ship = Mentorship(mentor_id=profile.user_id, mentee_id=r.person().id,
                              started_at=at(1, 2), status=Mentorship.CLOSED,
                              closed_at=at(4, 2), close_reason="goals_met")
            db.session.add(ship)
            db.session.flush()
            db.session.add(Evaluation(mentorship_id=ship.id, role="mentee", usefulness=useful,
                                      would_recommend=recommend, goals_met=goals,
                                      what_changed=changed))
            db.session.add(Meeting(mentorship_id=ship.id, uid=f"m{ship.id}", starts_at=at(1, 9),
                                   minutes=90, format="video", status=Meeting.HELD))
            return ship

        closed_with_evaluation(5, True, 4, "I lead the board meetings now.")
        closed_with_evaluation(3, False, 2)
        db.session.commit()
        from register.reports import mentorship_figures

        table = mentorship_figures.evaluation_table(PERIOD, _mentorships_services())
        mentee_column = {row[1]: row[2] for row in table.rows}
        assert mentee_column["How useful it was (average)"] == "– (fewer than 3 answers)"
        assert mentee_column["Evaluations answered"] == 2

        closed_with_evaluation(4, True, 3, "I ask for what I need.")
        db.session.commit()
        table = mentorship_figures.evaluation_table(PERIOD, _mentorships_services())
        mentee_column = {row[1]: row[2] for row in table.rows}
        assert mentee_column["How useful it was (average)"] == "4.0 of 5"
        assert mentee_column["Would recommend it"] == "67%"
        assert mentee_column["Goals met (average)"] == "3.0 of 5"
        assert mentee_column["Said what changed (answers)"] == "– (fewer than 3 answers)"

        summary, tables, _ = mentorship_figures.figures(PERIOD, NOW)
        assert summary["started"] == 3 and summary["closed"] == 3
        assert summary["meetings_held"] == 3 and summary["hours"] == 4.5
        assert summary["median_first_meeting"] == pytest.approx(7 * 86400, abs=1)
        assert {row[0]: row[1] for row in tables[0].rows}["Goals met"] == 3


@BOTH_BACKENDS
def test_places_meetings_and_changes_count_right_at_the_edges(app):
    """A mentor with more mentees than places has none free (not fewer than none); a
    pause that has ended frees the places again; a sector's meetings are its own; and
    "said what changed" is a number once three answers said something."""
    with app.app_context():
        r = Register()
        over = r.mentor(sector="nhs", knowing=("why",), capacity=1)
        back = r.mentor(sector="nhs", knowing=("how",), capacity=2, paused=True)
        back.away_until = date(2026, 6, 1)  # the pause ended before NOW
        other = r.mentor(sector="academia", knowing=("whom",), capacity=1)
        for _ in range(2):
            db.session.add(Mentorship(mentor_id=over.user_id, mentee_id=r.person().id,
                                      started_at=at(2, 1)))
        for n in range(3):
            ship = Mentorship(mentor_id=other.user_id, mentee_id=r.person().id,
                              started_at=at(1, 2), status=Mentorship.CLOSED,
                              closed_at=at(4, 2), close_reason="goals_met")
            db.session.add(ship)
            db.session.flush()
            db.session.add(Evaluation(mentorship_id=ship.id, role="mentee", usefulness=4,
                                      would_recommend=True, goals_met=3,
                                      what_changed=f"Change {n}."))
            db.session.add(Meeting(mentorship_id=ship.id, uid=f"edge{ship.id}",
                                   starts_at=at(1, 9), minutes=60, format="video",
                                   status=Meeting.HELD))
        db.session.commit()

        knowing, _, sectors = services.supply_and_demand(PERIOD, NOW.date())
        free = {row[0]: row[2] for row in knowing.rows}
        assert free["Knowing why"] == 0  # two mentees on one place
        assert free["Knowing how"] == 2  # back from the pause
        assert {row[0]: row[2] for row in sectors.rows}["NHS"] == 2

        everything = services.figures(PERIOD, NOW)
        assert everything.mentorship_summary["meetings_held"] == 3
        nhs = services.figures(services.Period(PERIOD.start, PERIOD.end, "nhs"), NOW)
        assert nhs.mentorship_summary["meetings_held"] == 0
        assert nhs.mentorship_summary["hours"] == 0
        mentees = {row[1]: row[2] for row in everything.evaluation.rows}
        assert mentees["Said what changed (answers)"] == 3
        assert mentees["Evaluations answered"] == 3


def _mentorships_services():
    from register.mentorships import services as mentorships

    return mentorships


def test_csv_downloads_are_formula_safe(app, make_user, browser):
    assert services.csv_safe("=SUM(A1)") == "'=SUM(A1)"
    assert services.csv_safe("+1") == "'+1" and services.csv_safe("-1") == "'-1"
    assert services.csv_safe("@cmd") == "'@cmd" and services.csv_safe("plain") == "plain"
    assert services.csv_safe(-3) == -3
    make_user("coord@example.org", admin=True)
    with app.app_context():
        r = Register()
        r.mentor(name="=HYPERLINK(\"http://evil\")")
        profile = db.session.scalar(db.select(MentorProfile))
        r.request(profile, sent=datetime.now(UTC) - timedelta(days=9))
        db.session.commit()
    browser.log_in("coord@example.org")
    page = browser.get("/admin/reports").get_data(as_text=True)
    assert "/admin/reports/mentors-waiting.csv" in page
    download = browser.get("/admin/reports/mentors-waiting.csv")
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["Mentor", "Requests waiting", "Oldest sent"]
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")"
    assert browser.get("/admin/reports/nothing-here.csv").status_code == 404


def test_the_page_has_a_chart_with_a_title_beside_each_table(app, make_user, browser):
    make_user("coord@example.org", admin=True)
    make_user("someone@example.org")
    with app.app_context():
        r = Register()
        profile = r.mentor()
        r.request(profile, sent=datetime.now(UTC) - timedelta(days=2), state="accepted",
                  answered_after=timedelta(hours=5))
        db.session.commit()
    browser.log_in("someone@example.org")
    assert browser.get("/admin/reports").status_code == 403
    assert browser.get("/admin/reports/requests.csv").status_code == 403
    browser.log_in("coord@example.org")
    page = browser.get("/admin/reports").get_data(as_text=True)
    svg = re.search(r'<svg class="chart" role="img" aria-labelledby="chart-requests-title".*?'
                    r'</svg>', page, re.S).group(0)
    assert '<title id="chart-requests-title">Requests by outcome: Sent 1; Accepted 1' in svg
    assert "<script" not in svg and "style=" not in svg
    assert '<caption class="visually-hidden">What became of the requests sent</caption>' in page
    bad = browser.get("/admin/reports?start=yesterday")
    assert bad.status_code == 422
    assert "Enter a date such as 2026-01-31." in bad.get_data(as_text=True)


@BOTH_BACKENDS
def test_days_kept_by_the_roll_up_give_the_same_figures_as_counting_live(app):
    from register.reports import rollups
    from register.reports.models import RequestDay

    year = services.Period(date(2025, 7, 1), date(2026, 6, 30))
    with app.app_context():
        r = Register()
        nhs, academic = r.mentor(), r.mentor(sector="academia")
        for day, (profile, state, after, reason) in enumerate([
                (nhs, "accepted", timedelta(hours=5), None),
                (nhs, "declined", timedelta(days=2), "capacity"),
                (academic, "accepted", timedelta(days=3), None),
                (academic, "expired", None, None),
                (nhs, "withdrawn", None, None)]):
            r.request(profile, sent=at(1, 3) - timedelta(days=40 * day), state=state,
                      answered_after=after, reason=reason, knowing=("whom",))
        r.request(nhs, sent=NOW - timedelta(days=3), knowing=("why",))  # recent: live
        db.session.commit()
        live = services.request_figures(year, NOW)
        live_supply = services.supply_and_demand(year, NOW.date())

        kept = rollups.roll_up(NOW)
        db.session.commit()
        assert kept > 150 and rollups.roll_up(NOW) == 0  # once only
        assert db.session.scalar(db.select(db.func.max(RequestDay.day))) == date(2026, 6, 13)
        again = services.request_figures(year, NOW)
        for name in ("sent", "accepted", "declined", "withdrawn", "expired", "waiting",
                     "median_answer", "p90_answer"):
            assert getattr(again, name) == getattr(live, name), name
        assert [t.rows for t in again.tables] == [t.rows for t in live.tables]
        assert [t.rows for t in services.supply_and_demand(year, NOW.date())] == [
            t.rows for t in live_supply]
        # Kept days are read from the roll-up: a request deleted afterwards stays counted.
        db.session.execute(db.delete(IntroRequest).where(IntroRequest.state == "withdrawn"))
        db.session.commit()
        assert services.request_figures(year, NOW).withdrawn == 1


@BOTH_BACKENDS
def test_searches_count_towards_demand_and_the_empty_ones_are_listed(app):
    from register.search import models as search_models

    stats = getattr(search_models, "SearchQueryStat", None)
    if stats is None:
        pytest.skip("the search area does not keep statistics in this checkout yet")
    with app.app_context():
        db.session.add_all([
            stats(day=date(2026, 3, 1), words="board influence", filters="knowing=whom",
                  searches=7, results=0),
            stats(day=date(2026, 3, 2), words="board influence", filters="knowing=whom",
                  searches=2, results=1),
            stats(day=date(2026, 3, 2), words="=cmd|' /c calc'!A0", filters="",
                  searches=3, results=0),
            stats(day=date(2026, 3, 3), words="statistics",
                  filters="context=career,skills;knowing=how,whom;sector=academia,nhs",
                  searches=4, results=30),
            stats(day=date(2024, 3, 3), words="long ago", filters="knowing=whom",
                  searches=50, results=0),
        ])
        db.session.commit()
        knowing, contexts, sectors = services.supply_and_demand(PERIOD, NOW.date())
        assert {row[0]: row[5] for row in knowing.rows} == {
            "Knowing why": 0, "Knowing how": 4, "Knowing whom": 13}
        assert {row[0]: row[5] for row in contexts.rows}["Skills development"] == 4
        assert {row[0]: row[5] for row in sectors.rows}["NHS"] == 4
        little = services.searches_found_little(PERIOD)
        assert little.rows[0] == ["board influence", "knowing=whom", 9, 0]
        assert [row[0] for row in little.rows] == ["board influence", "=cmd|' /c calc'!A0"]
        assert services.as_csv(little).splitlines()[2].startswith("'=cmd|")
        nhs_only = services.Period(PERIOD.start, PERIOD.end, "nhs")
        assert services.searches_found_little(nhs_only).rows == []
