"""Running the register for real: health pages, the worker's heartbeat, deploys, mail leases."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from register import create_app
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mail import messages
from register.mail.models import OutboxMessage
from register.operations import WorkerHeartbeat, record_heartbeat
from tests.conftest import _Handler, free_port

REPOSITORY = Path(__file__).resolve().parent.parent


def queue_mail(app, count: int) -> None:
    with app.app_context():
        for number in range(count):
            messages.password_changed(User(email=f"person{number}@example.org",
                                           name=f"Person {number}"))
        db.session.commit()


def build_index(runner) -> None:
    built = runner.invoke(args=["search", "rebuild", "--processes", "1"])
    assert built.exit_code == 0, built.output


# Health ---------------------------------------------------------------------------


def test_healthz_answers_without_asking_the_database(app_config, tmp_path):
    away = create_app({**app_config,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/gone/db.sqlite3"})
    response = away.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"


def test_readyz_reports_each_part_without_personal_data(app, client, runner):
    build_index(runner)
    queue_mail(app, 2)
    response = client.get("/readyz")
    assert response.status_code == 200
    report = response.get_json()
    assert report["ready"] is True
    checks = report["checks"]
    assert checks["database"]["ok"] and checks["index"]["ok"]
    assert checks["schema"]["database"] == checks["schema"]["code"]
    assert checks["outbox"]["pending"] == 2
    assert checks["outbox"]["oldest_pending_seconds"] >= 0
    assert checks["worker"]["ok"] is False and "worker" in report["warnings"]  # none yet
    body = response.get_data(as_text=True)
    assert "person0@example.org" not in body and "Person 0" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_without_an_index_or_a_database(app, app_config, client, tmp_path):
    missing_index = client.get("/readyz")
    assert missing_index.status_code == 503
    assert missing_index.get_json()["checks"]["index"]["ok"] is False
    away = create_app({**app_config,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/gone/db.sqlite3"})
    response = away.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}


# The worker's heartbeat --------------------------------------------------------------


def test_a_stopped_worker_shows_on_readyz_and_on_the_admin_dashboard(
        app, client, browser, runner, make_user):
    build_index(runner)
    with app.app_context():
        record_heartbeat("host-a/worker", started_at=utcnow())
        record_heartbeat("host-b/worker", started_at=utcnow() - timedelta(hours=1),
                         now=utcnow() - timedelta(minutes=5))
    report = client.get("/readyz").get_json()
    assert report["checks"]["worker"]["ok"] is True
    assert report["checks"]["worker"]["stopped"] == ["host-b/worker"]

    make_user("lead@example.org", admin=True)
    browser.log_in("lead@example.org")
    page = browser.get("/admin/").get_data(as_text=True)
    assert "host-b/worker" in page and "stopped" in page
    assert "No background worker is running" not in page

    with app.app_context():
        record_heartbeat("host-a/worker", started_at=utcnow(), stopped=True)
    assert client.get("/readyz").get_json()["warnings"] == ["worker"]
    assert "No background worker is running" in browser.get("/admin/").get_data(as_text=True)


def test_the_worker_records_its_heartbeat_and_its_clean_stop(app, runner):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        [beat] = db.session.scalars(select(WorkerHeartbeat)).all()
        assert beat.stopped_at is not None
        assert utcnow() - beat.beat_at < timedelta(minutes=1)


# Deploys -----------------------------------------------------------------------------


def test_an_app_on_an_older_schema_refuses_to_serve_until_upgraded(app, app_config, client):
    with app.app_context():
        [head] = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
        db.session.execute(text("UPDATE alembic_version SET version_num = '0007'"))
        db.session.commit()
    behind = create_app(app_config).test_client()
    refused = behind.get("/")
    assert refused.status_code == 503
    assert "being upgraded" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"]
    assert behind.get("/healthz").status_code == 200
    assert behind.get("/readyz").get_json()["checks"]["schema"]["ok"] is False

    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()
    assert create_app(app_config).test_client().get("/").status_code == 200


def test_a_database_ahead_of_the_code_is_still_served(app, app_config):
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
        db.session.commit()
    assert create_app(app_config).test_client().get("/").status_code == 200


def database_url_for_a_process(app_config, **connect) -> str:
    """The test's database as a DATABASE_URL another process can use (with its schema)."""
    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    options = connect or app_config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {})
    if "options" in options:
        url = url.update_query_dict({"options": options["options"]})
    return url.render_as_string(hide_password=False)


def process_env(app_config, tmp_path, **extra) -> dict:
    return {**os.environ, "DATABASE_URL": database_url_for_a_process(app_config),
            "REGISTER_ENV": "development", "SECRET_KEY": app_config["SECRET_KEY"],
            "SEARCH_INDEX_DIR": str(tmp_path / "index"), **extra}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_db_upgrade_from_several_hosts_at_once_migrates_once(app_config, database, tmp_path):
    """Three hosts run `flask db upgrade` on an empty schema together: none fails."""
    import uuid

    url = database["SQLALCHEMY_DATABASE_URI"]
    schema = f"register_deploy_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        env = process_env(app_config, tmp_path, DATABASE_URL=database_url_for_a_process(
            app_config, options=f"-csearch_path={schema}"))
        hosts = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "db",
                                   "upgrade"], cwd=REPOSITORY, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(3)]
        outputs = [host.communicate(timeout=120) for host in hosts]
        assert [host.returncode for host in hosts] == [0, 0, 0], outputs
        with admin.connect() as connection:
            versions = connection.execute(
                text(f'SELECT version_num FROM "{schema}".alembic_version')).scalars().all()
        assert len(versions) == 1
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# Mail: a crashed sender holds one message for seconds ----------------------------------


class _Stalling(_Handler):
    """A relay that takes the first message and never answers, as if the sender died."""

    def __init__(self):
        super().__init__()
        self.stalled = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.stalled.is_set():
            self.stalled.set()
            await asyncio.sleep(30)
        return await super().handle_DATA(server, session, envelope)


def test_a_sender_killed_mid_send_holds_one_message_for_one_short_lease(
        app, app_config, tmp_path):
    queue_mail(app, 5)
    handler = _Stalling()
    port = free_port()
    relay = Controller(handler, hostname="127.0.0.1", port=port)
    relay.start()
    env = process_env(app_config, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port))
    sender = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send"],
                              cwd=REPOSITORY, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert handler.stalled.wait(20), "the sender never reached the relay"
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(10)
        killed_at = utcnow()
        with app.app_context():
            rows = db.session.scalars(select(OutboxMessage)).all()
            claimed = [row for row in rows if row.claimed_by]
            assert len(claimed) == 1  # only the message on the wire, not a batch
            assert claimed[0].claimed_until - killed_at <= timedelta(seconds=31)
    finally:
        relay.stop()

    from tests.conftest import SMTPServer

    working = SMTPServer()
    working.start()
    try:
        other = create_app({**app_config, "MAIL_PORT": working.port})
        with other.app_context():
            from register.mail.outbox import drain

            assert drain().sent == 4  # the others go at once
            db.session.execute(text("UPDATE outbox_message SET claimed_until = :t "
                                    "WHERE claimed_by IS NOT NULL"),
                               {"t": utcnow() - timedelta(seconds=1)})  # 30 seconds pass
            db.session.commit()
            assert drain().sent == 1
            db.session.remove()
            db.engine.dispose()
        working.wait_for(5)
    finally:
        working.stop()


# Several hosts: jobs for the whole register run on one worker at a time ----------------


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_register_wide_job_waits_while_another_host_runs_it(app, database, runner):
    import zlib

    from register.auth.models import LoginAttempt

    with app.app_context():
        db.session.add(LoginAttempt(email="someone@example.org", address="192.0.2.1",
                                    created_at=utcnow() - timedelta(days=2)))
        db.session.commit()

    def attempts_left() -> int:
        with app.app_context():
            return len(db.session.scalars(select(LoginAttempt)).all())

    other_host = create_engine(database["SQLALCHEMY_DATABASE_URI"],
                               **database.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    key = zlib.crc32(b"register.worker.forget_old_login_failures")
    with other_host.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        assert runner.invoke(args=["worker", "--once"]).exit_code == 0
        assert attempts_left() == 1  # the other host has it
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.commit()
    other_host.dispose()
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    assert attempts_left() == 0
