"""Coordinators' journeys in a real browser: objectives, facilitated matching, figures.

A mentee writes what they want from mentoring and asks for facilitated
matching with JavaScript off; a coordinator proposes a mentor from the
shortlist; the mentor accepts from the email; the figures count it. Every
page is audited with axe-core, and locators go by label and role.
"""

from __future__ import annotations

import pytest

from tests.browser_support import audit, link_in
from tests.test_browser_journeys import expect_heading, log_in, publish, rebuild_index, tick

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips these tests, saying why
    expect = None

pytestmark = pytest.mark.browser

BIO = ("Ten years on NHS trust boards. I coach clinicians who want board-level influence and "
       "help them read NHS politics.")


def accepted_count(page) -> str:
    """The 'Accepted' figure in the table of what became of the requests."""
    table = page.get_by_role("table", name="What became of the requests sent")
    return table.get_by_role("row", name="Accepted").get_by_role("cell").inner_text()


def test_a_mentee_asks_for_a_match_the_coordinator_proposes_and_the_figures_count_it(
        open_page, live_server, make_user):
    grace = make_user(email="grace@example.org", name="Grace Adeyemi")
    publish(live_server, grace, display_name="Grace Adeyemi", headline="Chief executive",
            sector="nhs", bio=BIO, expertise=["board-level influence", "NHS politics"],
            knowing=["whom"], contexts=["politics"])
    rebuild_index(live_server)
    make_user(email="mia@example.org", name="Mia Mentee")
    make_user(email="coord@example.org", name="Cora Coordinator", admin=True)

    # The mentee, without JavaScript.
    mentee = open_page(java_script_enabled=False)
    log_in(mentee, "mia@example.org")
    mentee.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Mentors for you").click()
    expect_heading(mentee, "Mentors for you")
    audit(mentee)
    mentee.get_by_role("link", name="Write what I want from mentoring").click()
    expect_heading(mentee, "What I want from mentoring")
    audit(mentee)
    mentee.get_by_label("Objective 1").fill("board-level influence")
    mentee.get_by_label("Objective 2 (optional)").fill("NHS politics")
    tick(mentee, "What you would like help with", "Knowing whom")
    tick(mentee, "The purpose", "Navigating the political environment")
    tick(mentee, "How you want to find a mentor",
         "Ask the coordinators to find me a mentor (facilitated matching)")
    mentee.get_by_role("button", name="Save what I want from mentoring").click()
    expect(mentee.get_by_role("status")).to_contain_text("You are in the coordinators' queue")
    suggestion = mentee.get_by_role("article", name="Grace Adeyemi")
    expect(suggestion).to_contain_text(
        "Shares 2 of your objectives: board-level influence, NHS politics")
    audit(mentee)

    # The coordinator proposes Grace from the shortlist.
    coordinator = open_page()
    log_in(coordinator, "coord@example.org")
    coordinator.goto("/admin/reports")
    expect_heading(coordinator, "Figures")
    audit(coordinator)
    coordinator.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Matching").click()
    expect_heading(coordinator, "Facilitated matching")
    expect(coordinator.get_by_role("heading", name="Mia Mentee")).to_be_visible()
    audit(coordinator)
    coordinator.get_by_label("Note to Mia Mentee and Grace Adeyemi (optional)").fill(
        "You both care about how boards decide.")
    coordinator.get_by_role("button", name="Propose Grace Adeyemi to Mia Mentee").click()
    expect(coordinator.get_by_role("status")).to_contain_text(
        "Proposed Grace Adeyemi to Mia Mentee")
    expect(coordinator.get_by_text("Nobody is waiting for facilitated matching.")).to_be_visible()
    expect(coordinator.get_by_role("cell", name="Waiting for the mentor")).to_be_visible()
    audit(coordinator)

    told = live_server.email("mia@example.org", "proposed a mentor for you")
    assert "board-level influence" in told.text and "You both care" in told.text

    # The mentor accepts from the email, as with any request.
    received = live_server.email("grace@example.org", "Mentoring request from Mia Mentee")
    assert "Proposed by the coordinators" in received.text
    mentor = open_page()
    mentor.goto(link_in(received, "/accept/"))
    expect_heading(mentor, "Accept Mia Mentee's request?")
    audit(mentor)
    mentor.get_by_role("button", name="Accept the request").click()
    expect_heading(mentor, "Request accepted")
    audit(mentor)

    # The coordinator sees the outcome, and the figures count it.
    coordinator.goto("/admin/matching")
    expect(coordinator.get_by_role("cell", name="Accepted: mentorship started")).to_be_visible()
    coordinator.goto("/admin/reports")
    assert accepted_count(coordinator) == "1"
    expect(coordinator.get_by_role("img", name="Requests by outcome")).to_be_visible()
    audit(coordinator)
