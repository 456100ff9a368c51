"""Security hardening (issue 10, items 1-8): each test is an attack that used to work."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from register.auth.models import LoginSession, User
from register.database import utcnow
from register.extensions import db
from tests.conftest import TEST_PASSWORD, Browser, reload

NEW_PASSWORD = "quartz-meadow-trumpet"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sessions_of(app, user_id) -> list[LoginSession]:
    with app.app_context():
        found = list(db.session.scalars(
            select(LoginSession).where(LoginSession.user_id == user_id)
            .order_by(LoginSession.id)))
        for row in found:
            db.session.expunge(row)
        return found


def age_sessions(app, user_id, **shift):
    """Pretend the sessions of `user_id` started, and were last used, `shift` ago."""
    with app.app_context():
        for row in db.session.scalars(select(LoginSession).where(
                LoginSession.user_id == user_id)):
            row.created_at -= timedelta(**shift)
            row.last_seen_at -= timedelta(**shift)
            row.expires_at -= timedelta(**shift)
        db.session.commit()


# 1. An email change does not survive a password change -----------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_password_change_voids_a_pending_email_change(app, browser, make_user, mailbox):
    victim = make_user("victim@example.org")
    intruder = Browser(app.test_client())
    intruder.log_in("victim@example.org")
    intruder.post("/account/email",
                  {"email": "intruder@example.org", "current_password": TEST_PASSWORD})
    link = path_of(mailbox.link_to("intruder@example.org", "/account/email/confirm/"))

    browser.log_in("victim@example.org")
    response = browser.post("/account/password",
                            {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert response.status_code == 302

    answer = intruder.post(link)
    assert answer.status_code == 400
    assert reload(app, User, victim.id).email == "victim@example.org"
    assert intruder.get("/account").status_code == 302  # and the intruder is logged out


def test_a_password_change_voids_an_outstanding_verification_link(app, browser, mailbox):
    browser.post("/auth/register", {"name": "Ada Okoro", "email": "ada@example.org",
                                    "password": TEST_PASSWORD})
    link = path_of(mailbox.link_to("ada@example.org", "/auth/verify/"))
    browser.log_in("ada@example.org")
    browser.post("/account/password",
                 {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert browser.post(link).status_code == 400


def test_the_address_in_use_hears_of_a_change_and_can_stop_it(app, browser, make_user,
                                                               mailbox):
    owner = make_user("owner@example.org")
    intruder = Browser(app.test_client())
    intruder.log_in("owner@example.org")
    intruder.post("/account/email",
                  {"email": "intruder@example.org", "current_password": TEST_PASSWORD})

    warning = mailbox.last_to("owner@example.org")
    assert "asked to change" in warning.subject
    assert "intruder@example.org" in warning.text
    cancel = path_of(mailbox.link_to("owner@example.org", "/account/email/cancel/"))
    confirm = path_of(mailbox.link_to("intruder@example.org", "/account/email/confirm/"))

    page = browser.get(cancel)
    assert page.status_code == 200 and "Stop the change" in page.get_data(as_text=True)
    stopped = browser.post(cancel)
    assert stopped.status_code == 302
    assert browser.get(stopped.headers["Location"]).status_code == 200

    assert intruder.post(confirm).status_code == 400
    assert reload(app, User, owner.id).email == "owner@example.org"
    assert intruder.get("/account").status_code == 302  # every session ended
    assert browser.post(cancel).status_code == 400  # the link works once


def test_stopping_a_change_that_already_went_through_says_so(app, browser, make_user,
                                                              mailbox):
    owner = make_user("owner@example.org")
    intruder = Browser(app.test_client())
    intruder.log_in("owner@example.org")
    intruder.post("/account/email",
                  {"email": "intruder@example.org", "current_password": TEST_PASSWORD})
    cancel = path_of(mailbox.link_to("owner@example.org", "/account/email/cancel/"))
    intruder.post(path_of(mailbox.link_to("intruder@example.org", "/account/email/confirm/")))
    assert reload(app, User, owner.id).email == "intruder@example.org"

    late = browser.post(cancel)
    assert late.status_code == 409
    assert "had already changed" in late.get_data(as_text=True)
    assert intruder.get("/account").status_code == 302  # the intruder is out all the same


# 2. Sessions end on the server ------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, browser, make_user):
    make_user("mentee@example.org")
    browser.log_in("mentee@example.org")
    copied = browser.client.get_cookie("session").value
    browser.log_out()

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account").status_code == 302


def test_logging_in_again_ends_the_browsers_earlier_session(app, browser, make_user):
    make_user("first@example.org")
    make_user("second@example.org")
    browser.log_in("first@example.org")
    copied = browser.client.get_cookie("session").value
    browser.log_in("second@example.org")  # a shared computer, the next person

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account").status_code == 302
    assert "second@example.org" in browser.get("/account").get_data(as_text=True)


def test_search_answers_a_logged_in_person_while_the_database_is_away(app, app_config,
                                                                       browser, make_user,
                                                                       runner, tmp_path):
    from register import create_app

    make_user("mentee@example.org")
    browser.log_in("mentee@example.org")
    assert runner.invoke(args=["search", "rebuild", "--processes", "1"]).exit_code == 0
    away = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/gone/db.sqlite3"})
    client = away.test_client()
    client.set_cookie("session", browser.client.get_cookie("session").value)
    # Who is logged in cannot be checked, so the page is a visitor's, not an error.
    assert client.get("/mentors?q=leadership").status_code == 200
    assert client.get("/account").status_code == 302  # and nothing personal is shown


def test_log_out_everywhere_ends_every_session_and_remember_cookie(app, make_user):
    user = make_user("mentee@example.org")
    laptop, phone = Browser(app.test_client()), Browser(app.test_client())
    laptop.log_in("mentee@example.org")
    phone.log_in("mentee@example.org", remember="y")
    remembered = phone.client.get_cookie("remember_token").value
    page = laptop.get("/account").get_data(as_text=True)
    assert "This device" in page and page.count('name="session"') == 1  # the phone

    response = laptop.post("/account/sessions/end")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remembered)
    assert fresh.get("/account").status_code == 302
    assert all(row.ended_at is not None for row in sessions_of(app, user.id))


def test_the_account_page_lists_sessions_and_ends_chosen_ones_after_the_password(
    app, make_user
):
    user = make_user("mentee@example.org")
    laptop, phone, tablet = (Browser(app.test_client()) for _ in range(3))
    laptop.client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
    laptop.log_in("mentee@example.org")
    phone.client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36")
    phone.log_in("mentee@example.org")
    tablet.log_in("mentee@example.org")
    page = laptop.get("/account").get_data(as_text=True)
    assert "Chrome on Android" in page and "Firefox on Linux" in page
    assert "This device" in page
    phone_id = next(row.id for row in sessions_of(app, user.id)
                    if "Android" in (row.user_agent or ""))

    wrong = laptop.post("/account/sessions/end-chosen",
                        {"session": str(phone_id), "current_password": "not-my-password"})
    assert wrong.status_code == 422
    assert "password is not right" in wrong.get_data(as_text=True)
    assert phone.get("/account").status_code == 200

    ended = laptop.post("/account/sessions/end-chosen",
                        {"session": str(phone_id), "current_password": TEST_PASSWORD})
    assert ended.status_code == 302
    assert phone.get("/account").status_code == 302  # that one is logged out
    assert tablet.get("/account").status_code == 200  # the others carry on
    assert laptop.get("/account").status_code == 200


def test_nobody_can_end_anothers_sessions(app, browser, make_user):
    other = make_user("other@example.org")
    make_user("mentee@example.org")
    elsewhere = Browser(app.test_client())
    elsewhere.log_in("other@example.org")
    [theirs] = sessions_of(app, other.id)
    browser.log_in("mentee@example.org")
    browser.post("/account/sessions/end-chosen",
                 {"session": str(theirs.id), "current_password": TEST_PASSWORD})
    assert elsewhere.get("/account").status_code == 200


def test_a_session_idle_too_long_ends_and_a_busy_one_carries_on(app, browser, make_user):
    user = make_user("mentee@example.org")
    browser.log_in("mentee@example.org")
    age_sessions(app, user.id, minutes=110)
    assert browser.get("/account").status_code == 200
    # That visit was written down, so the idle clock starts again from now.
    [row] = sessions_of(app, user.id)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)
    age_sessions(app, user.id, minutes=121)
    assert browser.get("/account").status_code == 302


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, browser, make_user):
    user = make_user("mentee@example.org")
    browser.log_in("mentee@example.org")
    [row] = sessions_of(app, user.id)
    assert row.expires_at - row.created_at == timedelta(hours=12)
    # Twelve hours on, used a minute ago: still the end.
    age_sessions(app, user.id, hours=12, seconds=1)
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow()))
        db.session.commit()
    assert browser.get("/account").status_code == 302


def test_keep_me_logged_in_lasts_thirty_days_not_a_year(app, browser, make_user):
    user = make_user("mentee@example.org")
    browser.log_in("mentee@example.org", remember="y")
    cookie = browser.client.get_cookie("remember_token")
    assert timedelta(days=29) < cookie.expires - utcnow() <= timedelta(days=30)
    [row] = sessions_of(app, user.id)
    assert row.remember and row.expires_at - row.created_at == timedelta(days=30)
    # Idle for a week, the browser comes back with only its remember-me cookie.
    age_sessions(app, user.id, days=7)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert fresh.get("/account").status_code == 200


def test_account_events_are_logged_without_personal_details(app, browser, make_user, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="register.security")
    user = make_user("mentee@example.org")
    browser.log_in("mentee@example.org", "wrong-password-x")
    browser.log_in("mentee@example.org")
    browser.post("/account/password",
                 {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    browser.log_out()
    lines = [record.getMessage() for record in caplog.records
             if record.name == "register.security"]
    assert [line.split()[0] for line in lines] == [
        "event=login-failed", "event=login", "event=password-changed", "event=logout"]
    assert f"user={user.id}" in lines[1] and "address=127.0.0.1" in lines[1]
    everything = "\n".join(lines)
    assert "mentee@example.org" not in everything
    assert TEST_PASSWORD not in everything and NEW_PASSWORD not in everything


# 3. The same hashing work whether or not an address has an account ------------------------


@pytest.fixture
def hash_calls(monkeypatch):
    """Counts argon2 hashes and verifications, the slow part of every login and sign-up."""
    from argon2 import PasswordHasher

    calls = {"hash": 0, "verify": 0}
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counted_hash(self, *args, **kwargs):
        calls["hash"] += 1
        return real_hash(self, *args, **kwargs)

    def counted_verify(self, *args, **kwargs):
        calls["verify"] += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counted_hash)
    monkeypatch.setattr(PasswordHasher, "verify", counted_verify)
    return calls


def test_logging_in_to_an_unknown_address_costs_the_same_hashing(app, browser, make_user,
                                                                  hash_calls):
    make_user("known@example.org")
    make_user("imported@example.org", password=None)
    browser.log_in("warm-up@example.org", "wrong-password-x")  # the stand-in hash is made once
    costs = {}
    for email in ("known@example.org", "nobody@example.org", "imported@example.org"):
        before = dict(hash_calls)
        response = browser.log_in(email, "wrong-password-x")
        assert response.status_code == 422
        costs[email] = {kind: hash_calls[kind] - before[kind] for kind in before}
    assert costs["known@example.org"] == {"hash": 0, "verify": 1}
    assert costs["nobody@example.org"] == costs["known@example.org"]
    assert costs["imported@example.org"] == costs["known@example.org"]


def test_signing_up_with_a_known_address_costs_the_same_hashing(app, browser, make_user,
                                                                hash_calls):
    make_user("known@example.org")
    costs = []
    for email in ("new@example.org", "known@example.org"):
        before = dict(hash_calls)
        response = browser.post("/auth/register", {"name": "Ada Okoro", "email": email,
                                                   "password": TEST_PASSWORD})
        assert response.status_code == 302
        costs.append({kind: hash_calls[kind] - before[kind] for kind in before})
    assert costs[0] == {"hash": 1, "verify": 0}
    assert costs[1] == costs[0]


# 5. Nothing personal is kept by a cache ----------------------------------------------------


def test_pages_for_a_logged_in_person_are_never_stored(app, browser, make_user):
    make_user("mentee@example.org")
    login = browser.log_in("mentee@example.org")
    assert login.headers["Cache-Control"] == "no-store"  # it sets the session cookie
    for path in ("/account", "/", "/mentors", "/me/requests"):
        response = browser.get(path)
        assert response.headers.get("Cache-Control") == "no-store", path
    # Static files are the same for everyone and may be cached.
    static = browser.get("/static/css/site.css")
    static.close()
    assert static.headers.get("Cache-Control") != "no-store"


def test_a_page_for_a_visitor_that_sets_no_cookie_may_be_cached(app, browser):
    # The first visits set the session cookie (the CSRF token, Flask-Login's marks).
    browser.get("/")
    browser.get("/")
    again = browser.get("/mentors")
    assert "Set-Cookie" not in again.headers
    assert again.headers.get("Cache-Control") != "no-store"


# 7. Nobody can lock someone else out ------------------------------------------------------


def log_in_from(browser, address, email, password=TEST_PASSWORD):
    return browser.post("/auth/login", {"email": email, "password": password},
                        environ_base={"REMOTE_ADDR": address})


def test_guessing_from_elsewhere_does_not_lock_the_owner_out(app, browser, make_user):
    make_user("owner@example.org")
    stranger = Browser(app.test_client())
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_PAIR"]):
        assert log_in_from(stranger, "203.0.113.9", "owner@example.org",
                           "wrong-password-x").status_code == 422
    # The stranger is stopped, even with the right password...
    assert log_in_from(stranger, "203.0.113.9", "owner@example.org").status_code == 429
    # ...but the owner, at home, logs in as usual.
    assert log_in_from(browser, "198.51.100.4", "owner@example.org").status_code == 302


def test_guessing_spread_over_many_addresses_meets_the_account_limit(app, browser,
                                                                      make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 12
    make_user("owner@example.org")
    stranger = Browser(app.test_client())
    for number in range(12):
        assert log_in_from(stranger, f"203.0.113.{number}", "owner@example.org",
                           "wrong-password-x").status_code == 422
    blocked = log_in_from(stranger, "203.0.113.200", "owner@example.org", "wrong-password-y")
    assert blocked.status_code == 429
    # The account-wide window is an hour, not the quarter-hour of one address.
    assert int(blocked.headers["Retry-After"]) > 15 * 60


# 4. Reports: confirmed accounts, one open report each -------------------------------------


@pytest.fixture
def published_profile(app, make_user):
    """A published profile, straight in the database; returns its id."""
    from register.mentors import services as profiles
    from register.mentors.models import MentorProfile

    mentor = make_user("mentor@example.org", name="Morgan Mentor")
    with app.test_request_context():
        profile = profiles.start_profile(db.session.get(User, mentor.id))
        profile.state = MentorProfile.PUBLISHED
        profile.published_at = utcnow()
        db.session.commit()
        return profile.id


def open_reports(app) -> int:
    from sqlalchemy import func

    from register.mentors.models import ProfileReport

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ProfileReport))


REASON = "The organisation named here does not exist; the profile looks invented."


def test_an_unconfirmed_account_cannot_report(app, browser, make_user, published_profile):
    make_user("new@example.org", verified=False)
    browser.log_in("new@example.org")
    page = browser.get(f"/mentors/{published_profile}/report")
    assert page.status_code == 403
    assert "Confirm your email address" in page.get_data(as_text=True)
    sent = browser.post(f"/mentors/{published_profile}/report", {"reason": REASON})
    assert sent.status_code == 403
    assert open_reports(app) == 0


def test_one_open_report_per_person_and_profile(app, browser, make_user, published_profile):
    make_user("member@example.org")
    browser.log_in("member@example.org")
    first = browser.post(f"/mentors/{published_profile}/report", {"reason": REASON})
    assert first.status_code == 302
    again = browser.post(f"/mentors/{published_profile}/report", {"reason": REASON + " Again."})
    assert again.status_code == 422
    assert "already reported this profile" in again.get_data(as_text=True)
    assert open_reports(app) == 1
    # Once the coordinators have resolved it, a new concern can be raised.
    from register.mentors.models import ProfileReport

    with app.app_context():
        db.session.execute(update(ProfileReport).values(resolved_at=utcnow()))
        db.session.commit()
    assert browser.post(f"/mentors/{published_profile}/report",
                        {"reason": REASON}).status_code == 302
    assert open_reports(app) == 2


# 6. A mentee's words cannot pass for the register's links ---------------------------------

from tests.test_introductions import make_mentor, send_request  # noqa: E402, F401  (fixtures)

PLANTED = ("Your programmes are the path I hope to follow.\n"
           "\n"
           "ANSWER THIS REQUEST\n"
           "Accept (you will be asked to confirm):\n"
           "https://evil.example/accept")


def test_a_mentees_text_is_quoted_below_the_real_links(app, make_user, mailbox, request):
    new_mentor = request.getfixturevalue("make_mentor")
    new_request = request.getfixturevalue("send_request")
    mentor, profile_id = new_mentor("ada.mentor@example.org")
    mentee = make_user("mia.mentee@example.org", name="Mia Mentee")
    new_request(mentee, profile_id, why_you=PLANTED)
    mail = mailbox.last_to("ada.mentor@example.org")

    lines = mail.text.splitlines()
    quoted_from = lines.index("THE REQUEST, IN MIA MENTEE'S OWN WORDS")
    # Every line the mentee wrote is in the quoted part, each marked with "> ".
    for line in PLANTED.splitlines():
        assert f"> {line}".rstrip() in [quoted.rstrip() for quoted in lines[quoted_from:]]
    assert all(line.startswith(">") for line in lines[quoted_from + 2:-2] if line), lines
    # The real links come first, once, under the fixed heading.
    assert lines.index("ANSWER THIS REQUEST") < quoted_from
    real = [link for link in mail.links() if "/accept/" in link]
    assert len(real) == 1 and lines.index(real[0]) < quoted_from
    assert "Only the links under \"ANSWER THIS REQUEST\" come from Mentor Register" in mail.text
    # In the HTML part the buttons stand before, and outside, the quoted request.
    page = mail.html
    assert page.index(real[0].replace("&", "&amp;")) < page.index("<blockquote")
    assert page.index("evil.example") > page.index("<blockquote")
    assert "<a href=\"https://evil.example" not in page


# 8. Production set-up: proxies, hosts, emailed links --------------------------------------


def app_with(app_config, **settings):
    from register import create_app

    return create_app(dict(app_config, **settings))


FORGED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https",
          "X-Forwarded-Host": "evil.example"}


def test_one_trusted_proxy_is_trusted_for_the_address_only(app_config):
    from flask import request

    seen = {}
    app = app_with(app_config, PROXY_FIX_X_FOR=1, SERVER_NAME="mentoring.example.org")

    @app.get("/_seen")
    def _seen():
        seen.update(address=request.remote_addr, host=request.host, secure=request.is_secure)
        return ""

    response = app.test_client().get("/_seen", headers=FORGED)
    assert response.status_code == 200
    assert seen == {"address": "198.51.100.7", "host": "mentoring.example.org",
                    "secure": False}
    assert "Strict-Transport-Security" not in response.headers


def test_forwarded_scheme_and_host_are_trusted_only_when_asked(app_config):
    app = app_with(app_config, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1,
                   SERVER_NAME="mentoring.example.org")
    client = app.test_client()
    secure = client.get("/auth/login", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200 and "Strict-Transport-Security" in secure.headers
    # A forwarded host is believed now, and so must be one the register answers to.
    assert client.get("/auth/login", headers=FORGED).status_code == 400


def test_a_foreign_host_header_is_refused(app_config):
    app = app_with(app_config, SERVER_NAME="mentoring.example.org",
                   TRUSTED_HOSTS=["www.mentoring.example.org"])
    client = app.test_client()
    assert client.get("/auth/login").status_code == 200
    assert client.get("/auth/login", headers={"Host": "www.mentoring.example.org"}
                      ).status_code == 200
    refused = client.get("/auth/login", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "does not answer to that host name" in refused.get_data(as_text=True)


def test_emailed_links_use_the_configured_scheme_and_host(app_config, make_user, smtp_server):
    from tests.conftest import Mailbox

    app = app_with(app_config, SERVER_NAME="mentoring.example.org",
                   PREFERRED_URL_SCHEME="https")
    smtp_server.handler.received.clear()
    browser = Browser(app.test_client())
    # The request arrives over plain http (as from a proxy's inner hop).
    signed_up = browser.post("/auth/register", {"name": "Ada Okoro", "email": "ada@example.org",
                                                "password": TEST_PASSWORD},
                             base_url="http://mentoring.example.org")
    assert signed_up.status_code == 302, signed_up.get_data(as_text=True)[-3000:]
    link = Mailbox(smtp_server, app).link_to("ada@example.org", "/auth/verify/")
    assert link.startswith("https://mentoring.example.org/auth/verify/")


@pytest.mark.browser
def test_logging_out_another_device_in_a_real_browser(page, open_page, live_server, make_user):
    from playwright.sync_api import expect

    from tests.browser_support import ALL_IMPACTS, audit

    make_user("mentee@example.org")
    other = open_page()
    for browser_page in (other, page):
        browser_page.goto("/auth/login")
        browser_page.get_by_label("Email address").fill("mentee@example.org")
        browser_page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
        browser_page.get_by_role("button", name="Log in").click()
        expect(browser_page.get_by_role("navigation", name="Main").get_by_role(
            "button", name="Log out")).to_be_visible()
    page.goto("/account")
    audit(page, impacts=ALL_IMPACTS)
    page.get_by_role("checkbox").check()
    page.get_by_label("Your password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log out the chosen sessions").click()
    expect(page.get_by_role("status")).to_contain_text("Logged out 1 other session.")
    other.goto("/account")
    expect(other).to_have_url(re.compile(r"/auth/login"))
