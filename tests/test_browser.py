"""Whole journeys in a real browser, against the app served as in production.

Each page a journey reaches is audited with axe-core (no serious or critical
problem) and watched for console errors, so the strict Content-Security-Policy
is shown to hold with htmx at work. Locators go by label and role, the way
assistive technology finds things, so a missing label fails here too.
"""

from __future__ import annotations

import re

import pytest

from tests.browser_support import CSP_WORDS, assert_quiet, audit, link_in
from tests.conftest import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips these tests, saying why
    expect = None

pytestmark = pytest.mark.browser

NEW_PASSWORD = "amber-thistle-quarry"


def nav(page):
    """The site's main navigation, found by its accessible name."""
    return page.get_by_role("navigation", name="Main")


def expect_heading(page, name: str) -> None:
    """Wait until the page's main heading says `name`."""
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def log_in(page, email: str, password: str) -> None:
    """Open the login page, check it, and send the form."""
    page.goto("/auth/login")
    audit(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page) -> None:
    """Log out with the button in the navigation, and see the result."""
    nav(page).get_by_role("button", name="Log out").click()
    expect_heading(page, "Find a mentor who fits what you want to grow")
    expect(page.get_by_role("status")).to_contain_text("You have logged out.")
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()


def test_sign_up_confirm_the_address_log_out_and_in_again(page, live_server):
    page.goto("/")
    audit(page)
    page.get_by_role("link", name="Create an account").click()
    expect_heading(page, "Create an account")
    audit(page)

    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email address").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect_heading(page, "Check your email")
    expect(page.get_by_text("grace@example.org")).to_be_visible()
    audit(page)

    email = live_server.email("grace@example.org", "Confirm your email address")
    page.goto(link_in(email, "/auth/verify/"))
    expect_heading(page, "Confirm your email address")
    audit(page)
    page.get_by_role("button", name="Confirm my email address").click()

    expect(page).to_have_url(re.compile(r"/account$"))
    expect_heading(page, "Your account")
    expect(page.get_by_role("status")).to_contain_text("your email address is confirmed")
    expect(page.get_by_text("confirmed", exact=True)).to_be_visible()
    expect(nav(page).get_by_role("link", name="Grace Hopper")).to_be_visible()
    audit(page)

    log_out(page)
    audit(page)

    log_in(page, "grace@example.org", NEW_PASSWORD)
    expect(nav(page).get_by_role("link", name="Grace Hopper")).to_be_visible()
    expect(nav(page).get_by_role("button", name="Log out")).to_be_visible()
    audit(page)


def test_forgotten_password_is_replaced_through_the_emailed_link(page, live_server, make_user):
    make_user(email="ada@example.org", name="Ada Lovelace")

    page.goto("/auth/login")
    audit(page)
    page.get_by_role("link", name="Forgotten your password?").click()
    expect_heading(page, "Reset your password")
    audit(page)
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("button", name="Send the link").click()
    expect_heading(page, "Check your email")
    audit(page)

    email = live_server.email("ada@example.org", "Reset your Mentor Register password")
    page.goto(link_in(email, "/auth/reset-password/"))
    expect_heading(page, "Choose a new password")
    audit(page)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()

    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("status")).to_contain_text(
        "Your password has been changed and you are logged in.")
    expect(nav(page).get_by_role("link", name="Ada Lovelace")).to_be_visible()
    audit(page)
    live_server.email("ada@example.org", "password was changed")

    log_out(page)
    audit(page)

    log_in(page, "ada@example.org", TEST_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("The email address or password is not right")
    expect(nav(page).get_by_role("link", name="Log in")).to_be_visible()
    audit(page)

    log_in(page, "ada@example.org", NEW_PASSWORD)
    expect(nav(page).get_by_role("link", name="Ada Lovelace")).to_be_visible()
    audit(page)


def test_sign_up_form_checks_fields_as_they_are_typed(page):
    page.goto("/auth/register")
    audit(page)
    # Anything set on the window survives only if no new page is loaded.
    page.evaluate("() => { window.stillTheSamePage = true; }")
    email = page.get_by_label("Email address")
    password = page.get_by_label("Password", exact=True)
    email_error, password_error = page.locator("#email-error"), page.locator("#password-error")

    with page.expect_request(lambda r: r.url.endswith("/auth/register/validate/password")) as sent:
        password.press_sequentially("short")
    assert sent.value.headers.get("hx-request") == "true"
    expect(password_error).to_have_text("Error: Use at least 10 characters.")
    expect(password).to_have_attribute("aria-invalid", "true")
    audit(page)

    email.press_sequentially("grace@")
    email.blur()
    expect(email_error).to_have_text("Error: Enter an email address like name@example.org.")
    audit(page)

    email.press_sequentially("example.org")
    password.press_sequentially("-enough-by-far")
    expect(email_error).to_have_text("")
    expect(password_error).to_have_text("")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(password).not_to_have_attribute("aria-invalid", "true")
    assert page.evaluate("() => window.stillTheSamePage") is True
    audit(page)


def test_first_tab_reaches_the_skip_link_which_shows_and_works(page):
    page.goto("/")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.bounding_box()["y"] < 0, "the skip link should be off screen until focused"

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["height"] > 0, f"the focused skip link is off screen: {box}"
    audit(page)

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    audit(page)


def test_signing_up_works_with_javascript_off(open_page, live_server):
    page = open_page(java_script_enabled=False)
    page.goto("/auth/register")
    expect_heading(page, "Create an account")
    audit(page)

    # Without inline validation, the server's answer shows what to fix.
    page.get_by_label("Full name").fill("Katherine Johnson")
    page.get_by_label("Email address").fill("katherine@example.org")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_role("alert")).to_contain_text("Use at least 10 characters.")
    expect(page.locator("#password-error")).to_have_text("Error: Use at least 10 characters.")
    audit(page)

    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect_heading(page, "Check your email")
    expect(page.get_by_text("katherine@example.org")).to_be_visible()
    audit(page)
    live_server.email("katherine@example.org", "Confirm your email address")


def test_the_policy_refuses_inline_script_and_the_watch_reports_it(page):
    """The console watch is what proves the policy holds; show that it sees a refusal."""
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    audit(page)
    with page.expect_console_message(lambda message: CSP_WORDS.search(message.text)):
        page.evaluate("""() => {
            const script = document.createElement('script');
            script.textContent = 'window.inlineRan = true';
            document.body.append(script);
        }""")
    assert page.evaluate("() => window.inlineRan") is None
    with pytest.raises(AssertionError, match="CSP violation"):
        assert_quiet(page)


def test_the_audit_finds_a_field_without_a_label(page):
    """axe-core really runs under the page's policy: a field stripped of its label fails."""
    page.goto("/auth/login")
    audit(page)
    page.evaluate("() => document.querySelector('label[for=email]').remove()")
    with pytest.raises(AssertionError, match=r"\[critical\] label"):
        audit(page)
