"""Mentor Register: a mentoring register for a professional body."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Flask, g
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from register import config as config_module
from register import extensions as ext


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: environment settings, then `config` on top (for tests)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config_module.from_environment(app.instance_path))
    if config:
        app.config.update(config)
    config_module.check_secret_key(app)
    from register.database import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)

    config_module.check_rate_limit_storage(app)
    config_module.trust_the_server_name(app)

    proxies = {part: app.config[f"PROXY_FIX_X_{part.upper()}"] for part in ("for", "proto", "host")}
    if any(proxies.values()):
        # Each forwarded header is trusted only when its own setting says so.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies["for"], x_proto=proxies["proto"],
                                x_host=proxies["host"])

    # The package's submodules (register.mail among them) shadow names imported
    # here, so the extensions are reached through their module.
    ext.db.init_app(app)
    # Migrations live at the top of the repository, beside the package.
    ext.migrate.init_app(app, ext.db, directory=str(_repository_path("migrations")))
    ext.login_manager.init_app(app)
    ext.login_manager.login_view = "auth.login"
    ext.login_manager.login_message = "Log in to see that page."
    ext.login_manager.login_message_category = "info"
    ext.csrf.init_app(app)
    ext.mail.init_app(app)
    ext.htmx.init_app(app)
    ext.limiter.init_app(app)

    from register import (
        admin,
        auth,
        introductions,
        main,
        matching,
        mentors,
        mentorships,
        models,  # noqa: F401  (every table known to SQLAlchemy and Alembic)
        reports,
        search,
        web,
    )
    from register import mail as mail_area
    from register.auth import guards  # noqa: F401  (the unauthorised handler)

    # Each area's routes attach themselves to its blueprint when its views load.
    for area in ("main", "auth", "mentors", "search", "introductions", "admin", "mail",
                 "matching", "reports", "mentorships"):
        import_module(f"register.{area}.views")

    web.init_app(app)
    app.register_error_handler(SecurityError, web.refuse_an_untrusted_host)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(mentors.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(introductions.bp)
    app.register_blueprint(mentorships.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(matching.bp)
    app.register_blueprint(reports.bp)
    if app.debug:
        app.register_blueprint(mail_area.bp, url_prefix="/dev/mail")

    from register import cli

    cli.init_app(app)
    _after_commit_work(app)
    app.jinja_env.globals["dev_mailbox"] = app.debug
    return app


def _after_commit_work(app: Flask) -> None:
    from register.mail.outbox import drain_after_request
    from register.search.sync import sync_after_request

    @app.after_request
    def _schedule(response):
        # Queued mail is sent, and the search index updated, once the response
        # has gone, so nobody waits on SMTP or Whoosh; whatever fails here the
        # worker does later. Rows a rolled-back request wrote do not exist, so
        # there is nothing to send for them.
        if g.get("outbox_has_mail") and app.config["MAIL_DRAIN_AFTER_REQUEST"]:
            response.call_on_close(lambda: drain_after_request(app))
        if g.get("search_changed") and app.config["SEARCH_SYNC_AFTER_REQUEST"]:
            response.call_on_close(lambda: sync_after_request(app))
        return response


def _repository_path(name: str):
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / name
