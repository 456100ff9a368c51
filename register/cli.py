"""Command-line tools, run as `flask --app wsgi COMMAND`."""

from __future__ import annotations

from contextlib import contextmanager

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
    app.cli.add_command(import_mentors_command)
    app.cli.add_command(search_group)
    app.cli.add_command(requests_group)
    app.cli.add_command(mentorships_group)


@contextmanager
def links_for_email():
    """The mail area's `links_for_email`, with its refusal shown as a command-line error."""
    from register.mail.links import LinksUnavailable
    from register.mail.links import links_for_email as mail_links

    try:
        with mail_links():
            yield
    except LinksUnavailable as error:
        raise click.ClickException(str(error)) from error


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


@click.command("import-mentors")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--publish", is_flag=True, help="Publish the imported profiles straight away.")
@with_appcontext
def import_mentors_command(file, dry_run: bool, publish: bool) -> None:
    """Import mentors from a CSV file (columns in the README); all rows or none."""
    from register.mentors import importing

    content = file.read()
    if "\x00" in content:
        # PostgreSQL cannot store a NUL; say so before any row is planned.
        raise click.ClickException("The file contains a NUL byte (is it a spreadsheet saved "
                                   "as something other than CSV?); nothing was imported.")
    plan = importing.plan(content, publish=publish)
    for column in plan.ignored_columns:
        click.echo(f"Note: the column {column!r} is not used and is ignored.")
    if plan.problems:
        for problem in plan.problems:
            click.echo(str(problem), err=True)
        db.session.rollback()
        raise click.ClickException(
            f"{len(plan.problems)} problem{'s' if len(plan.problems) != 1 else ''} found; "
            "nothing was imported."
        )
    for row in plan.drafts:  # importable, but not complete enough to publish yet
        click.echo(row.draft_note)
    summary = (f"{len(plan.rows)} rows: {plan.count('create')} new, "
               f"{plan.count('update')} existing accounts")
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: {summary}. Nothing was written.")
        return
    with links_for_email():
        outcome = importing.apply(plan, publish=publish, by=None)
        db.session.commit()
    click.echo(f"Imported {summary}: {outcome}")


@click.group("search", cls=AppGroup)
def search_group() -> None:
    """The search index on this host."""


@search_group.command("rebuild")
@click.option("--processes", default=2, show_default=True,
              help="How many processes index at once (one per core is best).")
def search_rebuild_command(processes: int) -> None:
    """Build a fresh index beside the live one and swap it in."""
    from register.search.sync import rebuild

    result = rebuild(processes=max(1, processes))
    rate = result.profiles / result.seconds if result.seconds else 0
    click.echo(f"Indexed {result.profiles} profiles in {result.seconds:.1f}s "
               f"({rate:,.0f} a second).")


@search_group.command("sync")
def search_sync_command() -> None:
    """Apply the changes logged since this index last caught up."""
    from register.search.stats import forget_old
    from register.search.sync import sync

    forget_old()  # search statistics past twelve months
    result = sync()
    if result.waiting:
        raise click.ClickException("The index is busy; the changes stay queued. Try again.")
    if result.rebuilt:
        # A rebuild reads every published profile: nothing is left to apply, and
        # "Applied 0 changes" right after it read as if nothing had happened.
        if any("no index has been built" in problem for problem in result.damage):
            click.echo("Built the search index from every published profile; it is up to "
                       f"date (change {result.high_water}).")
        else:
            click.echo(f"Rebuilt the damaged index ({'; '.join(result.damage)}); it is up to "
                       f"date (change {result.high_water}).")
        return
    if result.applied == 0:
        click.echo(f"The index was already up to date (change {result.high_water}).")
        return
    click.echo(f"Applied {result.applied} changes; up to change {result.high_water}.")


@search_group.command("check")
def search_check_command() -> None:
    """Compare the database with the index and print every difference."""
    from register.search.index import IndexUnavailable
    from register.search.sync import check

    try:
        result = check()
    except IndexUnavailable as error:
        raise click.ClickException(f"{error}. Run `search rebuild`.") from error
    if result.damage:
        for problem in result.damage:
            click.echo(f"Damaged: {problem}")
        raise click.ClickException("The index is damaged. Run `search rebuild` (the worker "
                                   "and `search sync` also rebuild a damaged index).")
    for label, ids in (("missing from the index", result.missing),
                       ("in the index but not published", result.extra),
                       ("out of date in the index", result.stale)):
        if ids:
            shown = ", ".join(map(str, ids[:50])) + (" …" if len(ids) > 50 else "")
            click.echo(f"{len(ids)} profile{'s' if len(ids) != 1 else ''} {label}: {shown}")
    if not result.ok:
        raise click.ClickException("The index differs from the database. "
                                   "Run `search sync`, or `search rebuild`.")
    click.echo("The index matches the database.")


@click.group("requests", cls=AppGroup)
def requests_group() -> None:
    """Introductory requests."""


@requests_group.command("expire")
def requests_expire_command() -> None:
    """Remind mentors of week-old requests and expire fortnight-old ones (the worker does
    this too; running it twice sends nothing twice)."""
    from register.database import writing
    from register.introductions.services import remind_and_expire

    with writing(), links_for_email():
        reminded, expired = remind_and_expire()
        db.session.commit()
    click.echo(f"Reminded {reminded} mentor{'s' if reminded != 1 else ''}; "
               f"expired {expired} request{'s' if expired != 1 else ''}.")


@click.group("mentorships", cls=AppGroup)
def mentorships_group() -> None:
    """Mentorships."""


@mentorships_group.command("remind")
def mentorships_remind_command() -> None:
    """Send the check-ins, stalled reminders and evaluation reminders that are due (the
    worker does this too; each goes once per mentorship and step, however often it runs)."""
    from register.database import writing
    from register.mentorships.services import remind

    with writing(), links_for_email():
        result = remind()
        db.session.commit()
    click.echo(str(result))
