"""Security properties a user relies on without seeing them."""

import pytest


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/auth/login", {"email": "a@example.org", "password": "whatever-it-is"}),
        ("/auth/register", {"name": "A", "email": "a@example.org", "password": "x" * 12}),
        ("/auth/logout", {}),
        ("/auth/forgot-password", {"email": "a@example.org"}),
        ("/account/password", {"current_password": "a", "password": "b"}),
    ],
)
def test_a_post_without_a_csrf_token_is_refused(browser, path, data):
    response = browser.post(path, data, csrf=False)
    assert response.status_code == 400
    assert "form had expired or came from another site" in response.get_data(as_text=True)


def test_a_post_with_another_sessions_token_is_refused(app, browser):
    stranger = app.test_client()
    page = stranger.get("/").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = browser.post("/auth/forgot-password", {"email": "a@example.org",
                                                     "csrf_token": token})
    assert response.status_code == 400


def test_logged_out_visitors_are_sent_to_log_in_and_back(browser):
    response = browser.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/account"


def test_htmx_requests_for_protected_pages_are_told_to_navigate(browser):
    response = browser.get("/account", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/login?next=")


def test_names_are_escaped_on_every_page(app, browser, make_user):
    make_user("x@example.org", name='<script>alert("x")</script>')
    browser.log_in("x@example.org")
    html = browser.get("/account").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


@pytest.fixture
def app_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["RATELIMIT_STORAGE_URI"] = "memory://"
    return app_config


def test_pages_that_send_email_are_rate_limited(app, browser, mailbox):
    statuses = [
        browser.post("/auth/forgot-password", {"email": f"p{n}@example.org"}).status_code
        for n in range(7)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    blocked = browser.post("/auth/forgot-password", {"email": "p9@example.org"})
    assert "too often" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 0


def test_reports_are_rate_limited_per_account(app, browser, make_user):
    from register.auth.models import User
    from register.database import utcnow
    from register.extensions import db
    from register.mentors import services as profiles
    from register.mentors.models import MentorProfile

    ids = []
    mentors = [make_user(f"mentor{number}@example.org", name=f"Mentor {number}")
               for number in range(7)]
    with app.test_request_context():
        for mentor in mentors:
            profile = profiles.start_profile(db.session.get(User, mentor.id))
            profile.state, profile.published_at = MentorProfile.PUBLISHED, utcnow()
            db.session.commit()
            ids.append(profile.id)
    make_user("member@example.org")
    browser.log_in("member@example.org")
    reason = "This profile copies another member's words and looks invented."
    statuses = [browser.post(f"/mentors/{profile_id}/report", {"reason": reason}).status_code
                for profile_id in ids]
    assert statuses == [302] * 5 + [429] * 2
    blocked = browser.post(f"/mentors/{ids[0]}/report", {"reason": reason})
    assert "several reports in a short time" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 0


def test_request_limits_can_be_counted_in_redis(app_config, browser):
    """Several workers share one count when it is kept in Redis (a real one, on loopback)."""
    import uuid

    from register import create_app
    from tests.conftest import Browser

    redis_config = dict(app_config, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
                        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    # Two apps stand for two worker processes: they share nothing but Redis.
    first, second = create_app(redis_config), create_app(redis_config)
    statuses = []
    for number in range(7):
        worker = Browser((first if number % 2 else second).test_client())
        statuses.append(worker.post("/auth/forgot-password",
                                    {"email": f"p{number}@example.org"}).status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
