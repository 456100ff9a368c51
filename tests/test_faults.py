"""Input no browser sends, and a database that is away, answered with what was wrong."""

import io
import logging

import pytest
from sqlalchemy import func, select, text

from register.auth.models import User
from register.extensions import db

PAGE_WITH_FORM = "/auth/register"


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


# Control characters ---------------------------------------------------------------


def test_a_nul_byte_in_a_form_is_refused_with_a_clear_page_and_nothing_saved(app, browser):
    response = browser.post(PAGE_WITH_FORM, {
        "name": "Ada\x00Lovelace", "email": "ada@example.org",
        "password": "violet-harbour-lantern", "confirm": "violet-harbour-lantern",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "invisible control character" in page and "&#39;name&#39; in the form" in page
    assert count_users(app) == 0


def test_a_nul_byte_in_a_search_is_refused_not_a_server_error(browser):
    response = browser.get("/mentors?q=lead%00ership")
    assert response.status_code == 422
    assert "in the address" in response.get_data(as_text=True)


def test_other_control_characters_are_refused_but_line_breaks_and_tabs_are_text(browser):
    assert browser.get("/mentors?q=a%07b").status_code == 422
    assert browser.get("/mentors?q=line%0Aone%09two").status_code == 200


def test_an_upload_with_a_nul_in_its_name_or_content_is_refused(browser):
    token = browser.csrf_token()
    for upload in [(io.BytesIO(b"email,name\n"), "mentors\x00.csv"),
                   (io.BytesIO(b"email,name\nx@example.org,X\x00\n"), "mentors.csv")]:
        response = browser.client.post("/auth/login", data={"csrf_token": token, "file": upload},
                                       content_type="multipart/form-data")
        assert response.status_code == 422
        assert "uploaded file" in response.get_data(as_text=True)


def test_an_htmx_request_with_a_nul_gets_the_message_in_the_message_area(browser):
    response = browser.get("/mentors?q=%00", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#messages"
    assert "<html" not in response.get_data(as_text=True)


# Ids beyond what the database holds -----------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_id_beyond_the_integer_range_is_not_found(browser):
    for path in ["/mentors/99999999999999999999999", "/mentors/2147483648",
                 "/mentors/99999999999999999999999/request", "/requests/9999999999999"]:
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.get_data(as_text=True)
    assert browser.get("/mentors/2147483647").status_code == 404  # in range, but no one


# Bodies that are not forms ------------------------------------------------------------


def test_a_malformed_multipart_body_is_a_400_that_says_so(browser):
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nno end"
    for content_type in ["multipart/form-data; boundary=xyz", "multipart/form-data"]:
        response = browser.client.post("/auth/login", data=body, content_type=content_type)
        assert response.status_code == 400, content_type
        page = response.get_data(as_text=True)
        assert "The form could not be read" in page
        assert "expired" not in page


def test_a_body_that_is_not_utf8_is_a_400(browser):
    response = browser.client.post("/auth/login", data=b"email=\xff\xfe",
                                   content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "The form could not be read" in response.get_data(as_text=True)


def test_json_posted_to_a_form_is_a_415_that_names_the_type(browser):
    response = browser.client.post("/auth/login", data='{"email": "a@example.org"}',
                                   content_type="application/json")
    assert response.status_code == 415
    assert "not application/json" in response.get_data(as_text=True)


def test_an_ordinary_form_still_reaches_its_page(browser):
    # A wrong login is answered by the login page itself, as before.
    response = browser.log_in("nobody@example.org")
    assert response.status_code in (200, 422)
    page = response.get_data(as_text=True)
    assert "expired" not in page and "control character" not in page
    multipart = browser.client.post("/auth/login", content_type="multipart/form-data", data={
        "csrf_token": browser.csrf_token(), "email": "nobody@example.org", "password": "x"})
    assert multipart.status_code == response.status_code


# The database away ----------------------------------------------------------------


@pytest.fixture
def away(app_config, tmp_path):
    """A browser on an app whose SQLite file is in a folder that does not exist: every
    query fails to connect, as when the database server is down."""
    from register import create_app
    from tests.conftest import Browser

    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/gone/db.sqlite3"})
    return Browser(app.test_client())


def test_an_unreachable_database_answers_503_with_retry_after_and_one_log_line(away, caplog):
    caplog.set_level(logging.ERROR)
    answers = [away.get("/mentors/1") for _ in range(3)]
    for response in answers:
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "briefly unavailable" in response.get_data(as_text=True)
    outage_lines = [r for r in caplog.records if "Database unavailable" in r.getMessage()]
    assert len(outage_lines) <= 1  # one per kind of failure, not one per request
    assert not any(r.exc_info for r in caplog.records)  # no tracebacks


def test_search_keeps_working_while_the_database_is_away(app, runner, away):
    from register.mentors.models import MentorProfile

    assert runner.invoke(args=["demo-data", "--mentors", "3"]).exit_code == 0
    built = runner.invoke(args=["search", "rebuild", "--processes", "1"])  # while it is up
    assert built.exit_code == 0, built.output
    with app.app_context():
        names = set(db.session.scalars(select(MentorProfile.display_name)))
    response = away.get("/mentors?accepting=0")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert sum(name in page for name in names) == 3  # every mentor, from the index alone
    assert away.get("/mentors/1").status_code == 503


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_frozen_table_answers_503_within_the_statement_timeout(app_config, database):
    """A lock held elsewhere (a stuck migration, a frozen session) fails the page in about
    a second instead of holding a web worker until gunicorn kills it."""
    import time

    from sqlalchemy import create_engine

    from register import create_app
    from tests.conftest import Browser

    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False,
                      "DATABASE_STATEMENT_TIMEOUT": 1})
    holder = create_engine(database["SQLALCHEMY_DATABASE_URI"],
                           **database.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    with holder.connect() as connection:
        connection.execute(text("LOCK TABLE mentor_profile IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        response = Browser(app.test_client()).get("/mentors/1")
        waited = time.monotonic() - started
        connection.rollback()
    holder.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert waited < 5
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_connection_dropped_after_the_answer_is_made_does_not_turn_it_into_a_500(
        app, database):
    """Seen in `make proof`: the database stopped just as a page was answered, and the
    rollback that closes the request's session failed after the page was made."""
    from sqlalchemy import create_engine

    app.config["PROPAGATE_EXCEPTIONS"] = False
    killer = create_engine(database["SQLALCHEMY_DATABASE_URI"],
                           **database.get("SQLALCHEMY_ENGINE_OPTIONS", {}))

    @app.get("/test/dropped-after")
    def dropped_after():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as connection:  # as a restart or an administrator would
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return "made before the connection went"

    client = app.test_client()
    response = client.get("/test/dropped-after")
    killer.dispose()
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "made before the connection went"
    assert client.get("/mentors").status_code == 200  # and the next request is served


def test_an_outage_that_surfaces_as_a_rolled_back_transaction_is_still_a_503(app, browser):
    """Code that caught the first failure and carried on meets "the transaction was rolled
    back" next: the person is told the register is briefly away, not that it broke."""
    from sqlalchemy.exc import OperationalError, PendingRollbackError

    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test/carried-on")
    def carried_on():
        try:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        except OperationalError:
            pass  # the bug: going on as if nothing happened
        raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back")

    @app.get("/test/a-real-bug")
    def a_real_bug():
        raise PendingRollbackError("This Session's transaction has been rolled back due to "
                                   "a previous exception during flush: IntegrityError")

    response = browser.get("/test/carried-on")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert browser.get("/test/a-real-bug").status_code == 500
