"""Configuration: environment variables, production safety, development defaults."""

import pytest

from register import create_app
from register.config import ConfigError, from_environment


def test_environment_variables_are_read(tmp_path):
    config = from_environment(str(tmp_path), {
        "DATABASE_URL": "postgres://u:p@db.internal/register",
        "SEARCH_INDEX_DIR": "/srv/index",
        "MAIL_SERVER": "relay.internal",
        "MAIL_PORT": "587",
        "MAIL_USE_TLS": "true",
        "MAIL_USERNAME": "register",
        "MAIL_PASSWORD": "pw",
        "MAIL_DEFAULT_SENDER": "Register <register@body.org>",
        "SERVER_NAME": "register.body.org",
        "PREFERRED_URL_SCHEME": "https",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    })
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal/register"
    assert config["SEARCH_INDEX_DIR"] == "/srv/index"
    assert (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"]) == (
        "relay.internal", 587, True)
    assert config["SERVER_NAME"] == "register.body.org"
    assert config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    # Over https, cookies are marked Secure.
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


def test_defaults_are_local_and_safe(tmp_path):
    config = from_environment(str(tmp_path), {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'register.sqlite3'}"
    assert config["SEARCH_INDEX_DIR"] == str(tmp_path / "search-index")
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not config["SESSION_COOKIE_SECURE"]  # http on a developer's machine


@pytest.mark.parametrize("key", ["", "dev", "change-me", "short-key"])
def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, key):
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("REGISTER_ENV", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_starts_with_a_real_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "a-real-random-value-" + "q" * 30)
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.delenv("REGISTER_ENV", raising=False)
    app = create_app()
    assert not app.debug and app.config["SECRET_KEY"].startswith("a-real-random-value-")
    assert "mail" not in app.blueprints  # the development mailbox does not exist


def test_development_invents_and_keeps_a_key_of_its_own(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("REGISTER_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    first = create_app({"SECRET_KEY": ""})
    second = create_app({"SECRET_KEY": ""})
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32 and key == second.config["SECRET_KEY"]


def production(monkeypatch, tmp_path, **env):
    """The environment of a production start, with `env` on top."""
    monkeypatch.setenv("SECRET_KEY", "a-real-random-value-" + "q" * 30)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    for name in ("REGISTER_ENV", "FLASK_DEBUG", "WEB_CONCURRENCY", "RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("workers", [None, "2", "4"])
def test_production_refuses_limits_counted_per_process_when_several_may_serve(
    monkeypatch, tmp_path, workers
):
    production(monkeypatch, tmp_path, **({"WEB_CONCURRENCY": workers} if workers else {}))
    with pytest.raises(ConfigError, match=r"RATELIMIT_STORAGE_URI=redis://"):
        create_app()


@pytest.mark.parametrize("env", [{"WEB_CONCURRENCY": "1"},
                                 {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
                                  "WEB_CONCURRENCY": "4"}])
def test_production_starts_with_shared_limits_or_one_process(monkeypatch, tmp_path, env):
    production(monkeypatch, tmp_path, **env)
    assert not create_app().debug


def test_the_proxy_settings_and_trusted_hosts_are_read(tmp_path):
    config = from_environment(str(tmp_path), {
        "PROXY_FIX_X_FOR": "1", "TRUSTED_HOSTS": "mentoring.example.org, .internal.example"})
    assert (config["PROXY_FIX_X_FOR"], config["PROXY_FIX_X_PROTO"],
            config["PROXY_FIX_X_HOST"]) == (1, 0, 0)
    assert config["TRUSTED_HOSTS"] == ["mentoring.example.org", ".internal.example"]
