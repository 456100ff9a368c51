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
from urllib.parse import urlsplit

import pytest

from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.introductions import services as introductions
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.search.sync import rebuild
from tests.browser_support import ALL_IMPACTS, audit, link_in
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


def headings_do_not_skip(page) -> None:
    """Headings go down one level at a time (no h1 straight to h3), as screen readers list them."""
    levels = page.evaluate("""() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
        .map(h => [Number(h.tagName[1]), h.textContent.trim().slice(0, 40)])""")
    previous = 0
    for level, text in levels:
        assert level <= previous + 1, f"{page.url}: h{previous} then h{level} ({text!r})"
        previous = level


def look_at(page, shots: Path, name: str, *, widths=(DESKTOP, PHONE)) -> None:
    """At each width: nothing for axe-core at any impact, no sideways scroll, a screenshot."""
    headings_do_not_skip(page)
    for size in widths:
        page.set_viewport_size(size)
        audit(page, impacts=ALL_IMPACTS)
        no_sideways_scroll(page)
        label = "desktop" if size is DESKTOP else "phone"
        # caret="initial": hiding the caret would add a style the page's CSP refuses.
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True, caret="initial")
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


# Requests: the mentor decides from the card -----------------------------------------


def test_a_mentor_decides_from_the_inbox_card_and_declining_asks_first(
        open_page, live_server, make_user, shots):
    mentor = make_user(email="ada@example.org", name="Ada Okoro")
    profile_id = publish(live_server, mentor, display_name="Dr Ada Okoro")
    mia = make_user(email="mia@example.org", name="Mia Mentee")
    subject = "15 minutes of your time – your experience in quality improvement"
    first = send_request(live_server, mia, profile_id, subject)
    send_request(live_server, make_user(name="Sam Second"), profile_id, "A question on audits")

    page = open_page()
    log_in(page, "ada@example.org")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(page.get_by_role("heading", level=1, name="Your requests")).to_be_visible()
    card = page.get_by_role("article", name=subject)
    # Everything a mentor needs to decide is on the card.
    expect(card.get_by_role("heading", level=2, name=subject)).to_be_visible()
    expect(card).to_contain_text("From Mia Mentee")
    expect(card).to_contain_text(ASPIRATION)
    expect(card).to_contain_text(WHY_YOU)
    expect(card).to_contain_text("A 15-minute conversation")
    expect(card).to_contain_text("Weekday mornings")
    tag = card.locator(".status-tag")
    expect(tag).to_have_text("Waiting for an answer")
    assert background(tag) != background(card.locator("xpath=.."))
    # Accept is the main action; declining is a separate, quieter choice whose reason and
    # red button appear only once chosen.
    accept = card.get_by_role("button", name="Accept", exact=True)
    expect(accept).to_be_visible()
    expect(card.get_by_label("Reason for declining")).to_be_hidden()
    decline_choice = card.get_by_text("Decline this request")
    assert background(decline_choice) != background(accept)
    look_at(page, shots, "inbox-mentor")

    decline_choice.click()
    reason = card.get_by_label("Reason for declining")
    expect(reason).to_be_visible()
    decline = card.get_by_role("button", name="Decline", exact=True)
    assert background(decline) == "rgb(176, 0, 32)", "declining is shown as destructive"
    page.set_viewport_size(PHONE)
    # On a phone, Accept and the decline form do not run into each other.
    accept_box, reason_box = accept.bounding_box(), reason.bounding_box()
    assert accept_box["y"] + accept_box["height"] < reason_box["y"]
    look_at(page, shots, "inbox-mentor-declining", widths=(PHONE,))

    reason.select_option(label="I am at capacity just now")
    decline.click()
    expect(card.locator(".status-tag")).to_have_text("Declined")
    expect(card.get_by_role("button")).to_have_count(0)
    audit(page, impacts=ALL_IMPACTS)

    # The mentee sees no "received" tab: they are not a mentor.
    mentee = open_page()
    log_in(mentee, "mia@example.org")
    nav = mentee.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Become a mentor")).to_be_visible()
    expect(nav.get_by_role("link", name="Mentor profile")).to_have_count(0)
    nav.get_by_role("link", name="Requests").click()
    expect(mentee.get_by_role("link", name="Received (as a mentor)")).to_have_count(0)
    sent = mentee.get_by_role("article", name=subject)
    expect(sent.locator(".status-tag")).to_have_text("Declined")
    look_at(mentee, shots, "inbox-mentee")
    mentee.goto(f"/requests/{first}")
    expect(mentee.get_by_role("heading", level=1, name=subject)).to_be_visible()
    look_at(mentee, shots, "request")


def test_the_header_fits_a_phone_with_the_account_set_apart(page, live_server, make_user):
    make_user(email="grace@example.org", name="Grace Hopper-Livingstone")
    log_in(page, "grace@example.org")
    page.goto("/mentors")
    nav = page.get_by_role("navigation", name="Main")
    sections = ("Find a mentor", "Requests", "Become a mentor")
    # At a desk every section is in view; a mentee is offered to become a mentor.
    for link in sections:
        expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Mentor profile")).to_have_count(0)
    expect(nav.get_by_text("Menu", exact=True)).to_be_hidden()

    page.set_viewport_size(PHONE)
    name = nav.get_by_role("link", name="Your account: Grace Hopper-Livingstone")
    log_out = nav.get_by_role("button", name="Log out")
    menu = nav.get_by_text("Menu", exact=True)
    # Two rows: the service and the account on top, the menu of sections below.
    header = page.locator(".header-bar").bounding_box()
    assert header["height"] < 110, f"the header is {header['height']} px tall"
    assert name.bounding_box()["y"] < menu.bounding_box()["y"]
    assert log_out.bounding_box()["x"] > menu.bounding_box()["x"]
    expect(nav.get_by_role("link", name="Requests")).to_be_hidden()
    menu.click()
    for link in sections:
        expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
    no_sideways_scroll(page)
    audit(page, impacts=ALL_IMPACTS)


# Coordinators: the vetting queue ---------------------------------------------------------


def test_the_vetting_queue_shows_the_mentors_words_and_rejecting_takes_a_second_step(
        page, live_server, make_user, shots):
    make_user(email="cora@example.org", name="Cora Ordinator", admin=True)
    ada = make_user(email="ada@example.org", name="Ada Okoro")
    publish(live_server, ada, display_name="Dr Ada Okoro", state=MentorProfile.SUBMITTED)
    log_in(page, "cora@example.org")
    page.goto("/admin/queue")
    entry = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", level=2, name="Dr Ada Okoro"))
    # What the vetter must read is open from the start.
    expect(entry.get_by_role("region", name="Experience, in Dr Ada Okoro's words")).to_contain_text(
        "Twenty years in critical care nursing")
    expect(entry.locator(".status-tag")).to_have_text("Waiting to be checked")
    approve = entry.get_by_role("button", name="Approve and publish")
    changes = entry.get_by_role("button", name="Request changes")
    assert background(approve) != background(changes), "a secondary button looks secondary"
    expect(entry.get_by_role("button", name="Yes, reject it")).to_be_hidden()
    look_at(page, shots, "admin-queue")

    entry.get_by_text("Reject the profile").click()
    entry.get_by_label("Why it cannot be published").fill("Not a mentoring profile.")
    confirm = entry.get_by_role("button", name="Yes, reject it")
    assert background(confirm) == "rgb(176, 0, 32)"
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("Dr Ada Okoro: Rejected")
    audit(page, impacts=ALL_IMPACTS)


def test_rejecting_and_declining_work_without_javascript(open_page, live_server, make_user):
    make_user(email="cora@example.org", name="Cora Ordinator", admin=True)
    ada = make_user(email="ada@example.org", name="Ada Okoro")
    publish(live_server, ada, display_name="Dr Ada Okoro", state=MentorProfile.SUBMITTED)
    page = open_page(java_script_enabled=False)
    log_in(page, "cora@example.org")
    page.goto("/admin/queue")
    page.get_by_text("Reject the profile").click()
    page.get_by_label("Why it cannot be published").fill("Not a mentoring profile.")
    page.get_by_role("button", name="Yes, reject it").click()
    expect(page.get_by_role("status")).to_contain_text("Dr Ada Okoro: Rejected")
    audit(page, impacts=ALL_IMPACTS)


# Search ------------------------------------------------------------------------------


def publish_many(live_server, make_user, count: int) -> None:
    for n in range(count):
        account = make_user(email=f"mentor{n}@example.org", name=f"Mentor {n:02d}")
        publish(live_server, account, minutes_ago=n + 1, display_name=f"Mentor {n:02d}",
                location="Leeds" if n % 2 else "York", sector="nhs" if n % 3 else "academia")
    rebuild_index(live_server)


def test_search_on_a_phone_puts_filters_in_a_disclosure_above_the_results(
        page, live_server, make_user, shots):
    publish_many(live_server, make_user, 3)
    page.set_viewport_size(PHONE)
    page.goto("/mentors")
    toggle = page.get_by_text("Filters and order")
    first = page.get_by_role("article").first
    expect(first).to_be_visible()
    assert toggle.bounding_box()["y"] < first.bounding_box()["y"] < 844, "results come first"
    expect(page.get_by_label("Taking requests now (3)")).to_be_hidden()
    # The result says where, which sector and how the mentor meets.
    expect(first).to_contain_text("York")
    expect(first).to_contain_text("Academia")
    expect(first).to_contain_text("Meets by telephone, video call")
    look_at(page, shots, "search", widths=(PHONE,))

    page.set_viewport_size(PHONE)
    toggle.click()
    page.get_by_role("group", name="Sector").get_by_label("NHS (2)").check()
    expect(page.get_by_role("heading", name="2 mentors match")).to_be_visible()
    # The filters stay open after the results change, and say how many are chosen.
    expect(page.get_by_label("NHS (2)")).to_be_checked()
    expect(page.get_by_label("NHS (2)")).to_be_visible()
    expect(toggle).to_contain_text("1 chosen")

    long_word = "interdisciplinaryqualityimprovementleadershipdevelopmentprogramme" * 2
    page.get_by_label("Search by expertise, role, name or place").fill(long_word)
    expect(page.get_by_role("heading", name="No mentors match")).to_be_visible()
    no_sideways_scroll(page)
    expect(page.get_by_role("link", name="Browse every mentor taking requests")).to_be_visible()
    expect(page.get_by_role("link", name="contact them")).to_be_visible()
    expect(page.get_by_role("link", name="Remove every filter")).to_have_count(0)
    look_at(page, shots, "search-no-results", widths=(PHONE,))


def test_a_keyboard_user_skips_the_filters_to_the_results(page, live_server, make_user, shots):
    publish_many(live_server, make_user, 2)
    page.goto("/mentors")
    expect(page.get_by_role("group", name="Sector")).to_be_visible()  # open beside them
    page.get_by_label("Search by expertise, role, name or place").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Search", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the results")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="2 mentors match")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Mentor 00")).to_be_focused()
    look_at(page, shots, "search", widths=(DESKTOP,))


def test_live_search_keeps_the_title_and_address_clean_and_paging_moves_focus(
        page, live_server, make_user):
    publish_many(live_server, make_user, 23)
    page.goto("/mentors")
    search_box = page.get_by_label("Search by expertise, role, name or place")
    search_box.fill("nursing")
    expect(page).to_have_title("“nursing” – Find a mentor – Mentor Register")
    expect(page).to_have_url(re.compile(r"q=nursing"))
    assert page.url.count("accepting=") <= 1, page.url

    page.get_by_role("checkbox", name=re.compile("^Taking requests now")).uncheck()
    expect(page).to_have_url(re.compile(r"accepting=0"))
    assert page.url.count("accepting=") == 1, page.url

    heading = page.get_by_role("heading", name=re.compile(r"23 mentors match"))
    expect(heading).to_contain_text("page 1 of 2")
    page.get_by_role("link", name="Next page").click()
    expect(heading).to_contain_text("page 2 of 2")
    expect(heading).to_be_focused()
    assert heading.evaluate("e => e.getBoundingClientRect().top >= 0 && "
                            "e.getBoundingClientRect().top < innerHeight")
    expect(page).to_have_title("“nursing” – Find a mentor, page 2 – Mentor Register")
    assert page.url.count("accepting=") == 1, page.url
    audit(page, impacts=ALL_IMPACTS)

    page.go_back()
    expect(page).to_have_title("“nursing” – Find a mentor – Mentor Register")


def test_without_javascript_the_search_form_lands_on_one_clean_address(open_page, live_server,
                                                                       make_user):
    publish_many(live_server, make_user, 2)
    page = open_page(java_script_enabled=False)
    page.goto("/mentors")
    page.get_by_label("Search by expertise, role, name or place").fill("nursing")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="2 mentors match “nursing”")).to_be_visible()
    assert page.url.endswith("/mentors?q=nursing&accepting=1"), page.url
    audit(page, impacts=ALL_IMPACTS)


# The request form -----------------------------------------------------------------------


def test_the_request_form_keeps_its_preview_in_view_and_pasted_text_whole(
        open_page, live_server, make_user, shots):
    mentor = make_user(email="ada@example.org", name="Ada Okoro")
    profile_id = publish(live_server, mentor, display_name="Dr Ada Okoro")
    make_user(email="mia@example.org", name="Mia Mentee")
    page = open_page()
    log_in(page, "mia@example.org")
    page.goto(f"/mentors/{profile_id}/request")
    subject = page.get_by_label("Subject line")
    suggested = "15 minutes of your time – your experience in quality improvement"
    expect(subject).to_have_value(suggested)
    letter = page.get_by_role("region", name="What Dr Ada Okoro will receive")
    # The preview starts from the suggested subject rather than empty.
    expect(letter).to_contain_text(suggested)
    radio = page.get_by_role("radio").first.bounding_box()
    checkbox = page.get_by_role("checkbox").first.bounding_box()
    assert abs(radio["width"] - checkbox["width"]) < 1, (radio, checkbox)
    look_at(page, shots, "request-form")

    # At a desk the preview stays in view down to the last button.
    page.get_by_role("button", name="Preview the request").scroll_into_view_if_needed()
    box = letter.bounding_box()
    visible = min(box["y"] + box["height"], DESKTOP["height"]) - max(box["y"], 0)
    assert visible > DESKTOP["height"] / 2, f"the preview scrolled away: {box}"

    # On a phone the preview folds away above the form, and the subject is seen whole.
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    toggle = page.get_by_text("See what Dr Ada Okoro will receive")
    expect(toggle).to_be_visible()
    expect(letter.get_by_role("heading")).to_be_hidden()
    assert toggle.bounding_box()["y"] < subject.bounding_box()["y"]
    assert subject.evaluate("e => e.scrollHeight <= e.clientHeight + 1 && "
                            "e.scrollWidth <= e.clientWidth + 1"), "the subject is cut off"
    no_sideways_scroll(page)

    # Pasting more than the limit keeps every word and says what is over.
    page.set_viewport_size(DESKTOP)
    too_long = ("I want to lead quality improvement across a whole trust. " * 22).strip()
    assert len(too_long) > 1200
    aspiration = page.get_by_label("Where you want to be")
    aspiration.fill(too_long)
    expect(aspiration).to_have_value(too_long)
    expect(page.locator("#aspiration-count")).to_have_text(
        f"{len(too_long) - 1200} characters too many")
    page.get_by_label("Why this mentor in particular").fill(WHY_YOU)
    page.get_by_role("group", name="The purpose").get_by_label(
        "Professional and career development").check()
    page.get_by_role("group", name="What you would like help with").get_by_label(
        "Knowing how", exact=True).check()
    page.get_by_role("button", name="Preview the request").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_contain_text(["1200"])
    expect(page.get_by_label("Where you want to be")).to_have_value(too_long)
    look_at(page, shots, "request-form-error")

    page.get_by_label("Where you want to be").fill(ASPIRATION)
    page.get_by_role("button", name="Preview the request").click()
    expect(page.get_by_role("heading", level=1, name="Check your request")).to_be_visible()
    expect(page.get_by_role("heading", level=2,
                            name="Your request to Dr Ada Okoro")).to_be_visible()
    send = page.get_by_role("button", name="Send the request")
    change = page.get_by_role("button", name="Change it")
    assert background(send) != background(change), "Change it looks secondary"
    look_at(page, shots, "request-preview")


# Every main page, for each kind of person ---------------------------------------------------


def accept_request(live_server, request_id: int) -> int:
    from register.introductions.models import IntroRequest

    with live_server.app.test_request_context(method="POST"):
        found = db.session.get(IntroRequest, request_id)
        mentorship = introductions.accept(found, by=found.mentor, message="Tuesday at nine?")
        db.session.commit()
        return mentorship.id


def look_at_each(page, shots: Path, pages: list[tuple[str, str, str]]) -> None:
    """look_at() every (name, path, heading) and report every page that fails, not the first."""
    failures = []
    for name, path, heading in pages:
        page.goto(path)
        try:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
            look_at(page, shots, name)
        except AssertionError as problem:
            failures.append(f"{path}: {problem}")
            page.set_viewport_size(DESKTOP)
            page.watch.take()
    assert not failures, "\n".join(failures)


def test_every_main_page_for_a_visitor(page, live_server, make_user, shots):
    ada = make_user(email="ada@example.org", name="Ada Okoro")
    profile_id = publish(live_server, ada, display_name="Dr Ada Okoro")
    rebuild_index(live_server)
    look_at_each(page, shots, [
        ("profile", f"/mentors/{profile_id}", "Dr Ada Okoro"),
        ("login", "/auth/login", "Log in"),
        ("sign-up", "/auth/register", "Create an account"),
        ("forgot-password", "/auth/forgot-password", ""),
    ])


def test_every_main_page_for_a_mentor_and_a_mentee(open_page, live_server, make_user, shots):
    ada = make_user(email="ada@example.org", name="Ada Okoro")
    profile_id = publish(live_server, ada, display_name="Dr Ada Okoro")
    mia = make_user(email="mia@example.org", name="Mia Mentee")
    pending = send_request(live_server, mia, profile_id, "A first conversation about audits")
    accepted = send_request(live_server, make_user(email="sam@example.org", name="Sam Okafor"),
                            profile_id, "15 minutes on quality improvement")
    mentorship_id = accept_request(live_server, accepted)

    mentor = open_page()
    log_in(mentor, "ada@example.org")
    look_at_each(mentor, shots, [
        ("profile-editor", "/me/profile", "Your mentor profile"),
        ("mentor-request", f"/requests/{pending}", "A first conversation about audits"),
        ("mentorships", "/me/mentorships", ""),
        ("mentorship", f"/mentorships/{mentorship_id}", ""),
        ("mentoring-record", "/me/mentoring-record", ""),
        ("account", "/account", "Your account"),
    ])

    # The page the mentor's email links to, to decline without logging in. The requests were
    # written through the services, so their mail waits for the worker: send it as it would.
    from register.mail.outbox import drain

    with live_server.app.app_context():
        drain()
    received = live_server.email("ada@example.org", "Mentoring request from Mia Mentee")
    answer = open_page()
    # Drained outside a request, the link names no host: follow its path on the live server.
    answer.goto(urlsplit(link_in(received, f"/requests/{pending}/decline/")).path)
    look_at_each(answer, shots, [("answer-by-email", answer.url, "Decline Mia Mentee's request?")])
    decline = answer.get_by_role("button", name="Decline the request")
    assert background(decline) == "rgb(176, 0, 32)", "declining is shown as destructive"

    # A mentorship's status is a coloured tag, like a request's.
    mentor.goto("/me/mentorships")
    active = mentor.locator(".state").filter(has_text="Active").first
    assert background(active) == "rgb(215, 239, 222)", "active mentorships are tagged green"

    mentee = open_page()
    log_in(mentee, "sam@example.org")
    look_at_each(mentee, shots, [
        ("mentee-request", f"/requests/{accepted}", "15 minutes on quality improvement"),
        ("my-mentors", "/me/mentors", ""),
        ("suggested", "/mentors/suggested", ""),
        ("objectives", "/me/objectives", ""),
    ])


def test_every_main_page_for_a_coordinator(page, live_server, make_user, shots):
    make_user(email="cora@example.org", name="Cora Ordinator", admin=True)
    ada = make_user(email="ada@example.org", name="Ada Okoro")
    published = publish(live_server, ada, display_name="Dr Ada Okoro")
    ben = make_user(email="ben@example.org", name="Ben Submitted")
    publish(live_server, ben, display_name="Ben Submitted", state=MentorProfile.SUBMITTED)
    log_in(page, "cora@example.org")
    look_at_each(page, shots, [
        ("admin", "/admin/", "Administration"),
        ("admin-profiles", "/admin/profiles", "Profiles"),
        ("admin-profile", f"/admin/profiles/{published}", "Dr Ada Okoro"),
        ("admin-audit", "/admin/audit", "Audit log"),
        ("admin-moderation", "/admin/moderation", ""),
        ("admin-reports", "/admin/reports", ""),
        ("admin-matching", "/admin/matching", ""),
        ("admin-import", "/admin/import", "Import mentors"),
    ])
    page.goto(f"/admin/profiles/{published}")
    suspend = page.get_by_role("button", name="Yes, suspend it")
    expect(suspend).to_be_hidden()
    page.get_by_text("Suspend the profile").click()
    page.get_by_label("Reason, emailed to the mentor").fill("Reported twice for advertising.")
    assert background(suspend) == "rgb(176, 0, 32)"
    suspend.click()
    expect(page.get_by_role("status")).to_contain_text("Suspended")
    expect(page.locator(".summary .status-tag").first).to_have_text("Suspended")
