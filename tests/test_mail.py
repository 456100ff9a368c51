"""The email outbox against a real SMTP server: nothing lost, nothing sent twice.

Every message is a row written in the transaction that caused it, and is
drained to a real aiosmtpd server on loopback. These tests stop that server,
refuse recipients, race two senders, leave claims behind as a crashed sender
would, and check what arrives at the other end.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from email.utils import make_msgid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from register import create_app
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mail import messages
from register.mail.models import OutboxMessage
from register.mail.outbox import DrainResult, drain, queue_email
from tests.conftest import Browser, _Handler, free_port

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)

REPOSITORY = Path(__file__).resolve().parent.parent
EVIL = "\r\n Bcc: evil@example.org"


# Helpers ---------------------------------------------------------------------


@pytest.fixture
def make_app(app_config):
    """Another app on the test's database with some settings changed: make_app(MAIL_PORT=...)."""
    made = []

    def make(**overrides):
        other = create_app({**app_config, **overrides})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def start_smtp():
    """Start another real SMTP server with a handler of the test's choosing; returns its port."""
    controllers = []

    def start(handler) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


def person(number: int) -> User:
    """An account holder to write to (the message functions read only name and address)."""
    return User(email=f"person{number}@example.org", name=f"Person {number}")


def queue_password_changed(app, people) -> None:
    """Queue one real message per person and commit, as a request would."""
    with app.app_context():
        for someone in people:
            messages.password_changed(someone)
        db.session.commit()


def outbox(app) -> list[OutboxMessage]:
    """Every outbox row as it is in the database now, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def change_outbox(app, *where, **values) -> None:
    """Change outbox rows straight in the database (as time passing, or a crash, would)."""
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(*where).values(**values))
        db.session.commit()


def send_due(app, **limits) -> DrainResult:
    """One drain in a fresh app context, as the worker runs it."""
    with app.app_context():
        try:
            return drain(**limits)
        finally:
            db.session.remove()


def send_until_idle(app) -> DrainResult:
    """Drain again and again until a drain finds nothing due, as the busy worker does."""
    total = DrainResult()
    for _ in range(100):
        result = send_due(app)
        if not result.handled:
            return total
        total.sent += result.sent
        total.retried += result.retried
        total.failed += result.failed
    raise AssertionError("the outbox never went idle")


def message_ids(received) -> list[str]:
    return [email.message["Message-ID"] for email in received]


# Queueing ----------------------------------------------------------------------


def test_mail_queued_in_a_rolled_back_transaction_is_never_sent(app, mailbox):
    with app.app_context():
        messages.password_changed(person(1))
        db.session.rollback()

    assert mailbox.deliver().handled == 0
    assert outbox(app) == []
    assert mailbox.received == []


def test_committed_mail_arrives_with_both_bodies_and_its_message_id(app, mailbox):
    queue_password_changed(app, [User(email="ada@example.org", name="Ada Okoro")])

    result = mailbox.deliver()

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    [email] = mailbox.received
    [row] = outbox(app)
    assert email.rcpt_tos == ["ada@example.org"]
    assert email.message["To"] == "Ada Okoro <ada@example.org>"
    assert email.subject == "Your Mentor Register password was changed"
    assert "Hello Ada Okoro," in email.text and "password" in email.text
    assert "<p>Hello Ada Okoro,</p>" in email.html
    # The row's Message-ID is the one on the wire, so a repeat is recognisable.
    assert email.message["Message-ID"] == row.message_id
    assert row.status == OutboxMessage.SENT and row.attempts == 1 and row.sent_at is not None


# SMTP down, then up --------------------------------------------------------------


def test_mail_queued_while_smtp_is_down_arrives_exactly_once_when_it_is_back(
    app, mailbox, smtp_server
):
    smtp_server.stop()
    try:
        queue_password_changed(app, [person(n) for n in range(50)])

        # One drain stops at the first batch that finds the relay down; the worker
        # drains again at once while there was work, so every message gets a try.
        while_down = send_until_idle(app)

        assert (while_down.sent, while_down.retried, while_down.failed) == (0, 50, 0)
        assert mailbox.received == []
        rows = outbox(app)
        assert {row.status for row in rows} == {OutboxMessage.PENDING}
        assert {row.attempts for row in rows} == {1}
        assert all("Connection refused" in row.last_error for row in rows)
        assert all(row.next_attempt_at > utcnow() for row in rows)

        smtp_server.start()
        change_outbox(app, next_attempt_at=utcnow())  # the retry time has come

        back_up = send_until_idle(app)
        received = smtp_server.wait_for(50)
        again = send_until_idle(app)

        assert back_up.sent == 50 and again.handled == 0
        assert len(mailbox.received) == 50
        ids = message_ids(received)
        assert len(set(ids)) == 50
        assert set(ids) == {row.message_id for row in outbox(app)}
        assert sorted(r for email in received for r in email.rcpt_tos) == sorted(
            f"person{n}@example.org" for n in range(50)
        )
        assert {row.status for row in outbox(app)} == {OutboxMessage.SENT}
    finally:
        if smtp_server.controller is None:
            smtp_server.start()


# What the register promises, written here rather than read from the code or the
# configuration (a test that reads the setting the code reads cannot notice it change):
# the first retry after a minute, each wait twice the one before, never more than two
# hours apart, each wait within 10% either way so a queue that failed together does not
# retry in lockstep, and a message given up only once it is 72 hours old.
BACKOFF_MINUTES = [1, 2, 4, 8, 16, 32, 64, 120, 120, 120]
JITTER = (0.9, 1.1)
GIVE_UP_HOURS = 72


@pytest.fixture
def jitter(monkeypatch):
    """Pin the retry jitter: jitter("lowest"), jitter("middle") or jitter("highest")."""
    import register.mail.outbox as outbox_module

    def pin(where: str) -> None:
        def uniform(low: float, high: float) -> float:
            assert (low, high) == JITTER, "the jitter is no longer 10% either way"
            return {"lowest": low, "middle": (low + high) / 2, "highest": high}[where]

        monkeypatch.setattr(outbox_module.random, "uniform", uniform)

    return pin


def next_wait(app, unreachable) -> tuple[int, timedelta, timedelta]:
    """Fail one send; (attempts, shortest and longest possible wait) for the retry it set.

    The wait is bracketed by the clock read just before and just after the drain.
    """
    before = utcnow()
    assert send_due(unreachable).retried == 1
    after = utcnow()
    [row] = outbox(app)
    assert row.status == OutboxMessage.PENDING
    return row.attempts, row.next_attempt_at - after, row.next_attempt_at - before


def test_each_failure_waits_twice_as_long_up_to_two_hours(app, make_app, jitter):
    jitter("middle")
    unreachable = make_app(MAIL_PORT=free_port())  # nothing listens there
    queue_password_changed(app, [person(1)])
    slack = timedelta(milliseconds=5)  # what the database keeps of a timestamp

    for attempt, minutes in enumerate(BACKOFF_MINUTES, start=1):
        attempts, shortest, longest = next_wait(app, unreachable)
        assert attempts == attempt
        assert shortest - slack <= timedelta(minutes=minutes) <= longest + slack, (
            f"attempt {attempt}: waited {shortest}..{longest}, promised {minutes} minutes")
        change_outbox(app, next_attempt_at=utcnow())  # the retry time has come


@pytest.mark.parametrize(("where", "first_seconds", "capped_minutes"),
                         [("lowest", 54, 108), ("highest", 66, 132)])
def test_the_jitter_stays_within_ten_percent(app, make_app, jitter, where, first_seconds,
                                             capped_minutes):
    jitter(where)
    unreachable = make_app(MAIL_PORT=free_port())
    queue_password_changed(app, [person(1)])
    slack = timedelta(milliseconds=5)

    _, shortest, longest = next_wait(app, unreachable)
    assert shortest - slack <= timedelta(seconds=first_seconds) <= longest + slack

    # Long after the waits reached their two-hour ceiling.
    change_outbox(app, next_attempt_at=utcnow(), attempts=20)
    attempts, shortest, longest = next_wait(app, unreachable)
    assert attempts == 21
    assert shortest - slack <= timedelta(minutes=capped_minutes) <= longest + slack


def test_a_message_is_retried_until_it_is_72_hours_old(app, make_app, mailbox, jitter):
    jitter("middle")
    unreachable = make_app(MAIL_PORT=free_port())
    queue_password_changed(app, [person(1)])
    change_outbox(app, created_at=utcnow() - timedelta(hours=GIVE_UP_HOURS - 1, minutes=59),
                  attempts=40)

    result = send_due(unreachable)

    [row] = outbox(app)
    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    assert row.status == OutboxMessage.PENDING and row.attempts == 41
    assert "Connection refused" in row.last_error


def test_an_old_message_is_given_up_with_the_reason_and_never_retried(app, make_app, mailbox):
    unreachable = make_app(MAIL_PORT=free_port())
    queue_password_changed(app, [person(1)])
    change_outbox(app, created_at=utcnow() - timedelta(hours=GIVE_UP_HOURS, minutes=1),
                  attempts=40)

    result = send_due(unreachable)

    [row] = outbox(app)
    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    assert row.status == OutboxMessage.FAILED and row.attempts == 41
    assert row.last_error.startswith("gave up after 41 attempts")
    assert "Connection refused" in row.last_error

    # Even when the relay works again and the row looks due, it stays given up.
    change_outbox(app, next_attempt_at=utcnow() - timedelta(hours=1))
    assert mailbox.deliver().handled == 0
    assert mailbox.received == []
    assert outbox(app)[0].status == OutboxMessage.FAILED


# Several senders at once ---------------------------------------------------------


def test_two_senders_at_once_deliver_each_message_exactly_once(make_app, mailbox, smtp_server):
    # Small batches, so the two senders take turns claiming many times.
    app = make_app(MAIL_DRAIN_BATCH=5)
    queue_password_changed(app, [person(n) for n in range(40)])
    start = threading.Barrier(2, timeout=10)
    results, errors = [], []

    def sender():
        try:
            with app.app_context():
                start.wait()
                results.append(drain())
        except Exception as error:  # reported below, with the thread's own traceback
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(result.sent for result in results) == 40
    received = smtp_server.wait_for(40)
    assert len(received) == 40
    assert len(set(message_ids(received))) == 40
    assert {row.status for row in outbox(app)} == {OutboxMessage.SENT}
    assert {row.attempts for row in outbox(app)} == {1}


def test_two_worker_processes_deliver_each_message_exactly_once(
    app, app_config, mailbox, smtp_server, tmp_path
):
    queue_password_changed(app, [person(n) for n in range(100)])
    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    search_path = app_config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {})
    if "options" in search_path:  # the test's own PostgreSQL schema
        url = url.update_query_dict({"options": search_path["options"]})
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "MAIL_DEFAULT_SENDER": app_config["MAIL_DEFAULT_SENDER"],
        "REGISTER_ENV": "development",
        "SECRET_KEY": app_config["SECRET_KEY"],
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send"]
    processes = [
        subprocess.Popen(command, cwd=REPOSITORY, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    reports = [re.search(r"Sent (\d+), to retry 0, given up 0\.", out) for out, _ in outputs]
    assert all(reports), outputs
    assert sum(int(report.group(1)) for report in reports) == 100
    received = smtp_server.wait_for(100)
    assert len(received) == 100
    assert len(set(message_ids(received))) == 100


# Claims ------------------------------------------------------------------------------


def test_a_claim_left_by_a_crashed_sender_lapses_but_a_live_claim_is_respected(app, mailbox):
    queue_password_changed(app, [person(1), person(2)])
    crashed, busy = outbox(app)
    now = utcnow()
    change_outbox(app, OutboxMessage.id == crashed.id,
                  claimed_by="crashed-sender", claimed_until=now - timedelta(minutes=1))
    change_outbox(app, OutboxMessage.id == busy.id,
                  claimed_by="busy-sender", claimed_until=now + timedelta(minutes=4))

    result = mailbox.deliver()

    assert result.sent == 1
    assert [email.rcpt_tos for email in mailbox.received] == [["person1@example.org"]]
    crashed, busy = outbox(app)
    assert crashed.status == OutboxMessage.SENT and crashed.claimed_by is None
    assert busy.status == OutboxMessage.PENDING and busy.claimed_by == "busy-sender"
    assert busy.attempts == 0


# What a message may contain --------------------------------------------------------


def test_line_breaks_in_a_name_or_subject_cannot_add_a_recipient(app, mailbox):
    victim = User(email="victim@example.org", name="Victim" + EVIL)
    with app.app_context():
        messages.password_changed(victim)
        queue_email("password-changed", to="victim@example.org", name="Victim",
                    subject="Your password" + EVIL, template="password_changed", user=victim)
        db.session.commit()

    assert mailbox.deliver().sent == 2

    assert len(mailbox.received) == 2
    for email in mailbox.received:
        assert email.rcpt_tos == ["victim@example.org"]
        assert email.message["Bcc"] is None
        assert [a.addr_spec for a in email.message["To"].addresses] == ["victim@example.org"]
    by_name, by_subject = mailbox.received
    assert by_name.message["To"].addresses[0].display_name == "Victim Bcc: evil@example.org"
    assert by_subject.subject == "Your password Bcc: evil@example.org"


def test_a_row_with_a_line_break_in_a_header_is_refused_not_sent(app, mailbox):
    # A row written by some other path than queue_email: the sender still checks.
    with app.app_context():
        db.session.add(OutboxMessage(
            message_id=make_msgid(domain="register.test"), kind="test",
            recipient="victim@example.org", recipient_name="Victim\r\nBcc: evil@example.org",
            subject="Hello", body_text="Hello", body_html="<p>Hello</p>",
        ))
        db.session.commit()

    result = mailbox.deliver()

    assert (result.sent, result.failed) == (0, 1)
    assert mailbox.received == []
    [row] = outbox(app)
    assert row.status == OutboxMessage.FAILED and "line break" in row.last_error


class _Refusing(_Handler):
    """Accepts mail except for the addresses it has an answer for."""

    def __init__(self, answers: dict[str, str]):
        super().__init__()
        self.answers = answers

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_fails_at_once_without_holding_up_the_others(
    app, make_app, start_smtp
):
    handler = _Refusing({
        "nobody@example.org": "550 5.1.1 no such user",
        "busy@example.org": "450 4.2.1 mailbox busy, try later",
    })
    relay = make_app(MAIL_PORT=start_smtp(handler))
    people = [User(email=f"{local}@example.org", name=local.title())
              for local in ("first", "nobody", "busy", "last")]
    queue_password_changed(app, people)

    result = send_due(relay)

    assert (result.sent, result.retried, result.failed) == (2, 1, 1)
    assert [email.rcpt_tos for email in handler.received] == [
        ["first@example.org"], ["last@example.org"]
    ]
    first, nobody, busy, last = outbox(app)
    assert nobody.status == OutboxMessage.FAILED and nobody.attempts == 1
    assert "550" in nobody.last_error and "no such user" in nobody.last_error
    assert busy.status == OutboxMessage.PENDING and "450" in busy.last_error
    assert first.status == last.status == OutboxMessage.SENT

    # Later, only the temporary refusal is tried again.
    change_outbox(app, next_attempt_at=utcnow())
    handler.answers.pop("busy@example.org")
    assert send_due(relay).sent == 1
    assert handler.received[-1].rcpt_tos == ["busy@example.org"]
    assert [row.status for row in outbox(app)] == ["sent", "failed", "sent", "sent"]


class _BusyAtData(_Handler):
    """Answers the first DATA with a temporary failure (451), then accepts."""

    def __init__(self):
        super().__init__()
        self.busy = 1

    async def handle_DATA(self, server, session, envelope):
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 temporary local problem, try later"
        return await super().handle_DATA(server, session, envelope)


def test_a_temporary_refusal_of_the_message_is_tried_again(app, make_app, start_smtp):
    handler = _BusyAtData()
    relay = make_app(MAIL_PORT=start_smtp(handler))
    queue_password_changed(app, [person(1)])

    assert (send_due(relay).retried, send_due(relay).handled) == (1, 0)  # not due yet
    [row] = outbox(app)
    assert row.status == OutboxMessage.PENDING and "451" in row.last_error

    change_outbox(app, next_attempt_at=utcnow())
    assert send_due(relay).sent == 1
    assert [email.rcpt_tos for email in handler.received] == [["person1@example.org"]]
    assert outbox(app)[0].status == OutboxMessage.SENT


def test_a_relay_that_refuses_at_its_greeting_stops_the_drain(app, make_app):
    """A relay that says "421 busy" as we connect is refusing everything: one attempt is
    counted, and the rest of the queue waits untouched for the next drain."""
    refusing = socket.create_server(("127.0.0.1", 0))
    port = refusing.getsockname()[1]
    stop = threading.Event()

    def greet_and_hang_up():
        refusing.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = refusing.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(b"421 4.3.2 too busy, try later\r\n")

    server = threading.Thread(target=greet_and_hang_up, daemon=True)
    server.start()
    try:
        queue_password_changed(app, [person(n) for n in range(1, 4)])
        result = send_due(make_app(MAIL_PORT=port))
    finally:
        stop.set()
        server.join(5)
        refusing.close()

    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    assert [row.attempts for row in outbox(app)] == [1, 0, 0]
    assert "421" in outbox(app)[0].last_error


class _Slow(_Handler):
    """Keeps the DATA reply back until the test lets it go (or three seconds pass)."""

    def __init__(self):
        super().__init__()
        self.sending = threading.Event()
        self.go_on = threading.Event()
        self.let_go_in_time = None

    async def handle_DATA(self, server, session, envelope):
        self.sending.set()
        loop = asyncio.get_running_loop()
        self.let_go_in_time = await loop.run_in_executor(None, self.go_on.wait, 3)
        return await super().handle_DATA(server, session, envelope)


def test_a_slow_relay_does_not_hold_up_writes_to_the_database(app, make_app, make_user,
                                                             start_smtp):
    handler = _Slow()
    relay = make_app(MAIL_PORT=start_smtp(handler))
    queue_password_changed(app, [person(1)])
    sender = threading.Thread(target=send_due, args=(relay,))
    sender.start()
    try:
        assert handler.sending.wait(10), "the message never reached the relay"
        # While the relay thinks, the site carries on: someone signs up.
        make_user("newcomer@example.org")
    finally:
        handler.go_on.set()
        sender.join(30)

    assert handler.let_go_in_time, "the write waited for the SMTP send to finish"
    assert [email.rcpt_tos for email in handler.received] == [["person1@example.org"]]
    assert outbox(app)[0].status == OutboxMessage.SENT


# After a request, and from the command line --------------------------------------------


def test_mail_queued_by_a_request_is_sent_once_the_response_is_closed(
    make_app, make_user, mailbox
):
    app = make_app(MAIL_DRAIN_AFTER_REQUEST=True)
    browser = Browser(app.test_client())
    make_user("forgetful@example.org")

    with browser.post("/auth/forgot-password", {"email": "forgetful@example.org"}) as response:
        assert response.status_code == 200
        # Nobody waits on SMTP: the response is complete before anything is sent.
        assert mailbox.received == []

    [email] = mailbox.received
    assert email.rcpt_tos == ["forgetful@example.org"]
    assert email.subject == "Reset your Mentor Register password"
    assert any("/auth/reset-password/" in link for link in email.links())
    assert outbox(app)[0].status == OutboxMessage.SENT


def test_mail_send_command_reports_counts_and_delivers(app, make_app, runner, mailbox):
    queue_password_changed(app, [person(n) for n in range(3)])

    result = runner.invoke(args=["mail", "send"])

    assert result.exit_code == 0, result.output
    assert "Sent 3, to retry 0, given up 0." in result.output
    assert len(mailbox.received) == 3

    queue_password_changed(app, [person(3)])
    unreachable = make_app(MAIL_PORT=free_port())
    down = unreachable.test_cli_runner().invoke(args=["mail", "send"])
    assert down.exit_code == 0, down.output
    assert "Sent 0, to retry 1, given up 0." in down.output
    assert len(mailbox.received) == 3


def test_worker_once_delivers_what_is_due(app, runner, mailbox):
    queue_password_changed(app, [person(n) for n in range(2)])

    result = runner.invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert sorted(r for email in mailbox.received for r in email.rcpt_tos) == [
        "person0@example.org", "person1@example.org"
    ]
    assert {row.status for row in outbox(app)} == {OutboxMessage.SENT}


# The development mailbox ------------------------------------------------------------


@pytest.mark.parametrize("testing", [False, True], ids=["make-run", "testing"])
def test_development_mailbox_keeps_mail_and_shows_its_links(
    make_app, make_user, mailbox, testing
):
    # As `make run` starts it: debug on, no SMTP server configured.
    dev = make_app(DEBUG=True, TESTING=testing, MAIL_SERVER="", MAIL_DRAIN_AFTER_REQUEST=True)
    browser = Browser(dev.test_client())
    make_user("dev@example.org")

    with browser.post("/auth/forgot-password", {"email": "dev@example.org"}) as response:
        assert response.status_code == 200

    [row] = outbox(dev)
    assert row.status == OutboxMessage.SENT  # kept here, not left to retry
    assert mailbox.received == []  # nothing went out over SMTP

    listing = browser.get("/dev/mail/").get_data(as_text=True)
    assert "dev@example.org" in listing
    assert f'href="/dev/mail/{row.id}"' in listing
    assert "Reset your Mentor Register password" in listing

    page = browser.get(f"/dev/mail/{row.id}").get_data(as_text=True)
    link = re.search(r'<a href="(http://localhost(/auth/reset-password/[^"]+))"', page)
    assert link, page
    reset_page = browser.get(link.group(2))
    assert reset_page.status_code == 200
    assert "Choose a new password" in reset_page.get_data(as_text=True)


def test_development_mailbox_does_not_exist_without_debug(app, client):
    queue_password_changed(app, [person(1)])
    assert client.get("/dev/mail/").status_code == 404
    assert client.get(f"/dev/mail/{outbox(app)[0].id}").status_code == 404
