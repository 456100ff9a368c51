"""Accounts: signing up, verifying, logging in and out, resetting and changing things."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from register.auth import services, tokens
from register.auth.models import EmailToken, LoginAttempt, User
from register.database import utcnow
from register.extensions import db
from register.mail.models import OutboxMessage
from tests.conftest import TEST_PASSWORD, reload

NEW_PASSWORD = "quartz-meadow-trumpet"

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def find(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def sign_up(browser, name="Ada Okoro", email="ada@example.org", password=TEST_PASSWORD):
    return browser.post("/auth/register", {"name": name, "email": email, "password": password})


# Signing up ------------------------------------------------------------------


def test_sign_up_creates_an_unverified_account_and_emails_a_link(app, browser, mailbox):
    response = sign_up(browser, email="  Ada@Example.ORG ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/check-email"
    user = find(app, "ada@example.org")
    assert user is not None and not user.verified
    assert user.password_hash.startswith("$argon2id$")
    email = mailbox.last_to("ada@example.org")
    assert "Confirm your email address" in email.subject
    assert "/auth/verify/" in email.text and "48 hours" in email.text
    assert "/auth/verify/" in email.html


def test_sign_up_refuses_a_common_password_next_to_the_field(app, browser):
    response = sign_up(browser, password="password123")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "most common passwords" in html
    assert 'id="password-error"' in html and 'aria-invalid="true"' in html
    assert 'value="Ada Okoro"' in html  # what was typed is kept
    assert find(app, "ada@example.org") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 10 characters"), ("x" * 129, "at most 128 characters")],
)
def test_sign_up_enforces_password_length(app, browser, password, message):
    response = sign_up(browser, password=password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert find(app, "ada@example.org") is None


def test_sign_up_with_a_known_address_looks_the_same_but_tells_the_owner(
    app, browser, make_user, mailbox
):
    make_user("known@example.org", name="Known Person")
    response = sign_up(browser, email="known@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/check-email"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    email = mailbox.last_to("known@example.org")
    assert "already have" in email.subject
    assert "/auth/forgot-password" in email.text


def test_inline_validation_checks_shape_without_revealing_accounts(app, browser, make_user):
    make_user("taken@example.org")
    token = browser.csrf_token()
    headers = {"HX-Request": "true", "X-CSRFToken": token}

    def check(field, **data):
        response = browser.client.post(
            f"/auth/register/validate/{field}", data=data, headers=headers
        )
        assert response.status_code == 200
        assert "HX-Request" in response.headers["Vary"]
        return response.get_data(as_text=True)

    assert "email address like" in check("email", email="not-an-email")
    assert check("email", email="taken@example.org") == check("email", email="free@example.org")
    assert check("email", email="free@example.org").strip() == ""
    assert "at least 10 characters" in check("password", password="short")
    assert "most common" in check("password", password="qwertyuiop")
    assert check("password", password="violet-harbour-lantern").strip() == ""


def test_inline_validation_needs_the_csrf_token(browser):
    response = browser.client.post("/auth/register/validate/email", data={"email": "a@b.org"})
    assert response.status_code == 400


# Verifying -------------------------------------------------------------------


def test_verification_link_confirms_logs_in_and_works_once(app, browser, mailbox):
    sign_up(browser)
    link = path_of(mailbox.link_to("ada@example.org", "/auth/verify/"))
    page = browser.get(link)
    assert page.status_code == 200
    assert "Confirm my email address" in page.get_data(as_text=True)
    assert not find(app, "ada@example.org").verified  # a GET (a mail scanner) changes nothing
    response = browser.post(link)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert find(app, "ada@example.org").verified
    account = browser.get("/account").get_data(as_text=True)
    assert "confirmed" in account and "Ada Okoro" in account
    again = browser.post(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_verification_link_expires_after_48_hours(app, browser, mailbox):
    sign_up(browser)
    link = path_of(mailbox.link_to("ada@example.org", "/auth/verify/"))
    with app.app_context():
        token = db.session.scalar(select(EmailToken))
        assert timedelta(hours=47) < token.expires_at - token.created_at <= timedelta(hours=48)
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = browser.post(link)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert not find(app, "ada@example.org").verified


def test_tampered_verification_link_is_refused(browser, mailbox):
    sign_up(browser)
    link = path_of(mailbox.link_to("ada@example.org", "/auth/verify/"))
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    response = browser.get(forged)
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_resending_verification_voids_the_earlier_link(app, browser, mailbox):
    sign_up(browser)
    first = path_of(mailbox.link_to("ada@example.org", "/auth/verify/"))
    browser.log_in("ada@example.org")
    response = browser.post("/auth/verify/resend")
    assert response.status_code == 302
    second = path_of(mailbox.link_to("ada@example.org", "/auth/verify/"))
    assert first != second
    assert browser.post(first).status_code == 400
    assert browser.post(second).status_code == 302
    assert find(app, "ada@example.org").verified


def test_unverified_accounts_can_log_in_but_are_marked_unverified(app, browser, make_user):
    make_user("new@example.org", verified=False)
    assert browser.log_in("new@example.org").status_code == 302
    page = browser.get("/account").get_data(as_text=True)
    assert "not confirmed yet" in page and "Send me a new link" in page


# Logging in and out ---------------------------------------------------------


def test_login_and_logout(app, browser, make_user):
    make_user("mentee@example.org", name="Morgan Mentee")
    response = browser.log_in("Mentee@Example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Morgan Mentee" in browser.get("/").get_data(as_text=True)
    assert browser.log_out().status_code == 302
    assert browser.get("/account").status_code == 302  # back to the login page


def test_wrong_password_gives_one_message_for_both_cases(app, browser, make_user):
    make_user("mentee@example.org")
    wrong_password = browser.log_in("mentee@example.org", "not-the-password")
    unknown_email = browser.log_in("nobody@example.org", "not-the-password")
    assert wrong_password.status_code == unknown_email.status_code == 422
    assert services.WRONG_CREDENTIALS in wrong_password.get_data(as_text=True)
    assert services.WRONG_CREDENTIALS in unknown_email.get_data(as_text=True)


def test_login_renews_the_session(app, browser, make_user):
    make_user("mentee@example.org")
    before = browser.csrf_token()
    browser.log_in("mentee@example.org")
    assert browser.csrf_token() != before  # nothing from before login carries over


def test_remember_me_cookie_is_httponly_and_lax(app, browser, make_user):
    make_user("mentee@example.org")
    response = browser.log_in("mentee@example.org", remember="y")
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("remember_token="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development; https sets Secure


def test_next_after_login_stays_on_the_site(app, browser, make_user):
    make_user("mentee@example.org")
    for target, expected in [
        ("/account", "/account"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        response = browser.log_in("mentee@example.org", next=target)
        assert response.headers["Location"] == expected, target
        browser.log_out()


def test_logout_by_get_only_asks(app, browser, make_user):
    make_user("mentee@example.org")
    browser.log_in("mentee@example.org")
    page = browser.get("/auth/logout")
    assert page.status_code == 200 and "Log out of Mentor Register" in page.get_data(as_text=True)
    assert browser.get("/account").status_code == 200  # still logged in


# Throttling ------------------------------------------------------------------


def test_login_throttles_an_account_after_repeated_failures(app, browser, make_user):
    make_user("mentee@example.org")
    limit = app.config["LOGIN_MAX_FAILURES_PER_PAIR"]
    for _ in range(limit):
        assert browser.log_in("mentee@example.org", "wrong-password-x").status_code == 422
    blocked = browser.log_in("mentee@example.org")  # even the right password waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many unsuccessful attempts" in blocked.get_data(as_text=True)


def test_throttle_is_shared_through_the_database(app, make_user):
    """Failures recorded by one worker process count in another: they live in the database."""
    make_user("mentee@example.org")
    limit = app.config["LOGIN_MAX_FAILURES_PER_PAIR"]
    first, second = app.test_client(), app.test_client()
    from tests.conftest import Browser

    for index in range(limit):
        client = Browser(first if index % 2 else second)
        client.log_in("mentee@example.org", "wrong-password-x")
    assert Browser(app.test_client()).log_in("mentee@example.org").status_code == 429


def test_throttle_per_address_covers_many_accounts(app, browser, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    for number in range(4):
        browser.log_in(f"guess{number}@example.org", "wrong-password-x")
    make_user("mentee@example.org")
    assert browser.log_in("mentee@example.org").status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 4


def test_throttle_lifts_when_the_window_passes(app, browser, make_user):
    make_user("mentee@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_PAIR"]):
        browser.log_in("mentee@example.org", "wrong-password-x")
    with app.app_context():
        for attempt in db.session.scalars(select(LoginAttempt)):
            attempt.created_at = utcnow() - timedelta(minutes=16)
        db.session.commit()
    assert browser.log_in("mentee@example.org").status_code == 302


def test_successful_login_clears_the_account_failures(app, browser, make_user):
    make_user("mentee@example.org")
    browser.log_in("mentee@example.org", "wrong-password-x")
    browser.log_in("mentee@example.org")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


# Password reset --------------------------------------------------------------


def test_password_reset_by_email(app, browser, make_user, mailbox):
    make_user("mentee@example.org")
    page = browser.post("/auth/forgot-password", {"email": "mentee@example.org"})
    assert "If <strong>mentee@example.org</strong> belongs to an account" in page.get_data(
        as_text=True
    )
    link = path_of(mailbox.link_to("mentee@example.org", "/auth/reset-password/"))
    response = browser.post(link, {"password": NEW_PASSWORD})
    assert response.status_code == 302
    browser.log_out()
    assert browser.log_in("mentee@example.org").status_code == 422
    assert browser.log_in("mentee@example.org", NEW_PASSWORD).status_code == 302
    notice = mailbox.last_to("mentee@example.org")
    assert "password was changed" in notice.subject


def test_forgot_password_answers_the_same_for_unknown_addresses(app, browser, make_user, mailbox):
    make_user("mentee@example.org")
    known = browser.post("/auth/forgot-password", {"email": "mentee@example.org"})
    unknown = browser.post("/auth/forgot-password", {"email": "stranger@example.org"})
    assert known.status_code == unknown.status_code == 200
    # Each page carries a CSRF token signed with the second it was made in: the two pages
    # differ there whenever the requests straddle a second, so only that is masked.
    assert as_seen(known, "mentee@example.org") == as_seen(unknown, "stranger@example.org")
    assert "ADDRESS" in as_seen(known, "mentee@example.org")  # the address typed, shown back
    mailbox.deliver()
    assert mailbox.to("stranger@example.org") == []


def test_reset_link_is_single_use_and_expires_in_an_hour(app, browser, make_user, mailbox):
    make_user("mentee@example.org")
    browser.post("/auth/forgot-password", {"email": "mentee@example.org"})
    link = path_of(mailbox.link_to("mentee@example.org", "/auth/reset-password/"))
    with app.app_context():
        token = db.session.scalar(select(EmailToken))
        assert token.expires_at - token.created_at == timedelta(hours=1)
    assert browser.post(link, {"password": NEW_PASSWORD}).status_code == 302
    reused = browser.post(link, {"password": "another-fine-passphrase"})
    assert reused.status_code == 400 and "already been used" in reused.get_data(as_text=True)


def test_expired_reset_link_is_refused(app, browser, make_user, mailbox):
    make_user("mentee@example.org")
    browser.post("/auth/forgot-password", {"email": "mentee@example.org"})
    link = path_of(mailbox.link_to("mentee@example.org", "/auth/reset-password/"))
    with app.app_context():
        db.session.scalar(select(EmailToken)).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = browser.get(link)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_reset_link_is_void_once_the_password_changes(app, browser, make_user, mailbox):
    make_user("mentee@example.org")
    browser.post("/auth/forgot-password", {"email": "mentee@example.org"})
    link = path_of(mailbox.link_to("mentee@example.org", "/auth/reset-password/"))
    browser.log_in("mentee@example.org")
    browser.post("/account/password",
                 {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    browser.log_out()
    response = browser.get(link)
    assert response.status_code == 400


def test_weak_new_password_is_refused_on_reset_and_the_link_still_works(
    app, browser, make_user, mailbox
):
    make_user("mentee@example.org")
    browser.post("/auth/forgot-password", {"email": "mentee@example.org"})
    link = path_of(mailbox.link_to("mentee@example.org", "/auth/reset-password/"))
    weak = browser.post(link, {"password": "1234567890"})
    assert weak.status_code == 422 and "most common" in weak.get_data(as_text=True)
    assert browser.post(link, {"password": NEW_PASSWORD}).status_code == 302


# Changing password and email -------------------------------------------------


def test_changing_password_ends_other_sessions_and_remember_cookies(app, make_user):
    from tests.conftest import Browser

    make_user("mentee@example.org")
    laptop, phone = Browser(app.test_client()), Browser(app.test_client())
    laptop.log_in("mentee@example.org")
    phone.log_in("mentee@example.org", remember="y")
    remembered = phone.client.get_cookie("remember_token").value
    response = laptop.post("/account/password",
                           {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200  # this session carries on
    assert phone.get("/account").status_code == 302  # the other one is logged out
    fresh = Browser(app.test_client())
    fresh.client.set_cookie("remember_token", remembered)
    assert fresh.get("/account").status_code == 302  # and its remember-me cookie is dead


def test_change_password_needs_the_current_one(app, browser, make_user):
    make_user("mentee@example.org")
    browser.log_in("mentee@example.org")
    response = browser.post("/account/password",
                            {"current_password": "not-it-at-all", "password": NEW_PASSWORD})
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def test_change_email_verifies_the_new_address(app, browser, make_user, mailbox):
    user = make_user("old@example.org")
    browser.log_in("old@example.org")
    response = browser.post("/account/email",
                            {"email": "new@example.org", "current_password": TEST_PASSWORD})
    assert response.status_code == 302
    assert reload(app, User, user.id).email == "old@example.org"  # not until confirmed
    link = path_of(mailbox.link_to("new@example.org", "/account/email/confirm/"))
    assert browser.post(link).status_code == 302
    assert reload(app, User, user.id).email == "new@example.org"
    assert "was changed" in mailbox.last_to("old@example.org").subject
    browser.log_out()
    assert browser.log_in("new@example.org").status_code == 302


def test_change_email_asks_for_the_password(app, browser, make_user, mailbox):
    make_user("old@example.org")
    browser.log_in("old@example.org")
    response = browser.post("/account/email",
                            {"email": "new@example.org", "current_password": "wrong-password"})
    assert response.status_code == 422
    mailbox.deliver()
    assert mailbox.to("new@example.org") == []


def test_change_email_to_a_taken_address_reveals_nothing_and_changes_nothing(
    app, browser, make_user, mailbox
):
    user = make_user("old@example.org")
    make_user("taken@example.org")
    browser.log_in("old@example.org")
    response = browser.post("/account/email",
                            {"email": "taken@example.org", "current_password": TEST_PASSWORD})
    assert response.status_code == 302  # same answer as for a free address
    mailbox.deliver()
    assert mailbox.to("taken@example.org") == []
    assert reload(app, User, user.id).email == "old@example.org"


# Deleting the account ---------------------------------------------------------


def test_delete_account_removes_personal_data_and_keeps_an_anonymous_row(
    app, browser, make_user
):
    user = make_user("leaving@example.org", name="Lee Leaving")
    browser.log_in("leaving@example.org")
    browser.post("/auth/forgot-password", {"email": "leaving@example.org"})  # mail + token
    response = browser.post("/account/delete", {"password": TEST_PASSWORD})
    assert response.status_code == 302
    row = reload(app, User, user.id)
    assert row is not None and row.deleted_at is not None
    assert "leaving" not in row.email and row.name == "Deleted account"
    assert row.password_hash is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EmailToken)) == 0
        assert db.session.scalar(
            select(func.count()).where(OutboxMessage.recipient == "leaving@example.org")
        ) == 0
    assert browser.get("/account").status_code == 302  # logged out
    assert browser.log_in("leaving@example.org").status_code == 422


def test_delete_account_needs_the_password(app, browser, make_user):
    user = make_user("staying@example.org")
    browser.log_in("staying@example.org")
    response = browser.post("/account/delete", {"password": "wrong-password"})
    assert response.status_code == 422
    assert reload(app, User, user.id).deleted_at is None


# Services, directly -------------------------------------------------------------


def test_token_for_one_purpose_is_refused_for_another(app, make_user):
    user = make_user()
    with app.app_context():
        person = db.session.get(User, user.id)
        signed = tokens.issue(person, tokens.VERIFY_EMAIL)
        db.session.commit()
        with pytest.raises(tokens.TokenError):
            tokens.peek(signed, tokens.RESET_PASSWORD)
        assert tokens.peek(signed, tokens.VERIFY_EMAIL).user_id == user.id


def test_create_admin_promotes_or_creates(app, make_user):
    user = make_user("lead@example.org")
    with app.app_context():
        promoted, created = services.create_admin("LEAD@example.org")
        assert not created and promoted.id == user.id and promoted.is_admin
        new, created = services.create_admin("new-admin@example.org", password=NEW_PASSWORD)
        assert created and new.is_admin and new.verified
        with pytest.raises(services.AuthError):
            services.create_admin("third@example.org", password="password")
        db.session.commit()


def as_seen(response, address: str) -> str:
    """A page as the person sees it: per-request tokens masked, and `address` as ADDRESS."""
    page = response.get_data(as_text=True).replace(address, "ADDRESS")
    page = re.sub(r'(name="csrf-token" content=")[^"]*"', r'\1TOKEN"', page)
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1TOKEN"', page)
