"""How the register looks and behaves in a real browser, at a desk and on a phone.

Every main page is opened at 1280×800 and at 390×844: axe-core must find
nothing at any impact, the page must not scroll sideways, and a screenshot is
taken. `make screenshots` sets SCREENSHOT_DIR=docs/screenshots so the pictures
are kept for review; otherwise they go to the test's temporary folder.
Assertions go by what a person sees: roles and names, colours of buttons and
tags, where focus lands, the page title.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.introductions import services as introductions
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.search.sync import rebuild
from tests.browser_support import ALL_IMPACTS, audit
from tests.conftest import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips these tests, saying why
    expect = None

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BIO = ("Twenty years in critical care nursing, the last eight leading quality improvement "
       "across three hospitals. I can help you plan a first project, find the data you need "
       "and present it to a board that has heard it all before.")
ASPIRATION = "In ten years I aspire to lead quality improvement across a whole trust."
WHY_YOU = "Your improvement programmes in three hospitals are the path I hope to follow."


# Helpers ---------------------------------------------------------------------------


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: SCREENSHOT_DIR (make screenshots) or the test's own folder."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def no_sideways_scroll(page) -> None:
    """Nothing sticks out to the right: the page is no wider than the window."""
    overflow = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .filter(e => !e.closest('.visually-hidden, .skip-link, .skip-inline'))
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                      + (e.className && typeof e.className === 'string'
                         ? '.' + e.className.split(' ').join('.') : ''));
        return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
    }""")
    assert overflow["scroll"] <= overflow["width"], f"{page.url} scrolls sideways: {overflow}"


def look_at(page, shots: Path, name: str, *, widths=(DESKTOP, PHONE)) -> None:
    """At each width: nothing for axe-core at any impact, no sideways scroll, a screenshot."""
    for size in widths:
        page.set_viewport_size(size)
        audit(page, impacts=ALL_IMPACTS)
        no_sideways_scroll(page)
        label = "desktop" if size is DESKTOP else "phone"
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def log_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "button", name="Log out")).to_be_visible()


def publish(live_server, account, *, minutes_ago: int = 1, state=MentorProfile.PUBLISHED,
            **fields) -> int:
    """A profile for `account`, written through the service, published unless told."""
    values = dict(display_name=account.name, headline="Consultant nurse", organisation="Leeds "
                  "Teaching Hospitals", sector="nhs", location="Leeds", bio=BIO,
                  expertise=["quality improvement"], knowing=["how"], contexts=["career"],
                  formats=["video", "telephone"], kind="informal", capacity=2)
    values.update(fields)
    with live_server.app.test_request_context(method="POST"):
        user = db.session.get(User, account.id)
        profile = mentors.start_profile(user)
        mentors.update_profile(profile, mentors.ProfileData(**values), by=user)
        profile.state = state
        if state == MentorProfile.SUBMITTED:
            profile.submitted_at = utcnow() - timedelta(minutes=minutes_ago)
        else:
            profile.published_at = utcnow() - timedelta(minutes=minutes_ago)
        db.session.commit()
        return profile.id


def send_request(live_server, mentee, profile_id: int, subject: str) -> int:
    with live_server.app.test_request_context(method="POST"):
        sent = introductions.send(
            db.session.get(User, mentee.id), db.session.get(MentorProfile, profile_id),
            introductions.Draft(subject=subject, aspiration=ASPIRATION, why_you=WHY_YOU,
                                contexts=["career"], knowing=["how"], formats=["video"],
                                availability="Weekday mornings"))
        db.session.commit()
        return sent.id


def rebuild_index(live_server) -> None:
    with live_server.app.app_context():
        rebuild()


def background(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


# The pages anyone can see ------------------------------------------------------------


def test_home_page_puts_the_search_first_and_the_footer_pages_are_real(
        page, live_server, shots):
    page.goto("/")
    expect(page).to_have_title("Find a mentor who fits – Mentor Register")
    main = page.get_by_role("main")
    # Searching comes before anything else a visitor can do on the page.
    first_control = main.locator("input, button, a").first
    expect(first_control).to_have_accessible_name(
        "Search mentors by expertise, role, name or place")
    headings = main.get_by_role("heading", level=2)
    expect(headings).to_have_text(["How it works", "Three things a mentor can help you know",
                                   "Become a mentor"])
    # Prose is held to a readable measure: about 75 characters a line at most.
    per_line = page.locator("main .lead").evaluate("""p => {
        const range = document.createRange(); range.selectNodeContents(p);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return p.textContent.trim().length / tops.size;
    }""")
    assert per_line <= 80, f"{per_line:.0f} characters a line"
    look_at(page, shots, "home")

    page.get_by_label("Search mentors by expertise, role, name or place").fill("statistics")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/mentors\?q=statistics$"))

    footer = page.get_by_role("contentinfo")
    for link, heading, words in [
            ("Accessibility statement", "Accessibility statement", "WCAG"),
            ("Privacy notice", "Privacy notice", "How to delete your account"),
            ("Contact", "Contact the register's coordinators", "mentoring@example.org")]:
        footer.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        expect(page.get_by_role("main")).to_contain_text(words)
        expect(page.get_by_role("main")).to_contain_text("Example Professional Society")
        look_at(page, shots, link.split()[0].lower())
