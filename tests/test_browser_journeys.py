"""The register's main journeys in a real browser: profiles, search and requests.

As in test_browser.py, the app is served as in production (mail goes out after
each response to a real SMTP server, the index follows each change), every page
a journey reaches is audited with axe-core and watched for console errors and
Content-Security-Policy refusals, and locators go by label and role. Data a
journey only needs to exist (other mentors, a request already waiting) is
written through the services, in the live server's own app.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.introductions import services as introductions
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.search.sync import rebuild
from tests.browser_support import audit, link_in
from tests.conftest import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips these tests, saying why
    expect = None

pytestmark = pytest.mark.browser

NEW_PASSWORD = "amber-thistle-quarry"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
BIO = ("Twenty years in critical care nursing, the last eight leading quality improvement "
       "across three hospitals. I can help you plan a first project and present it.")


# Helpers ---------------------------------------------------------------------------


def nav(page):
    return page.get_by_role("navigation", name="Main")


def expect_heading(page, name) -> None:
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def log_in(page, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/auth/login")
    audit(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()


def mark_page(page) -> None:
    """Set a flag on the window: it survives only if no new page is loaded."""
    page.evaluate("() => { window.stillTheSamePage = true; }")


def assert_same_page(page) -> None:
    assert page.evaluate("() => window.stillTheSamePage") is True, "a new page was loaded"


def tick(page, question: str, option: str) -> None:
    """Tick one option in the group of checkboxes or radio buttons that asks `question`."""
    page.get_by_role("group", name=question).get_by_label(option, exact=True).check()


def watch_dialogs(page) -> list[str]:
    """Record (and dismiss) every alert, confirm or prompt the page opens."""
    fired: list[str] = []

    def on_dialog(dialog):
        fired.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return fired


def assert_no_markup_ran(page) -> None:
    """The typed tags are text: no element was made of them."""
    expect(page.locator("main img, main script")).to_have_count(0)


def publish(live_server, account, *, minutes_ago: int = 1, **fields) -> int:
    """A published profile for `account`, written as the mentor would through the service."""
    values = dict(display_name=account.name, headline="Mentor", sector="other", bio=BIO,
                  expertise=["listening"], knowing=["why"], contexts=["career"],
                  formats=["video", "telephone"], kind="informal", capacity=2)
    values.update(fields)
    with live_server.app.test_request_context(method="POST"):
        user = db.session.get(User, account.id)
        profile = mentors.start_profile(user)
        mentors.update_profile(profile, mentors.ProfileData(**values), by=user)
        profile.state = MentorProfile.PUBLISHED
        profile.published_at = utcnow() - timedelta(minutes=minutes_ago)
        db.session.commit()
        return profile.id


def rebuild_index(live_server) -> None:
    with live_server.app.app_context():
        rebuild()


# Issue 3: profiles -------------------------------------------------------------------


def test_a_new_mentor_writes_a_profile_that_an_administrator_publishes(
        open_page, live_server, make_user):
    mentor = open_page()
    mentor.goto("/auth/register")
    audit(mentor)
    mentor.get_by_label("Full name").fill("Ada Okoro")
    mentor.get_by_label("Email address").fill("ada@example.org")
    mentor.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    mentor.get_by_role("button", name="Create account").click()
    expect_heading(mentor, "Check your email")
    audit(mentor)

    mentor.goto(link_in(live_server.email("ada@example.org", "Confirm your email"),
                        "/auth/verify/"))
    expect_heading(mentor, "Confirm your email address")
    audit(mentor)
    mentor.get_by_role("button", name="Confirm my email address").click()
    expect_heading(mentor, "Your account")
    audit(mentor)

    nav(mentor).get_by_role("link", name="Become a mentor").click()
    expect_heading(mentor, "Your mentor profile")
    preview = mentor.get_by_role("region", name="How mentees will see you")
    checklist = preview.get_by_role("list")
    expect(checklist.get_by_role("listitem")).to_have_count(8)  # the name is filled in
    audit(mentor)

    # The preview card follows what is typed, without loading a page.
    mark_page(mentor)
    card = preview.get_by_role("article")
    mentor.get_by_label("Your name as mentees will see it").fill("Dr Ada Okoro")
    expect(card.get_by_role("heading", name="Dr Ada Okoro")).to_be_visible()
    mentor.get_by_label("Current role").press_sequentially("Consultant nurse")
    expect(card).to_contain_text("Consultant nurse")
    expect(checklist.get_by_role("listitem")).to_have_count(7)
    mentor.get_by_label("Sector", exact=True).select_option(label="NHS")
    mentor.get_by_label("Your experience").fill(BIO)
    mentor.get_by_label("Areas of expertise").fill("quality improvement, Statistics")
    expect(card).to_contain_text("Expertise: quality improvement, statistics")
    tick(mentor, "Forms of knowing you can support", "Knowing how")
    tick(mentor, "Mentoring contexts", "Skills development")
    tick(mentor, "Kind of mentoring you offer", "Formal or informal")
    tick(mentor, "Ways you can meet", "Video call")
    mentor.get_by_label("How many mentees you can have at once").fill("3")
    expect(card).to_contain_text("Formal or informal mentoring")
    expect(card).to_contain_text("Knowing how")
    expect(preview.get_by_text("Everything needed is there.")).to_be_visible()
    expect(checklist).to_have_count(0)
    assert_same_page(mentor)
    audit(mentor)

    mentor.get_by_role("button", name="Save", exact=True).click()
    expect(mentor.get_by_role("status")).to_contain_text("Your profile has been saved.")
    expect(mentor.get_by_label("Current role")).to_have_value("Consultant nurse")
    audit(mentor)
    mentor.get_by_role("button", name="Submit for checking").click()
    expect(mentor.get_by_role("status")).to_contain_text("Your profile has been submitted.")
    expect(mentor.get_by_text("waiting for the coordinators")).to_be_visible()
    audit(mentor)

    make_user(email="coordinator@example.org", name="Cora Ordinator", admin=True)
    admin = open_page()
    log_in(admin, "coordinator@example.org")
    admin.goto("/admin/queue")
    expect_heading(admin, "Vetting queue")
    entry = admin.get_by_role("listitem").filter(
        has=admin.get_by_role("heading", name="Dr Ada Okoro"))
    expect(entry).to_contain_text("ada@example.org")
    audit(admin)
    entry.get_by_label("Message to Dr Ada Okoro").fill("Welcome to the register.")
    entry.get_by_role("button", name="Approve and publish").click()
    expect(admin.get_by_role("status")).to_contain_text("Dr Ada Okoro: Approved and published.")
    expect(admin.get_by_text("No profiles are waiting.")).to_be_visible()
    audit(admin)

    approved = live_server.email("ada@example.org", "now on the register")
    assert "Welcome to the register." in approved.text
    profile_url = link_in(approved, "/mentors/")
    assert re.search(r"/mentors/\d+$", profile_url), profile_url

    visitor = open_page()
    visitor.goto(profile_url)
    expect_heading(visitor, "Dr Ada Okoro")
    expect(visitor.get_by_text("Consultant nurse", exact=True)).to_be_visible()
    expect(visitor.get_by_role("region", name="Experience")).to_contain_text(BIO)
    expect(visitor.get_by_text("Up to 3", exact=True)).to_be_visible()
    expect(visitor.get_by_role("link", name="Ask for a conversation")).to_be_visible()
    expect(visitor.get_by_text("ada@example.org")).to_have_count(0)
    audit(visitor)


def test_markup_typed_into_a_profile_is_shown_as_text_everywhere(
        open_page, live_server, make_user):
    account = make_user(email="eve@example.org", name="Eve Example")
    bio = (f"I lead ventilation research {IMG} and coach junior staff on grants, audits and "
           "their first year in post.")
    profile_id = publish(live_server, account, display_name=f"Eve {SCRIPT}", headline=SCRIPT,
                         bio=bio, expertise=[IMG])
    rebuild_index(live_server)

    visitor = open_page()
    fired = watch_dialogs(visitor)
    visitor.goto(f"/mentors/{profile_id}")
    expect_heading(visitor, f"Eve {SCRIPT}")
    expect(visitor.get_by_text(SCRIPT, exact=True)).to_be_visible()  # the headline
    expect(visitor.get_by_role("region", name="Experience")).to_contain_text(IMG)
    expect(visitor.get_by_role("listitem").filter(has_text=IMG)).to_be_visible()
    assert_no_markup_ran(visitor)
    audit(visitor)

    # The search extract marks the word found, in text escaped by the search.
    visitor.goto("/mentors?q=ventilation")
    hit = visitor.get_by_role("article", name=f"Eve {SCRIPT}")
    expect(hit).to_contain_text(SCRIPT)
    expect(hit).to_contain_text(IMG)
    expect(hit.locator("mark")).to_have_text(["ventilation"])
    assert_no_markup_ran(visitor)
    audit(visitor)

    # The editor's live preview is swapped in by htmx.
    mentor = open_page()
    fired += watch_dialogs(mentor)
    log_in(mentor, "eve@example.org")
    mentor.goto("/me/profile")
    mark_page(mentor)
    mentor.get_by_label("Organisation").fill(IMG)
    preview = mentor.get_by_role("region", name="How mentees will see you")
    expect(preview.get_by_role("article")).to_contain_text(f"{SCRIPT}, {IMG}")
    assert_same_page(mentor)
    assert_no_markup_ran(mentor)
    audit(mentor)
    assert fired == [], f"a dialog opened: {fired}"


# Issue 4: search ----------------------------------------------------------------------

SEARCH_MENTORS = {
    "Priya Raman": dict(
        headline="Medical statistician", sector="academia",
        expertise=["statistics", "clinical trials"], knowing=["how"],
        bio="I have taught statistics to clinicians for fifteen years and run the analysis "
            "for several large randomised studies."),
    "Owen Price": dict(
        headline="Health economist", sector="government", expertise=["health economics"],
        knowing=["how", "whom"],
        bio="My work leans heavily on statistics, but my interest is how evidence reaches "
            "policy and how departments commission research."),
    "Zoë Whitfield": dict(
        headline="Quality improvement lead", sector="nhs", expertise=["quality improvement"],
        knowing=["how", "whom"],
        bio="I run improvement programmes across surgical wards and coach teams through "
            "plan-do-study-act cycles and board reports."),
    "Grace Adeyemi": dict(
        headline="Leadership coach", sector="industry", expertise=["leadership"],
        knowing=["why", "whom"],
        bio="I have mentored more than forty new managers through their first year in post, "
            "on influencing skills and hard conversations."),
}


def test_active_search_follows_the_url_and_survives_back(page, live_server, make_user):
    for age, (name, fields) in enumerate(SEARCH_MENTORS.items(), start=1):
        publish(live_server, make_user(name=name), minutes_ago=age, **fields)
    rebuild_index(live_server)

    page.goto("/mentors")
    expect_heading(page, "Find a mentor")
    hits = page.get_by_role("article").get_by_role("link")
    expect(hits).to_have_text(list(SEARCH_MENTORS))  # newest first
    audit(page)

    mark_page(page)
    search_box = page.get_by_label("Search by expertise, role, name or place")
    announced = page.get_by_role("status").filter(has_text="match")
    search_box.fill("statistics")
    expect(announced).to_have_text("2 mentors match “statistics”.")
    expect(hits).to_have_text(["Priya Raman", "Owen Price"])
    expect(page).to_have_url(re.compile(r"/mentors\?(.*&)?q=statistics(&|$)"))
    assert_same_page(page)
    audit(page)

    hits.first.click()
    expect_heading(page, "Priya Raman")
    audit(page)
    page.go_back()
    expect_heading(page, "Find a mentor")
    expect(page).to_have_url(re.compile(r"/mentors\?(.*&)?q=statistics(&|$)"))
    expect(search_box).to_have_value("statistics")
    expect(page.get_by_role("heading", name="2 mentors match “statistics”")).to_be_visible()
    expect(hits).to_have_text(["Priya Raman", "Owen Price"])
    audit(page)

    mark_page(page)
    knowing = page.get_by_role("group", name="Form of knowing")
    expect(knowing.get_by_label("Knowing whom (1)")).to_be_visible()
    knowing.get_by_label("Knowing whom (1)").check()
    expect(announced).to_have_text("1 mentor matches “statistics”.")
    expect(hits).to_have_text(["Owen Price"])
    expect(knowing.get_by_label("Knowing whom (1)")).to_be_checked()
    expect(page.get_by_role("group", name="Sector").get_by_label("Academia (0)")).to_be_visible()
    expect(page).to_have_url(re.compile(r"knowing=whom"))
    assert_same_page(page)
    audit(page)

    search_box.fill("astrophysics")
    expect(announced).to_have_text("No mentors match “astrophysics”.")
    expect(hits).to_have_count(0)
    # Removing the filter would find nobody either, so it is not offered; ways out are.
    expect(page.get_by_role("link", name="removing the filter “Knowing whom”")).to_have_count(0)
    expect(page.get_by_role("link", name="Browse every mentor taking requests")).to_be_visible()
    assert_same_page(page)
    audit(page)


# Issue 5: requests ---------------------------------------------------------------------

ASPIRATION = "In ten years I aspire to lead quality improvement across a whole trust."
WHY_YOU = "Your improvement programmes in three hospitals are the path I hope to follow."
AVAILABILITY = "Weekday mornings, or Thursday evenings after six."


def test_a_mentee_asks_and_the_mentor_accepts_from_the_email(open_page, live_server,
                                                             make_user):
    mentor_account = make_user(email="ada@example.org", name="Ada Okoro")
    profile_id = publish(live_server, mentor_account, display_name="Dr Ada Okoro",
                         headline="Consultant nurse", expertise=["quality improvement"])
    make_user(email="mia@example.org", name="Mia Mentee")

    mentee = open_page()
    log_in(mentee, "mia@example.org")
    mentee.goto(f"/mentors/{profile_id}")
    expect_heading(mentee, "Dr Ada Okoro")
    audit(mentee)
    mentee.get_by_role("link", name="Ask for a conversation").click()
    expect_heading(mentee, "Ask Dr Ada Okoro for a conversation")
    expect(mentee.get_by_label("Subject line")).to_have_value(
        "15 minutes of your time – your experience in quality improvement")
    audit(mentee)

    mark_page(mentee)
    letter = mentee.get_by_role("region", name="What Dr Ada Okoro will receive")
    mentee.get_by_label("Where you want to be").fill(ASPIRATION)
    expect(letter).to_contain_text(ASPIRATION)
    # The limit is shown as the mentee types.
    expect(mentee.locator("#aspiration-count")).to_have_text(
        f"{1200 - len(ASPIRATION)} of 1200 characters left")
    mentee.get_by_label("Why this mentor in particular").fill(WHY_YOU)
    tick(mentee, "The purpose", "Professional and career development")
    tick(mentee, "What you would like help with", "Knowing how")
    mentee.get_by_label("When you are available").fill(AVAILABILITY)
    expect(letter).to_contain_text(WHY_YOU)
    expect(letter).to_contain_text("Purpose: Professional and career development")
    expect(letter).to_contain_text(AVAILABILITY)
    expect(letter).not_to_contain_text("Still to do")
    assert_same_page(mentee)
    audit(mentee)

    mentee.get_by_role("button", name="Preview the request").click()
    expect_heading(mentee, "Check your request")
    expect(mentee.get_by_text(ASPIRATION)).to_be_visible()
    expect(mentee.get_by_text("Ways to meet: Telephone, Video call")).to_be_visible()
    audit(mentee)
    mentee.get_by_role("button", name="Send the request").click()
    expect(mentee).to_have_url(re.compile(r"/requests/\d+$"))
    expect(mentee.get_by_role("status")).to_contain_text(
        "Your request has been sent to Dr Ada Okoro.")
    expect(mentee.get_by_text("Waiting for an answer")).to_be_visible()
    expect(mentee.get_by_text("ada@example.org")).to_have_count(0)
    audit(mentee)
    request_id = int(mentee.url.rsplit("/", 1)[1])

    received = live_server.email("ada@example.org", "Mentoring request from Mia Mentee")
    assert ASPIRATION in received.text and "mia@example.org" not in received.text
    answerer = open_page()  # the mentor, not logged in, from their email
    answerer.goto(link_in(received, f"/requests/{request_id}/accept/"))
    expect_heading(answerer, "Accept Mia Mentee's request?")
    expect(answerer.get_by_text(WHY_YOU)).to_be_visible()
    audit(answerer)
    answerer.get_by_label("A message to the mentee (optional)").fill("Tuesday at nine?")
    answerer.get_by_role("button", name="Accept the request").click()
    expect_heading(answerer, "Request accepted")
    expect(answerer.get_by_role("link", name="mia@example.org")).to_be_visible()
    audit(answerer)

    mentee.reload()
    expect(mentee.get_by_text("Accepted", exact=True)).to_be_visible()
    contact = mentee.get_by_role("region", name="Contact details")
    expect(contact.get_by_role("link", name="ada@example.org")).to_be_visible()
    expect(mentee.get_by_text("Tuesday at nine?")).to_be_visible()
    audit(mentee)
    accepted = live_server.email("mia@example.org", "Dr Ada Okoro accepted your request")
    assert "ada@example.org" in accepted.text


def test_a_mentor_declines_from_the_inbox_in_place(page, live_server, make_user):
    mentor_account = make_user(email="ada@example.org", name="Ada Okoro")
    profile_id = publish(live_server, mentor_account, display_name="Dr Ada Okoro")
    mentee_account = make_user(email="mia@example.org", name="Mia Mentee")
    subject = "15 minutes of your time – your experience in listening"
    with live_server.app.test_request_context(method="POST"):
        introductions.send(
            db.session.get(User, mentee_account.id), db.session.get(MentorProfile, profile_id),
            introductions.Draft(subject=subject, aspiration=ASPIRATION, why_you=WHY_YOU,
                                contexts=["career"], knowing=["how"], formats=["video"]))
        db.session.commit()

    log_in(page, "ada@example.org")
    nav(page).get_by_role("link", name="Requests").click()
    expect_heading(page, "Your requests")
    card = page.get_by_role("article", name=subject)
    expect(card).to_contain_text("From Mia Mentee")
    expect(card).to_contain_text("Waiting for an answer")
    audit(page)

    mark_page(page)
    address = page.url
    # Declining asks for its reason only once the mentor has chosen to decline.
    expect(card.get_by_label("Reason for declining")).to_be_hidden()
    card.get_by_text("Decline this request").click()
    card.get_by_label("Reason for declining").select_option(label="I am at capacity just now")
    card.get_by_label("Message (optional)").fill("Try again in the spring.")
    card.get_by_role("button", name="Decline").click()
    expect(card).to_contain_text("Declined")
    expect(card.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("You declined Mia Mentee's request.")
    assert_same_page(page)
    assert page.url == address
    audit(page)

    declined = live_server.email("mia@example.org", "About your request to Dr Ada Okoro")
    assert "The reason they gave: I am at capacity just now." in declined.text
    assert "Try again in the spring." in declined.text
