"""The background worker: repeatedly runs each job, sleeping when all are idle.

Each job is a function that returns how much work it did. Errors in one job
are logged and do not stop the others. SIGTERM and SIGINT end the loop
after the current pass.
"""

from __future__ import annotations

import signal
import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from register.database import utcnow, writing
from register.extensions import db
from register.web import log_outage


def send_mail() -> int:
    """Send the mail that is due."""
    from register.mail.outbox import drain

    result = drain(max_seconds=30)
    # A message put back for later is not work done: with the relay down the worker
    # rests between tries instead of knocking on it in a tight loop.
    return result.sent + result.failed


def forget_old_login_failures() -> int:
    """Drop failed-login records older than a day: they no longer matter to throttling."""
    from register.auth.models import LoginAttempt

    with writing():
        db.session.execute(
            delete(LoginAttempt).where(LoginAttempt.created_at < utcnow() - timedelta(days=1))
        )
        db.session.commit()
    return 0  # housekeeping never keeps the worker from resting


def sync_search() -> int:
    """Bring this host's search index up to date with the change log."""
    from register.search.sync import sync

    return sync(max_seconds=10).applied


def forget_old_search_stats() -> int:
    """Delete search statistics older than twelve months."""
    from register.search.stats import forget_old

    forget_old()
    return 0  # housekeeping never keeps the worker from resting


def resume_returning_mentors() -> int:
    """Lift pauses whose return date has come."""
    from register.mentors.services import resume_returned_mentors

    with writing():
        resumed = resume_returned_mentors()
        db.session.commit()
    return resumed


def remind_and_expire_requests() -> int:
    """Remind mentors of requests a week old; expire those a fortnight old."""
    from register.introductions.services import remind_and_expire
    from register.mail.links import links_for_email

    with writing(), links_for_email():
        remind_and_expire()
        db.session.commit()
    return 0  # everything due was handled in this pass


def remind_mentorships() -> int:
    """Send the mentorships' check-ins and reminders that are due, each once."""
    from register.mail.links import links_for_email
    from register.mentorships.services import remind

    with writing(), links_for_email():
        remind()
        db.session.commit()
    return 0  # everything due was handled in this pass


def roll_up_report_days() -> int:
    """Keep the figures of each day of requests that can no longer change (reports)."""
    from register.reports.rollups import roll_up

    with writing():
        roll_up()
        db.session.commit()
    return 0  # a day finishes once a day; nothing more to do this pass


# Jobs that need doing once for the whole register, not once per host: with several
# hosts on PostgreSQL, one worker at a time runs each (the others skip it that pass).
# Mail needs no lock (each message is claimed), and each host syncs its own index.
ONE_HOST_AT_A_TIME = {"resume_returning_mentors", "remind_and_expire_requests",
                      "remind_mentorships", "forget_old_login_failures",
                      "roll_up_report_days", "forget_old_search_stats"}


@contextmanager
def _one_host_at_a_time(job: Callable[[], int]):
    """Yield True if this worker may run `job` now: always on SQLite (one host); on
    PostgreSQL only while it holds the job's advisory lock."""
    if job.__name__ not in ONE_HOST_AT_A_TIME or db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"register.worker.{job.__name__}".encode())
    with db.engine.connect() as connection:
        ours = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                  {"key": key}).scalar()
        connection.commit()
        try:
            yield bool(ours)
        finally:
            if ours:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


# Each job with the least number of seconds between two of its runs.
JOBS: list[tuple[Callable[[], int], float]] = [
    (send_mail, 0),
    (sync_search, 0),
    (resume_returning_mentors, 600),
    (remind_and_expire_requests, 300),
    (remind_mentorships, 300),
    (forget_old_login_failures, 3600),
    (roll_up_report_days, 3600),
    (forget_old_search_stats, 3600),
]


def run(*, interval: float = 2.0, once: bool = False) -> None:
    """Loop over the jobs until a signal arrives (or once, with `once`)."""
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        current_app.logger.info("Worker stopping after this pass (signal %s)", signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    current_app.logger.info("Worker started")
    last_run: dict[Callable, float] = {}
    heartbeat = _Heartbeat()
    try:
        while not stopping:
            heartbeat.beat()
            busy = 0
            for job, every in JOBS:
                if time.monotonic() - last_run.get(job, -1e9) < every:
                    continue
                last_run[job] = time.monotonic()
                try:
                    with _one_host_at_a_time(job) as ours:
                        busy += job() if ours else 0
                except (OperationalError, PoolTimeout) as error:
                    # The database is away: one line per kind of failure, not a traceback
                    # per job per pass.
                    db.session.rollback()
                    log_outage(error)
                except Exception:
                    db.session.rollback()
                    current_app.logger.exception("Worker job %s failed", job.__name__)
                finally:
                    db.session.remove()
            if once:
                break
            if not busy:
                _sleep(interval, lambda: stopping)
    finally:
        heartbeat.beat(stopped=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Heartbeat:
    """Writes this worker's heartbeat row every few seconds; /readyz and the admin read it.

    A heartbeat that cannot be written (the database is away) is logged and
    skipped: the jobs report the same outage themselves.
    """

    EVERY_SECONDS = 5.0

    def __init__(self):
        from register.operations import worker_name

        self.name = worker_name()
        self.started_at = utcnow()
        self.last = -1e9

    def beat(self, stopped: bool = False) -> None:
        from register.operations import record_heartbeat

        if not stopped and time.monotonic() - self.last < self.EVERY_SECONDS:
            return
        self.last = time.monotonic()
        try:
            record_heartbeat(self.name, started_at=self.started_at, stopped=stopped)
        except Exception as error:  # noqa: BLE001
            db.session.rollback()
            current_app.logger.warning("Worker heartbeat not recorded: %s",
                                       str(error).splitlines()[0] if str(error) else error)
        finally:
            db.session.remove()


def _sleep(seconds: float, stopped: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stopped():
        time.sleep(min(0.2, end - time.monotonic()))
