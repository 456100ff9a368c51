"""Database helpers: a UTC timestamp type, SQLite tuning and the write lock.

SQLite serves a web application well when it is told to: WAL lets readers
carry on while one writer writes, a busy timeout makes a second writer wait
instead of failing, and a write transaction that takes the lock when it
begins (BEGIN IMMEDIATE) cannot fail half-way with "database is locked" when
it tries to upgrade a read lock that another writer holds.
"""

from __future__ import annotations

import sqlite3
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import has_request_context, request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BUSY_TIMEOUT_MS = 10_000

# True or False when code said which it needs; None to decide by the request method.
_write_intent: ContextVar[bool | None] = ContextVar("write_intent", default=None)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC without zone and always returned zone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, zone-aware; the one clock the application reads."""
    return datetime.now(UTC)


class writing:
    """Mark the transactions begun inside this block as writers.

    Requests that change state (POST and friends) are writers already; code
    that writes from a GET request or a background job says so with this.
    """

    intent = True

    def __enter__(self):
        self._token = _write_intent.set(self.intent)

    def __exit__(self, *exc):
        _write_intent.reset(self._token)


class reading(writing):
    """Mark the transactions begun inside this block as readers, which on SQLite take
    no write lock: for long read-only work such as rebuilding the search index, which
    must not keep every writer waiting."""

    intent = False


def _wants_write_lock() -> bool:
    intent = _write_intent.get()
    if intent is not None:
        return intent
    if has_request_context():
        return request.method not in SAFE_METHODS
    # CLI commands, the worker and tests: take the lock, correctness first.
    return True


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection):
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")



def engine_options(config) -> dict:
    """SQLAlchemy engine options with the timeouts a production database needs.

    Without them a database that stops answering holds every web worker until
    gunicorn kills it. On PostgreSQL: a connect timeout, a pool timeout, a
    server-side statement and lock timeout, TCP keepalives, and a ping before a
    pooled connection is reused, so a restarted server costs one reconnect, not
    an error page. Options the caller set (tests set a search_path) are kept.
    """
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if not str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        return options
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_timeout", config.get("DATABASE_POOL_TIMEOUT", 5))
    options.setdefault("pool_recycle", 1800)
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("connect_timeout", int(config.get("DATABASE_CONNECT_TIMEOUT", 5)))
    connect_args.setdefault("keepalives", 1)
    connect_args.setdefault("keepalives_idle", 10)
    connect_args.setdefault("keepalives_interval", 5)
    connect_args.setdefault("keepalives_count", 3)
    statement_ms = int(float(config.get("DATABASE_STATEMENT_TIMEOUT", 15)) * 1000)
    server = (f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms} "
              "-c idle_in_transaction_session_timeout=60000")
    # Options may also come in the URL (?options=-csearch_path=...); keep those too.
    from sqlalchemy.engine import make_url

    in_url = make_url(str(config["SQLALCHEMY_DATABASE_URI"])).query.get("options", "")
    in_url = " ".join(in_url) if isinstance(in_url, tuple) else in_url
    connect_args["options"] = " ".join(
        filter(None, [in_url, connect_args.get("options", ""), server]))
    options["connect_args"] = connect_args
    return options
