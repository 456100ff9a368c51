"""What an operator needs to know the register is running: worker heartbeats,
the state of the mail queue, and whether the database schema matches the code.

Low in the stack (beside `mail`): it reads the outbox but nothing above it, so
the health pages, the admin dashboard and the worker can all use it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from register.database import UTCDateTime, utcnow, writing
from register.extensions import db
from register.mail.models import OutboxMessage

# A worker that has not beaten for this long is taken to have stopped.
WORKER_STALE_AFTER = timedelta(seconds=60)
# Mail waiting longer than this means the worker or the relay needs a look.
MAIL_LATE_AFTER = timedelta(minutes=15)


class WorkerHeartbeat(db.Model):
    """The last sign of life from one worker (one row per host and role)."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def worker_name(role: str = "worker") -> str:
    """This host's name for a worker of `role`: a restarted worker takes over its row."""
    return f"{socket.gethostname()}/{role}"[:120]


def record_heartbeat(name: str, *, started_at: datetime, now: datetime | None = None,
                     stopped: bool = False) -> None:
    """Write (and commit) that worker `name` is alive now, or that it stopped cleanly."""
    now = now or utcnow()
    with writing():
        row = db.session.get(WorkerHeartbeat, name)
        if row is None:
            row = WorkerHeartbeat(name=name, host=socket.gethostname()[:255], pid=os.getpid(),
                                  started_at=started_at, beat_at=now)
            db.session.add(row)
        row.pid = os.getpid()
        row.started_at = started_at
        row.beat_at = now
        row.stopped_at = now if stopped else None
        db.session.commit()


@dataclass(frozen=True)
class WorkerState:
    """One worker as the dashboard shows it."""

    name: str
    beat_at: datetime
    stopped_at: datetime | None
    age_seconds: int
    running: bool


def workers(now: datetime | None = None) -> list[WorkerState]:
    """Every worker that has ever beaten, newest first, with whether it still runs."""
    now = now or utcnow()
    rows = db.session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()))
    return [WorkerState(row.name, row.beat_at, row.stopped_at,
                        int((now - row.beat_at).total_seconds()),
                        row.stopped_at is None and now - row.beat_at < WORKER_STALE_AFTER)
            for row in rows]


def worker_summary(now: datetime | None = None) -> dict:
    """Whether any worker runs, and how long since the last heartbeat (None: never)."""
    found = workers(now)
    latest = found[0] if found else None
    return {
        "ok": any(worker.running for worker in found),
        "last_heartbeat_seconds": latest.age_seconds if latest else None,
        "running": sum(worker.running for worker in found),
        "stopped": [worker.name for worker in found if not worker.running],
    }


def outbox_summary(now: datetime | None = None) -> dict:
    """How much mail waits, and how long the oldest has waited (no addresses, no subjects)."""
    now = now or utcnow()
    pending, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == OutboxMessage.PENDING)
    ).one()
    if oldest is not None and oldest.tzinfo is None:  # func.min bypasses the column type
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    age = int((now - oldest).total_seconds()) if oldest else 0
    failed = db.session.scalar(select(func.count()).where(
        OutboxMessage.status == OutboxMessage.FAILED))
    return {"ok": age < MAIL_LATE_AFTER.total_seconds(), "pending": pending,
            "oldest_pending_seconds": age, "given_up": failed}


# The schema and the code ------------------------------------------------------------

_code_heads: dict[str, tuple[frozenset, frozenset]] = {}


def code_revisions(directory: str | Path) -> tuple[frozenset, frozenset]:
    """(heads, every revision) of the migrations shipped with this code; read once."""
    key = str(directory)
    if key not in _code_heads:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", key)
        scripts = ScriptDirectory.from_config(config)
        _code_heads[key] = (frozenset(scripts.get_heads()),
                            frozenset(rev.revision for rev in scripts.walk_revisions()))
    return _code_heads[key]


def schema_state() -> dict:
    """Compare the database's migration with the code's: ok, or behind (refuse to serve).

    A database *ahead* of this code (another host already upgraded during a
    rolling deploy) is served: migrations here add before they remove.
    """
    directory = current_app.extensions["migrate"].directory
    heads, known = code_revisions(directory)
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as error:
        if "alembic_version" not in str(error):
            raise
        db.session.rollback()
        current = set()
    behind = not current or (current != heads and current <= known)
    return {"ok": not behind, "database": sorted(current), "code": sorted(heads)}
