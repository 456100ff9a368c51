"""SQLite tuned for a web server, and the migrations that make every schema."""

import threading

import pytest
from sqlalchemy import func, select, text

from register.auth.models import User
from register.database import utcnow
from register.extensions import db


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_concurrent_writers_wait_instead_of_failing(app):
    """Eight threads each read-then-write twenty times; no 'database is locked'."""
    errors = []

    def writer(number):
        try:
            for step in range(20):
                with app.app_context():
                    # A read first, then a write: the pattern that fails under deferred
                    # transactions when two writers upgrade their locks at once.
                    count = db.session.scalar(select(func.count()).select_from(User))
                    db.session.add(User(email=f"w{number}-{step}@example.org",
                                        name=f"Writer {count}", email_verified_at=utcnow()))
                    db.session.commit()
        except Exception as error:  # collected and reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 160


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_migrations_match_the_models(app):
    """The migrated schema is what the models say: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, db.metadata)
        dialect = connection.dialect.name

    # Indexes the models build on another database only (Index(...).ddl_if(dialect=...)).
    elsewhere = {index.name for table in db.metadata.tables.values() for index in table.indexes
                 if getattr(index, "_ddl_if", None) is not None
                 and index._ddl_if.dialect not in (None, dialect)}
    differences = [d for d in differences
                   if not (d[0] == "add_index" and d[1].name in elsewhere)]
    assert differences == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_timestamps_come_back_in_utc(app, make_user):
    user = make_user()
    assert user.created_at.tzinfo is not None
    assert abs((utcnow() - user.created_at).total_seconds()) < 60


def test_read_only_work_does_not_hold_the_write_lock(app):
    """A long read (a search rebuild) must not keep writers waiting on SQLite."""
    from register.database import reading

    def write_elsewhere():
        with app.app_context():
            db.session.add(User(email="writer@example.org", name="Writer",
                                email_verified_at=utcnow()))
            db.session.commit()

    with app.app_context(), reading():
        db.session.scalar(select(func.count()).select_from(User))  # a transaction is open
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        writer.join(timeout=5)
        assert not writer.is_alive()  # the write went through while we were reading
        db.session.rollback()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_postgresql_gets_timeouts_and_a_ping_and_keeps_its_own_options():
    from register.database import engine_options

    options = engine_options({
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db/register?options=-csearch_path%3Dx",
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-capplication_name=web"}},
        "DATABASE_CONNECT_TIMEOUT": 4, "DATABASE_STATEMENT_TIMEOUT": 2.5,
        "DATABASE_POOL_TIMEOUT": 3,
    })
    assert options["pool_pre_ping"] is True and options["pool_timeout"] == 3
    connect = options["connect_args"]
    assert connect["connect_timeout"] == 4
    # The URL's and the caller's options both survive beside the timeouts.
    assert "-csearch_path=x" in connect["options"]
    assert "-capplication_name=web" in connect["options"]
    assert "statement_timeout=2500" in connect["options"]
    assert engine_options({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}) == {}
