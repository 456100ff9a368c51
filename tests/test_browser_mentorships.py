"""Mentorships in a real browser: agree, plan and download the meeting, record it,
answer a check-in from the email, close, evaluate from the emailed link, and
follow the portfolio's gap to a filtered search.

As in test_browser_journeys.py: the app is served as in production, every page
is audited with axe-core and watched for console errors and CSP refusals, and
locators go by label and role. The mentorship itself begins as it does in the
register, by the mentor accepting a request through the service.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from datetime import time as datetime_time
from pathlib import Path
from urllib.parse import urlsplit

import icalendar
import pytest
from sqlalchemy import select, update

from register.auth.models import User
from register.database import utcnow, writing
from register.extensions import db
from register.introductions import services as introductions
from register.mail.links import links_for_email
from register.mail.outbox import drain
from register.mentorships import services
from register.mentorships.models import Meeting, Mentorship
from tests.browser_support import audit, link_in
from tests.test_browser_journeys import expect_heading, log_in, publish, rebuild_index, tick
from tests.test_introductions import draft

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips these tests, saying why
    expect = None

pytestmark = pytest.mark.browser

MENTOR = "ada@example.org"
MENTEE = "mia@example.org"


def start_mentorship(live_server, make_user, *, knowing=("how",)) -> int:
    """Ada mentors Mia: Mia's request, accepted by Ada through the service."""
    mentor = make_user(MENTOR, name="Ada Okoro")
    mentee = make_user(MENTEE, name="Mia Patel")
    profile_id = publish(live_server, mentor, knowing=list(knowing), kind="both")
    with live_server.app.test_request_context(method="POST"):
        request = introductions.send(db.session.get(User, mentee.id),
                                     db.session.get(introductions.MentorProfile, profile_id),
                                     draft(knowing=list(knowing)))
        mentorship = introductions.accept(request, by=db.session.get(User, mentor.id))
        db.session.commit()
        return mentorship.id


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_a_pair_agree_meet_check_in_close_and_evaluate(open_page, live_server, make_user):
    mid = start_mentorship(live_server, make_user)

    # The mentee proposes how they will work.
    mia = open_page()
    log_in(mia, MENTEE)
    mia.get_by_role("navigation", name="Main").get_by_role("link", name="Mentorships").click()
    expect_heading(mia, "Your mentorships")
    audit(mia)
    mia.get_by_role("link", name="Mentored by Ada Okoro").click()
    expect_heading(mia, "Mentorship: Ada Okoro and Mia Patel")
    audit(mia)
    mia.get_by_role("link", name="Propose an agreement").click()
    expect_heading(mia, "Propose how you will work together")
    audit(mia)
    mia.get_by_label("Goal 1").fill("Lead a quality improvement project")
    mia.get_by_label("Goal 2 (optional)").fill("Present it to the board")
    tick(mia, "How often you will meet", "Monthly")
    tick(mia, "For how long", "6 months")
    mia.get_by_label("Time for each meeting").select_option(label="1 hour")
    tick(mia, "How you will meet", "Video call")
    mia.get_by_role("button", name="Propose this agreement").click()
    expect(mia.get_by_text("Waiting for Ada Okoro to agree")).to_be_visible()
    audit(mia)

    # The mentor agrees.
    ada = open_page()
    log_in(ada, MENTOR)
    ada.goto(path_of(link_in(live_server.email(MENTOR, "proposed how you will work"),
                             f"/mentorships/{mid}")))
    audit(ada)
    ada.get_by_role("button", name="Agree this version").click()
    expect(ada.get_by_text("You agreed how you will work together.")).to_be_visible()
    audit(ada)

    # The mentee plans a meeting and downloads it for her calendar.
    mia.reload()
    mia.get_by_role("link", name="Plan a meeting").click()
    expect_heading(mia, "Plan a meeting")
    audit(mia)
    day = date.today() + timedelta(days=7)
    mia.get_by_label("Date").fill(day.isoformat())
    mia.get_by_label("Time").fill("10:00")
    mia.get_by_label("Place, or the link to join").fill("https://meet.example.org/ada-mia")
    tick(mia, "Goals to work on", "Lead a quality improvement project")
    mia.get_by_role("button", name="Plan the meeting").click()
    expect(mia.get_by_text("The meeting is planned.")).to_be_visible()
    audit(mia)
    with mia.expect_download() as download:
        mia.get_by_role("link", name=re.compile(r"^Add to calendar \(\.ics\)")).click()
    calendar = icalendar.Calendar.from_ical(Path(download.value.path()).read_bytes())
    event = next(iter(calendar.walk("VEVENT")))
    assert "Ada Okoro" in str(event["SUMMARY"])
    invitation = live_server.email(MENTOR, "Meeting planned")
    assert "10:00" in invitation.text

    # After the meeting, the mentor records it.
    with live_server.app.app_context():
        db.session.execute(update(Meeting).values(starts_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    ada.goto(f"/mentorships/{mid}")
    expect(ada.get_by_text("Meet: not yet")).to_be_visible()
    ada.get_by_role("link", name=re.compile("^Record this meeting")).click()
    # With JavaScript the form opens in place of the meeting, on the same page.
    expect(ada.get_by_role("heading", name=re.compile("^Record the meeting of"))).to_be_focused()
    expect(ada).to_have_url(re.compile(rf"/mentorships/{mid}$"))
    audit(ada)
    ada.get_by_role("button", name="Record the meeting").click()  # nothing chosen yet
    expect(ada.get_by_text("Say whether the meeting took place.").first).to_be_visible()
    # The form came back in place with its errors (422), which Chromium logs as a failed load.
    assert all("status of 422" in p and "/record" in p for p in ada.watch.take())
    audit(ada)
    tick(ada, "Did the meeting take place?", "Yes, we met")
    ada.get_by_label("Shared notes").fill("Scoped the project; Mia will draft a charter.")
    ada.get_by_role("button", name="Record the meeting").click()
    expect(ada.get_by_text("The meeting is recorded.")).to_be_visible()
    expect(ada.get_by_text("Scoped the project")).to_be_visible()
    expect(ada.get_by_text("Meet: done")).to_be_visible()
    expect(ada.get_by_text("Meetings held: 1 hours.")).to_be_visible()
    expect(ada).to_have_url(re.compile(rf"/mentorships/{mid}$"))
    audit(ada)

    # A month on, the check-in arrives; the mentee answers from the email, logged out.
    with live_server.app.app_context():
        db.session.execute(update(Mentorship).values(started_at=utcnow() - timedelta(days=31)))
        db.session.commit()
        with writing(), links_for_email():
            services.remind()
            db.session.commit()
        drain()  # as the worker does next
    reader = open_page()
    reader.goto(path_of(link_in(live_server.email(MENTEE, "How is your mentoring"),
                                "/check-in/met/")))
    expect_heading(reader, "How is your mentoring with Ada Okoro going?")
    audit(reader)
    reader.get_by_role("button", name="Confirm: We have met").click()
    expect_heading(reader, "Thank you for answering")
    audit(reader)

    # The mentee closes, with a reason.
    mia.goto(f"/mentorships/{mid}")
    mia.get_by_role("link", name="Close the mentorship").click()
    expect_heading(mia, "Close the mentorship")
    audit(mia)
    tick(mia, "Why are you closing the mentorship?", "Goals met")
    mia.get_by_role("button", name="Close the mentorship").click()
    expect(mia.get_by_text("The mentorship is closed.")).to_be_visible()
    audit(mia)

    # The mentor evaluates from the emailed link, without logging in.
    evaluator = open_page()
    evaluator.goto(path_of(link_in(live_server.email(MENTOR, "has been closed"),
                                   "/mentorships/evaluation/")))
    expect_heading(evaluator, "Evaluate the mentoring")
    audit(evaluator)
    tick(evaluator, "How useful was the mentoring?", "4")
    tick(evaluator, "Would you recommend mentoring through the register?", "Yes")
    tick(evaluator, "How far were the goals met?", "5 – very")
    evaluator.get_by_label("What did you gain as a mentor?").fill("Practice hours.")
    evaluator.get_by_role("button", name="Send my evaluation").click()
    expect_heading(evaluator, "Thank you for your evaluation")
    audit(evaluator)

    # The mentor's record counts the hour.
    ada.goto("/me/mentoring-record")
    expect_heading(ada, "Record of mentoring: Ada Okoro")
    expect(ada.get_by_role("cell", name="Mia Patel")).to_be_visible()
    audit(ada)


def test_the_portfolio_gap_leads_to_a_filtered_search(open_page, live_server, make_user):
    start_mentorship(live_server, make_user, knowing=("how",))
    other = make_user("ben@example.org", name="Ben Network")
    publish(live_server, other, knowing=["whom"], display_name="Ben Network")
    rebuild_index(live_server)
    mia = open_page()
    log_in(mia, MENTEE)
    mia.get_by_role("navigation", name="Main").get_by_role("link", name="My mentors").click()
    expect_heading(mia, "Your mentors")
    audit(mia)
    coverage = mia.get_by_role("region", name="What your current mentors cover")
    expect(coverage.get_by_text("Knowing how: covered")).to_be_visible()
    coverage.get_by_role("link", name="Find a mentor for knowing whom").click()
    expect(mia).to_have_url(re.compile(r"/mentors\?knowing=whom$"))
    expect(mia.get_by_role("link", name="Ben Network")).to_be_visible()
    audit(mia)


def test_mentorship_pages_work_without_javascript(open_page, live_server, make_user):
    mid = start_mentorship(live_server, make_user)
    mia = open_page(java_script_enabled=False)
    log_in(mia, MENTEE)
    mia.goto(f"/mentorships/{mid}")
    mia.get_by_role("link", name="Plan a meeting").click()
    mia.get_by_label("Date").fill((date.today() + timedelta(days=3)).isoformat())
    mia.get_by_label("Time").fill("18:30")
    mia.get_by_role("button", name="Plan the meeting").click()
    expect(mia.get_by_text("The meeting is planned.")).to_be_visible()
    audit(mia)
    with live_server.app.app_context():
        assert db.session.scalar(select(Meeting.minutes)) == 60
        db.session.execute(update(Meeting).values(starts_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    # Without JavaScript, recording opens its own page and comes back.
    mia.goto(f"/mentorships/{mid}")
    mia.get_by_role("link", name=re.compile("^Record this meeting")).click()
    expect_heading(mia, re.compile("^Record the meeting of"))
    audit(mia)
    tick(mia, "Did the meeting take place?", "No, it did not happen")
    mia.get_by_role("button", name="Record the meeting").click()
    expect(mia.get_by_text("The meeting is recorded.")).to_be_visible()
    expect(mia).to_have_url(re.compile(rf"/mentorships/{mid}#meetings$"))
    audit(mia)


def test_coordinators_set_the_confidentiality_wording_new_agreements_start_from(
        open_page, live_server, make_user):
    mid = start_mentorship(live_server, make_user)
    make_user("cora@example.org", name="Cora Ordinator", admin=True)
    cora = open_page()
    log_in(cora, "cora@example.org")
    cora.goto("/admin/")
    cora.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Mentorships").click()
    expect_heading(cora, "Mentorship settings")
    audit(cora)
    wording = cora.get_by_label("Default wording of the confidentiality section")
    wording.fill("What is said here stays here, unless someone may come to harm.")
    cora.get_by_role("button", name="Save the wording").click()
    expect(cora.get_by_text("New agreements will start from this wording.")).to_be_visible()
    audit(cora)
    # Coordinators see the mentorship, but are not asked to act in it.
    cora.goto(f"/mentorships/{mid}")
    expect_heading(cora, "Mentorship: Ada Okoro and Mia Patel")
    expect(cora.get_by_role("link", name="Plan a meeting")).to_have_count(0)
    audit(cora)

    mia = open_page()
    log_in(mia, MENTEE)
    mia.goto(f"/mentorships/{mid}/agreement")
    expect(mia.get_by_label("What stays confidential, and its limits")).to_have_value(
        "What is said here stays here, unless someone may come to harm.")
    audit(mia)


def test_not_working_then_close_reflect_and_evaluate_without_javascript(open_page, live_server,
                                                                       make_user):
    start_mentorship(live_server, make_user)
    with live_server.app.app_context():
        db.session.execute(update(Mentorship).values(started_at=utcnow() - timedelta(days=31)))
        db.session.commit()
        with writing(), links_for_email():
            services.remind()
            db.session.commit()
        drain()
    mia = open_page(java_script_enabled=False)
    log_in(mia, MENTEE)
    mia.goto(path_of(link_in(live_server.email(MENTEE, "How is your mentoring"),
                             "/check-in/not_working/")))
    audit(mia)
    mia.get_by_role("button", name="Confirm: It is not working").click()
    expect_heading(mia, "Thank you for answering")
    expect(mia.get_by_role("link", name="Find another mentor")).to_be_visible()
    audit(mia)
    mia.get_by_role("link", name="Close the mentorship").click()
    expect_heading(mia, "Close the mentorship")
    tick(mia, "Why are you closing the mentorship?", "Not a good fit")
    mia.get_by_role("button", name="Close the mentorship").click()
    expect(mia.get_by_text("The mentorship is closed.")).to_be_visible()
    audit(mia)

    mia.get_by_role("link", name="Reflect on the mentorship").click()
    expect_heading(mia, "Reflect on the mentorship")
    audit(mia)
    mia.get_by_label("What did I learn?").fill("To say early when something is not working.")
    mia.get_by_role("button", name="Save my reflection").click()
    expect(mia.get_by_text("Your reflection is saved. Only you can see it.")).to_be_visible()
    expect(mia.get_by_role("link", name="Change your reflection")).to_be_visible()

    mia.get_by_role("link", name="Evaluate the mentoring").click()
    expect_heading(mia, "Evaluate the mentoring")
    audit(mia)
    mia.get_by_role("button", name="Send my evaluation").click()  # nothing chosen yet
    expect_heading(mia, "Evaluate the mentoring")
    audit(mia)
    tick(mia, "How useful was the mentoring?", "2")
    tick(mia, "Would you recommend mentoring through the register?", "Yes")
    tick(mia, "How far were the goals met?", "1 – not at all")
    mia.get_by_role("button", name="Send my evaluation").click()
    expect_heading(mia, "Thank you for your evaluation")
    audit(mia)

    # The mentor's check-in link, answered after the close, is refused with an explanation.
    ada = open_page()
    ada.goto(path_of(link_in(live_server.email(MENTOR, "How is your mentoring"),
                             "/check-in/met/")))
    expect_heading(ada, "This mentorship has ended")
    expect(ada.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    audit(ada)


def test_the_mentoring_record_prints_on_a4(open_page, live_server, make_user):
    start_mentorship(live_server, make_user)
    ada = open_page()
    log_in(ada, MENTOR)
    ada.goto("/me/mentoring-record")
    expect_heading(ada, "Record of mentoring: Ada Okoro")
    ada.emulate_media(media="print")
    # A4 is 210 mm wide; less the print stylesheet's 15 mm margins, 180 mm (680 px) of text.
    ada.set_viewport_size({"width": 680, "height": 1000})
    expect(ada.get_by_role("cell", name="Mia Patel")).to_be_visible()
    expect(ada.get_by_role("link", name=re.compile("Download as a spreadsheet"))).to_be_hidden()
    expect(ada.get_by_role("navigation", name="Main")).to_be_hidden()
    assert ada.evaluate("() => document.documentElement.scrollWidth") <= 680
    pdf = ada.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")


def test_the_agreed_version_and_a_proposed_change_sit_side_by_side(open_page, live_server,
                                                                   make_user):
    mid = start_mentorship(live_server, make_user)
    with live_server.app.test_request_context():
        found = db.session.get(Mentorship, mid)

        def version(goal, frequency):
            return services.AgreementDraft(
                goals=[goal], frequency=frequency, duration="6", meeting_minutes=60,
                formats=["video"], confidentiality="Between us.",
                review_on=date.today() + timedelta(days=60))

        proposal = services.propose_agreement(found, by=found.mentee,
                                              draft=version("Chair the huddle", "monthly"))
        services.agree(proposal, by=found.mentor)
        services.propose_agreement(found, by=found.mentor,
                                   draft=version("Chair the board", "fortnightly"))
        db.session.commit()
    mia = open_page()
    mia.set_viewport_size({"width": 1280, "height": 900})
    log_in(mia, MENTEE)
    mia.goto(f"/mentorships/{mid}")
    agreed = mia.get_by_role("heading", name="Agreed", exact=True)
    proposed = mia.get_by_role("heading", name="Proposed change, waiting to be agreed")
    expect(agreed).to_be_visible()
    expect(proposed).to_be_visible()
    left, right = agreed.bounding_box(), proposed.bounding_box()
    assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + 200
    expect(mia.get_by_role("button", name="Agree this version")).to_be_visible()
    audit(mia)


def test_a_meeting_is_moved_and_then_cancelled_and_calendars_follow(open_page, live_server,
                                                                    make_user):
    mid = start_mentorship(live_server, make_user)
    day = date.today() + timedelta(days=9)
    with live_server.app.test_request_context():
        found = db.session.get(Mentorship, mid)
        services.plan_meeting(found, by=found.mentee, draft=services.MeetingDraft(
            day=day, at=datetime_time(9, 0), minutes=60, format="video"))
        db.session.commit()
    ada = open_page()
    log_in(ada, MENTOR)
    ada.goto(f"/mentorships/{mid}")
    ada.get_by_role("link", name=re.compile("^Change the meeting of")).click()
    expect_heading(ada, "Change the meeting")
    audit(ada)
    ada.get_by_label("Time").fill("16:15")
    ada.get_by_role("button", name="Change the meeting").click()
    expect(ada.get_by_text("The meeting has been changed")).to_be_visible()
    audit(ada)
    with ada.expect_download() as download:
        ada.get_by_role("link", name=re.compile(r"^Add to calendar \(\.ics\)")).click()
    moved = next(iter(icalendar.Calendar.from_ical(
        Path(download.value.path()).read_bytes()).walk("VEVENT")))
    assert int(moved["SEQUENCE"]) == 1
    invitation = live_server.email(MENTEE, "Meeting moved")
    assert "16:15" in invitation.text

    ada.get_by_role("button", name=re.compile("^Cancel the meeting of")).click()
    expect(ada.get_by_text("The meeting is cancelled")).to_be_visible()
    expect(ada.get_by_role("heading", name=re.compile(": cancelled$"))).to_be_visible()
    expect(ada.get_by_role("link", name=re.compile(r"^Add to calendar"))).to_have_count(0)
    audit(ada)
    cancelled = live_server.email(MENTEE, "Meeting cancelled")
    part = next(p for p in cancelled.message.iter_attachments()
                if p.get_content_type() == "text/calendar")
    calendar = icalendar.Calendar.from_ical(part.get_content())
    event = next(iter(calendar.walk("VEVENT")))
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["UID"]) == str(moved["UID"])
    assert int(event["SEQUENCE"]) == 2
