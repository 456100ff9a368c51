"""Command-line tools, run as `flask --app wsgi COMMAND`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from register.extensions import db


def init_app(app: Flask) -> None:
    """Attach the commands to `app`."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(mail_group)
    app.cli.add_command(worker_command)


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--name", help="Display name for a new account.")
def create_admin_command(email: str, name: str | None) -> None:
    """Make EMAIL an administrator, creating the account if needed.

    A new account asks for a password (typed twice, not shown).
    """
    from register.auth import services

    password = None
    if services.find_user(email) is None:
        password = click.prompt("Password for the new administrator", hide_input=True,
                                confirmation_prompt=True)
    try:
        user, created = services.create_admin(email, name=name, password=password)
    except services.AuthError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"{'Created' if created else 'Promoted'} administrator {user.email}.")


@click.command("demo-data")
@with_appcontext
@click.option("--mentors", default=0, show_default=True,
              help="How many demonstration mentor accounts to add.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the register has accounts.")
def demo_data_command(mentors: int, if_empty: bool) -> None:
    """Load demonstration accounts (the README lists their logins)."""
    from flask import current_app

    from register import demo
    from register.auth.models import User
    from register.config import is_development

    if not is_development(current_app):
        raise click.ClickException(
            "Demo data has well-known passwords, so it loads only in development "
            "(FLASK_DEBUG=1 or REGISTER_ENV=development)."
        )

    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The register already has accounts; no demo data loaded.")
        return
    summary = demo.load(mentors=mentors)
    db.session.commit()
    click.echo(summary)


@click.group("mail", cls=AppGroup)
def mail_group() -> None:
    """The outbox of email."""


@mail_group.command("send")
def mail_send_command() -> None:
    """Send every message that is due, once, and report what happened."""
    from register.mail.outbox import drain

    result = drain()
    click.echo(f"Sent {result.sent}, to retry {result.retried}, given up {result.failed}.")


@click.command("worker")
@with_appcontext
@click.option("--interval", default=2.0, show_default=True,
              help="Seconds to rest when there is nothing to do.")
@click.option("--once", is_flag=True, help="Run every job once and stop.")
def worker_command(interval: float, once: bool) -> None:
    """Run the background jobs until stopped: send mail (and later, sync search)."""
    from register.worker import run

    run(interval=interval, once=once)
