"""Fixtures for journeys in a real browser: a live server, Chromium, and page checks.

Loaded as a pytest plugin from conftest.py. The app runs exactly as in
production on a werkzeug server in a thread (mail is sent after each request,
to the session's SMTP server); Chromium is Debian's, driven by Playwright.
Every page a test opens is watched: an error in the browser console, such as
a Content-Security-Policy refusal, fails the test, and `audit(page)` runs
axe-core on what the page shows at that moment.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from register import create_app
from register.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Impacts that fail a test: every one, minor included (issue 12's quality bar).
ALL_IMPACTS = {"minor", "moderate", "serious", "critical"}
BLOCKING_IMPACTS = ALL_IMPACTS
# Only the serious ones, for a page that cannot meet the stricter bar yet (say why).
SERIOUS_IMPACTS = {"serious", "critical"}
# Words with which Chromium reports a Content-Security-Policy refusal.
CSP_WORDS = re.compile(r"Content Security Policy|Refused to", re.IGNORECASE)


def _unavailable(reason: str):
    """Skip the browser tests, unless REQUIRE_BROWSER=1 says they must run."""
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


# The server ---------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Serves requests without an access log line for each (errors are still logged)."""

    def log_request(self, code="-", size="-"):
        pass


class _ClosedWhenSent:
    """A response body that runs its close() as soon as the last byte is written.

    PEP 3333 wants close() called however the request ends; it is where the
    app sends mail after the response (`call_on_close`). After each response,
    werkzeug's development server discards unread input first, and when the
    browser has reset the connection (Chromium sometimes does after a
    redirect from a POST) that read raises and close() is skipped, so the
    mail would wait for the worker. Production servers close the body right
    after writing it; so does this wrapper.
    """

    def __init__(self, body):
        self.body = body
        self.closed = False

    def __iter__(self):
        yield from self.body
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            if hasattr(self.body, "close"):
                self.body.close()


def _close_bodies_when_sent(app):
    def wsgi(environ, start_response):
        return _ClosedWhenSent(app(environ, start_response))

    return wsgi


@dataclass
class LiveServer:
    """The running app: its base URL, the Flask app behind it, and where its mail goes."""

    url: str
    app: object
    smtp_server: object

    def email(self, to: str, subject_contains: str = "", timeout: float = 10.0):
        """The newest message to `to` whose subject contains the words, waiting for it.

        If none comes, the failure shows what the outbox holds, so a message
        stuck there (and why) is told apart from one never queued.
        """
        deadline = time.monotonic() + timeout
        handler = self.smtp_server.handler
        with handler.arrived:
            while True:
                found = [m for m in handler.received
                         if to in m.rcpt_tos and subject_contains in (m.subject or "")]
                if found:
                    return found[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                handler.arrived.wait(remaining)
            arrived = [(m.rcpt_tos, m.subject) for m in handler.received]
        raise AssertionError(
            f"no email to {to} about {subject_contains!r} within {timeout} s.\n"
            f"Arrived: {arrived}\nIn the outbox:\n{self._outbox()}"
        )

    def _outbox(self) -> str:
        from register.mail.models import OutboxMessage

        with self.app.app_context():
            try:
                rows = db.session.scalars(db.select(OutboxMessage)).all()
                return "\n".join(
                    f"  {r.id} to {r.recipient} {r.subject!r}: {r.status}, {r.attempts} "
                    f"attempts, claimed by {r.claimed_by}, last error {r.last_error!r}"
                    for r in rows
                ) or "  nothing"
            finally:
                db.session.remove()


@pytest.fixture
def live_server(app_config, smtp_server):
    """The register served over HTTP on 127.0.0.1, sending mail after each request as in
    production (the test client's apps leave that to the test).

    Uses the test's own migrated database (through `app_config`) and the
    session's SMTP server, whose inbox is emptied first.
    """
    config = {**app_config, "MAIL_DRAIN_AFTER_REQUEST": True}
    app = create_app(config)
    with smtp_server.handler.arrived:
        smtp_server.handler.received.clear()
    server = make_server("127.0.0.1", 0, _close_bodies_when_sent(app), threaded=True,
                         request_handler=_QuietHandler)
    # Request threads are joined at shutdown, so mail still being sent after the
    # last response finishes before the database goes away.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, smtp_server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# Email ----------------------------------------------------------------------


def link_in(message, path_part: str) -> str:
    """The first link in the message's text whose URL contains `path_part`."""
    for link in message.links():
        if path_part in link:
            return link
    raise AssertionError(f"no link containing {path_part!r} in:\n{message.text}")


# The browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, launched once for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package `playwright` is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_SCRIPT.exists():
        _unavailable(f"axe-core is missing at {AXE_SCRIPT} (run `npm ci`)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class PageWatch:
    """What the browser said while a page was open: console errors and uncaught exceptions."""

    problems: list[str] = field(default_factory=list)
    page_url: str = ""  # the document now shown, to tell its own status from its resources'

    def on_console(self, message) -> None:
        text, source = message.text, message.location.get("url", "")
        if CSP_WORDS.search(text):
            kind = "CSP violation" if "Content Security Policy" in text else "refused"
            self.problems.append(f"{kind}: {text}")
        elif text.startswith("[DOM]"):
            # Chromium's own review of the markup: duplicate ids, password forms
            # that password managers cannot tie to an account, and the like.
            self.problems.append(f"Chromium finds fault with the page: {text}")
        elif message.type != "error":
            return
        elif text.startswith(("htmx:sendAbort", "htmx:afterRequest")):
            # Active search drops a stale request when a newer one starts
            # (hx-sync="this:replace"), and htmx logs every abort as an error.
            return
        elif text.startswith("Failed to load resource") and source == self.page_url:
            # The page itself answered 4xx (a form sent back with its errors, say):
            # the test judges that by what the page shows.
            return
        else:
            self.problems.append(f"console error: {text} ({source})")

    def on_navigated(self, frame) -> None:
        if frame.parent_frame is None:
            self.page_url = frame.url

    def on_page_error(self, error) -> None:
        self.problems.append(f"uncaught JavaScript error: {error}")

    def take(self) -> list[str]:
        """The problems seen so far, forgetting them."""
        problems, self.problems = self.problems, []
        return problems


@pytest.fixture
def open_page(chromium, live_server):
    """Open a page in a fresh browser context: open_page(java_script_enabled=False).

    Each page is watched (see PageWatch); whatever it reported after the
    test's last audit fails the test at teardown.
    """
    opened = []

    def open_(**context_options):
        context = chromium.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        # The watch and the JavaScript setting travel with the page, for audit().
        watch = PageWatch()
        page.on("console", watch.on_console)
        page.on("framenavigated", watch.on_navigated)
        page.on("pageerror", watch.on_page_error)
        page.watch = watch
        page.java_script_enabled = context_options.get("java_script_enabled", True)
        opened.append((context, page))
        return page

    yield open_
    leftovers = []
    for context, page in opened:
        leftovers += page.watch.take()
        context.close()
    assert not leftovers, "the browser reported problems:\n" + "\n".join(leftovers)


@pytest.fixture
def page(open_page):
    """A page with JavaScript on, in a fresh context, on the live server."""
    return open_page()


# Accessibility --------------------------------------------------------------------


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def _run_axe(page, impacts=None) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    if impacts is None:
        impacts = BLOCKING_IMPACTS
    return [v for v in results["violations"] if v["impact"] in impacts]


def _run_axe_on_copy(page, impacts=None) -> list[dict]:
    # axe-core needs scripts to run, so a page opened with JavaScript off is
    # audited as a copy: the same markup, at the same address (for its styles),
    # in a context of its own with JavaScript on.
    html, url = page.content(), page.url
    context = page.context.browser.new_context()
    try:
        copy = context.new_page()
        copy.route(lambda address: address == url, lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html))
        copy.goto(url)
        return _run_axe(copy, impacts)
    finally:
        context.close()


def assert_quiet(page) -> None:
    """Fail if the browser reported a CSP violation or a JavaScript error on this page."""
    problems = page.watch.take()
    assert not problems, f"on {page.url} the browser reported:\n" + "\n".join(problems)


def audit(page, impacts=None) -> None:
    """Check the page as it is now: no serious accessibility problem, nothing in the console.

    `impacts` names the axe-core impacts that fail: every impact unless given.

    axe-core is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the policy stays as strict
    for the test as for a visitor (no bypass_csp).
    """
    assert_quiet(page)
    blocking = (_run_axe(page, impacts) if page.java_script_enabled
                else _run_axe_on_copy(page, impacts))
    assert not blocking, (
        f"axe-core found accessibility problems on {page.url}:\n" + _describe(blocking)
    )
    assert_quiet(page)
