"""Configuration: embedded development defaults, overridden by the environment.

Every setting in DESIGN.md's list can come from an environment variable of the
same name. In production (anything that is not debug, testing or
REGISTER_ENV=development) the app refuses to start without a real SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

# Keys that, if they ever reach production, mean nobody set one.
WEAK_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "development"}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message says what to set."""


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// or postgresql:// URLs; we use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: str, env: dict[str, str] | None = None) -> dict:
    """Build the configuration mapping from the environment and the defaults."""
    env = dict(os.environ if env is None else env)
    instance = Path(instance_path)
    scheme = env.get("PREFERRED_URL_SCHEME", "http")
    secure_cookies = scheme == "https"
    config = {
        "REGISTER_ENV": env.get("REGISTER_ENV", ""),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": _database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'register.sqlite3'}"
        ),
        "SEARCH_INDEX_DIR": env.get("SEARCH_INDEX_DIR") or str(instance / "search-index"),
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT") or 25),
        "MAIL_USE_TLS": _flag(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _flag(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER")
        or "Mentor Register <register@localhost>",
        # Flask-Mail suppresses sending under app.testing; our outbox decides instead.
        "MAIL_SUPPRESS_SEND": False,
        "PREFERRED_URL_SCHEME": scheme,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Behind a reverse proxy, how many X-Forwarded-For hops to trust. The
        # forwarded scheme and host are trusted only when asked for separately:
        # a client that reaches the app directly could otherwise claim any.
        "PROXY_FIX_X_FOR": int(env.get("PROXY_FIX_X_FOR") or 0),
        "PROXY_FIX_X_PROTO": int(env.get("PROXY_FIX_X_PROTO") or 0),
        "PROXY_FIX_X_HOST": int(env.get("PROXY_FIX_X_HOST") or 0),
        # Host names the app answers to besides SERVER_NAME (comma-separated);
        # any other Host header is refused with 400 once one is known.
        "TRUSTED_HOSTS": [host.strip() for host in env.get("TRUSTED_HOSTS", "").split(",")
                          if host.strip()] or None,
        # How many worker processes serve (gunicorn reads the same variable).
        "WEB_CONCURRENCY": env.get("WEB_CONCURRENCY", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        # Server-side sessions (register.auth.sessions): idle and absolute
        # lifetimes, the bounded "keep me logged in", and how often the last
        # use is written down.
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES") or 120),
        "SESSION_ABSOLUTE_HOURS": int(env.get("SESSION_ABSOLUTE_HOURS") or 12),
        "REMEMBER_DAYS": int(env.get("REMEMBER_DAYS") or 30),
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("REMEMBER_DAYS") or 30)),
        "SESSION_TOUCH_SECONDS": 60,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session does
        # Outbox: how much to send right after a request, and when to give up.
        "MAIL_DRAIN_AFTER_REQUEST": True,
        "MAIL_DRAIN_BATCH": 20,
        "MAIL_DRAIN_SECONDS": 5.0,
        "MAIL_GIVE_UP_AFTER_HOURS": 72,
        "MAIL_TIMEOUT_SECONDS": 10,
        # Meeting times are stored in UTC and typed and shown in this zone.
        "MENTORSHIP_TIMEZONE": env.get("MENTORSHIP_TIMEZONE") or "Europe/London",
        "SEARCH_SYNC_AFTER_REQUEST": True,
        # PostgreSQL: seconds to wait for a connection, a statement, a pooled connection.
        "DATABASE_CONNECT_TIMEOUT": int(env.get("DATABASE_CONNECT_TIMEOUT") or 5),
        "DATABASE_STATEMENT_TIMEOUT": float(env.get("DATABASE_STATEMENT_TIMEOUT") or 15),
        "DATABASE_POOL_TIMEOUT": float(env.get("DATABASE_POOL_TIMEOUT") or 5),
        # Login throttling (register.auth.services.check_login_allowed): failures
        # allowed per account from one address and per address inside the window,
        # and, over a longer window, per account from everywhere.
        "LOGIN_WINDOW_MINUTES": 15,
        "LOGIN_MAX_FAILURES_PER_PAIR": 5,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
        "LOGIN_ACCOUNT_WINDOW_MINUTES": 60,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": 50,
        # Argon2id cost; tests lower it, production keeps the library's defaults.
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_COST": 65536,
        # Who runs the register, named in the footer, privacy notice and contact page.
        "ORGANISATION_NAME": env.get("ORGANISATION_NAME") or "Example Professional Society",
        "CONTACT_EMAIL": env.get("CONTACT_EMAIL") or "mentoring@example.org",
    }
    if env.get("SERVER_NAME"):
        config["SERVER_NAME"] = env["SERVER_NAME"]
    return config


def is_development(app) -> bool:
    """Development means the debugger is on, we are testing, or it was asked for."""
    return app.debug or app.testing or app.config.get("REGISTER_ENV") == "development"


def check_secret_key(app) -> None:
    """Refuse to run in production on a missing or guessable key; invent one in development.

    Production without MAIL_SERVER sends through a relay on the host itself.
    """
    key = app.config.get("SECRET_KEY") or ""
    if is_development(app):
        if not key:
            app.config["SECRET_KEY"] = _development_secret_key(Path(app.instance_path))
        return
    if not app.config.get("MAIL_SERVER"):
        app.config["MAIL_SERVER"] = "localhost"
        app.logger.warning("MAIL_SERVER is not set: sending email through localhost:%s",
                           app.config["MAIL_PORT"])
    if key.strip().lower() in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "SECRET_KEY must be set to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters in production, for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`. "
            "For local development, run with FLASK_DEBUG=1 or REGISTER_ENV=development."
        )


def _development_secret_key(instance: Path) -> str:
    # A key of our own per checkout, kept in instance/, so sessions survive restarts
    # without a well-known key ever being embedded in the code.
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def trust_the_server_name(app) -> None:
    """Answer only to SERVER_NAME and the TRUSTED_HOSTS given: a foreign Host gets 400.

    Flask 3.1 no longer refuses other hosts because SERVER_NAME is set, and a
    forged Host would otherwise reach every page (and any link built from it).
    """
    hosts = list(app.config.get("TRUSTED_HOSTS") or [])
    server_name = app.config.get("SERVER_NAME")
    if server_name and server_name not in hosts:
        hosts.append(server_name)
    app.config["TRUSTED_HOSTS"] = hosts or None


def check_rate_limit_storage(app) -> None:
    """Refuse to run in production with limits counted in one process's memory, unless
    told only one process serves (WEB_CONCURRENCY=1).

    With several workers each keeps its own counts, so every limit multiplies by
    the number of workers.
    """
    if is_development(app) or app.config.get("RATELIMIT_ENABLED") is False:
        return
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith("memory://"):
        return
    workers = str(app.config.get("WEB_CONCURRENCY") or "").strip()
    if workers == "1":
        return
    told = (f"WEB_CONCURRENCY={workers} means several processes" if workers
            else "WEB_CONCURRENCY is not set, so more than one process may serve")
    raise ConfigError(
        f"RATELIMIT_STORAGE_URI is memory://, but {told}: each would count request limits "
        "on its own. Set RATELIMIT_STORAGE_URI=redis://HOST:6379/0 (or another shared "
        "storage such as memcached:// or mongodb://), or WEB_CONCURRENCY=1 if exactly one "
        "process serves the register."
    )
