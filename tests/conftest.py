"""Fixtures: an app on a real database, a client, a real SMTP server, factories.

Every test gets its own database: a copy of a freshly migrated SQLite file,
or, for tests that ask for the `postgresql` backend (when TEST_DATABASE_URL
is set), a schema of its own on that server, migrated once and emptied
between tests.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from register import create_app
from register.config import _database_url
from register.extensions import db

pytest_plugins = ["tests.browser_support"]  # live server, Chromium, page audits

TEST_PASSWORD = "violet-harbour-lantern"

BACKENDS = ["sqlite", "postgresql"]


def base_config(database_url: str, tmp_path: Path, smtp_port: int | None = None, **extra):
    """The configuration every test app starts from."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-" + "k" * 40,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "SERVER_NAME": None,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port or 9,
        "MAIL_DEFAULT_SENDER": "Mentor Register <register@register.test>",
        "MAIL_TIMEOUT_SECONDS": 5,
        # Tests send mail when they choose to (see Mailbox.deliver).
        "MAIL_DRAIN_AFTER_REQUEST": False,
        "RATELIMIT_ENABLED": False,
        # A cheap argon2 cost: the same algorithm, fast enough for hundreds of logins.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 1024,
    }
    config.update(extra)
    return config


# Databases -----------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with every migration applied, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    app = create_app(base_config(f"sqlite:///{path}", folder))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_schema():
    """A schema of our own on the server in TEST_DATABASE_URL, migrated once."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (`.ci/run` sets it)")
    url = _database_url(url)
    schema = f"register_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(base_config(url, Path("/tmp"), SQLALCHEMY_ENGINE_OPTIONS=options))
    with app.app_context():
        upgrade()
        tables = [t.name for t in db.metadata.sorted_tables]
        db.engine.dispose()
    yield url, options, tables
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def backend(request) -> str:
    """Which database the test runs on; parametrize with indirect=True for both."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database(backend, request, tmp_path):
    """Configuration entries that point the app at a fresh, migrated database."""
    if backend == "sqlite":
        path = tmp_path / "register.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    url, options, tables = request.getfixturevalue("postgresql_schema")
    engine = create_engine(url, **options)
    with engine.begin() as connection:
        quoted = ", ".join(f'"{name}"' for name in tables)
        connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": options}


# SMTP ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://\S+", self.text)


class _Handler:
    def __init__(self):
        self.received: list[Received] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content,
                                     policy=policy.default)
        with self.arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SMTPServer:
    """A real SMTP server (aiosmtpd) on a loopback port, which can be stopped and restarted."""

    def __init__(self):
        self.port = free_port()
        self.handler = _Handler()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self.handler.arrived:
            while len(self.handler.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} emails, got {len(self.handler.received)}"
                    )
                self.handler.arrived.wait(remaining)
            return list(self.handler.received)


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


class Mailbox:
    """What tests see of email: send what the outbox holds, then read what arrived."""

    def __init__(self, server: SMTPServer, app):
        self.server = server
        self.app = app

    def deliver(self):
        """Drain the outbox now, as the worker would."""
        from register.mail.outbox import drain

        with self.app.app_context():
            return drain()

    @property
    def received(self) -> list[Received]:
        return self.server.received

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received if address in m.rcpt_tos]

    def last_to(self, address: str) -> Received:
        self.deliver()
        found = self.to(address)
        assert found, f"no email to {address}; got {[m.rcpt_tos for m in self.received]}"
        return found[-1]

    def link_to(self, address: str, path_part: str) -> str:
        """The first link in the newest email to `address` whose URL contains `path_part`."""
        for link in self.last_to(address).links():
            if path_part in link:
                return link
        raise AssertionError(f"no link containing {path_part!r} in the email to {address}")


# The app --------------------------------------------------------------------


@pytest.fixture
def app_config(database, tmp_path, smtp_server):
    """Override in a test module to change settings; the app fixture applies it."""
    return base_config(database["SQLALCHEMY_DATABASE_URI"], tmp_path, smtp_server.port,
                       **{k: v for k, v in database.items() if k != "SQLALCHEMY_DATABASE_URI"})


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def mailbox(app, smtp_server):
    smtp_server.handler.received.clear()
    return Mailbox(smtp_server, app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Browser:
    """The test client with the habits of a browser: it reads and sends the CSRF token."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/") -> str:
        page = self.client.get(path)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        return self.client.post(path, data=data, **kwargs)

    def log_in(self, email, password=TEST_PASSWORD, **extra):
        return self.post("/auth/login", {"email": email, "password": password, **extra})

    def log_out(self):
        return self.post("/auth/logout")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def make_user(app):
    """Create an account straight in the database: make_user(email=..., verified=True)."""
    from register.auth.models import User
    from register.auth.passwords import hash_password
    from register.database import utcnow

    counter = iter(range(1, 10_000))

    def make(email=None, *, name=None, password=TEST_PASSWORD, verified=True, admin=False):
        number = next(counter)
        with app.app_context():
            user = User(
                email=email or f"person{number}@example.org",
                name=name or f"Person {number}",
                password_hash=hash_password(password) if password else None,
                email_verified_at=utcnow() if verified else None,
                is_admin=admin,
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def reload(app, model, ident):
    """A fresh copy of a row, read in its own app context."""
    with app.app_context():
        obj = db.session.get(model, ident)
        if obj is not None:
            db.session.expunge(obj)
        return obj
