"""A failure half-way through a request leaves nothing behind and says what to do."""

import pytest
from sqlalchemy import func, select

from register.auth.guards import admin_required, verified_required
from register.auth.models import User
from register.database import utcnow
from register.extensions import db


@pytest.fixture
def app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers

    @app.post("/test/half-written")
    def half_written():
        db.session.add(User(email="half@example.org", name="Half", email_verified_at=utcnow()))
        db.session.flush()
        raise RuntimeError("the disk caught fire")

    @app.get("/test/verified-only")
    @verified_required
    def verified_only():
        return "verified content"

    @app.get("/test/admin-only")
    @admin_required
    def admin_only():
        return "admin content"

    return app


def test_a_server_error_rolls_back_and_shows_a_helpful_page(app, browser):
    response = browser.post("/test/half-written")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "nothing you sent was half-saved" in html
    assert "the disk caught fire" not in html  # no internals shown
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_server_error_for_htmx_is_a_fragment(app, browser):
    response = browser.post("/test/half-written", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert "<html" not in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#messages"


def test_unverified_accounts_are_told_to_confirm_their_address(app, browser, make_user):
    make_user("new@example.org", verified=False)
    browser.log_in("new@example.org")
    response = browser.get("/test/verified-only")
    assert response.status_code == 403
    assert "Confirm your email address first" in response.get_data(as_text=True)
    make_user("done@example.org")
    browser.log_out()
    browser.log_in("done@example.org")
    assert browser.get("/test/verified-only").get_data(as_text=True) == "verified content"


def test_admin_pages_are_refused_to_everyone_else(app, browser, make_user):
    make_user("member@example.org")
    make_user("lead@example.org", admin=True)
    assert browser.get("/test/admin-only").status_code == 302  # log in first
    browser.log_in("member@example.org")
    refused = browser.get("/test/admin-only")
    assert refused.status_code == 403
    assert "does not have permission" in refused.get_data(as_text=True)
    browser.log_out()
    browser.log_in("lead@example.org")
    assert browser.get("/test/admin-only").get_data(as_text=True) == "admin content"
