"""Shared web helpers: page-or-fragment rendering, security headers, error pages."""

from __future__ import annotations

import threading
from contextlib import suppress
from time import monotonic
from urllib.parse import urljoin, urlsplit

from flask import Flask, Request, Response, abort, current_app, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateError
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidRequestError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from register.extensions import db, htmx


def is_fragment_request() -> bool:
    """True for an htmx request that wants a piece of a page.

    A boosted navigation and a history restore (Back, with nothing cached) want
    the whole page.
    """
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, partial: str | None = None, /, *, status: int = 200, **context) -> Response:
    """Render the whole page, or only its `partial` for an htmx fragment request.

    Every response from here says `Vary: HX-Request`, so no cache hands the
    fragment to a browser that asked for the page, or the other way round.
    """
    fragment = bool(partial) and is_fragment_request()
    template = partial if fragment else page
    response = current_app.make_response(
        (render_template(template, is_fragment=fragment, **context), status))
    response.vary.add("HX-Request")
    return response


def warm(app: Flask) -> None:
    """Do the one-off work of a worker's first page now: compile every template and
    configure the database mappings (together some 40 ms, which the first person to
    search after a deploy or restart would otherwise wait for)."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    for name in app.jinja_env.list_templates(extensions=["html"]):
        # A template that does not compile here belongs to a page this configuration
        # does not serve (the development mail viewer, with its own filters).
        with suppress(TemplateError):
            app.jinja_env.get_template(name)


def safe_next(target: str | None, default_endpoint: str = "main.index") -> str:
    """Where to go after logging in: `target` if it stays on this site, else the default."""
    fallback = url_for(default_endpoint)
    if not target:
        return fallback
    target = target.strip()
    # Browsers treat backslashes as slashes, and "//host" as another site.
    if "\\" in target or target.startswith("//") or any(ord(ch) < 32 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return fallback
    own = urlsplit(urljoin(request.host_url, target))
    if own.netloc != urlsplit(request.host_url).netloc:
        return fallback
    return target


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if _is_personal(response):
        headers["Cache-Control"] = "no-store"
    return response


ERROR_TEXTS = {
    400: ("The request could not be understood",
          "Something in what was sent was not right. Go back, check the form and try again."),
    403: ("You cannot do that here",
          "Your account does not have permission for this page or action. If you think it "
          "should, contact the register's coordinators."),
    404: ("Page not found",
          "There is nothing at this address. Check it for typing mistakes, or start again "
          "from the home page."),
    405: ("That action is not available here",
          "This address does not accept that kind of request. Use the buttons and links on "
          "the page rather than typing the address."),
    413: ("What you sent is too large",
          "The upload or form was larger than we accept. Make it smaller and try again."),
    429: ("Too many attempts",
          "You have tried this too often in a short time. Wait a few minutes, then try again."),
    415: ("That kind of content is not accepted here",
          "Forms here are sent as ordinary web forms. Use the form on the page rather than "
          "another program."),
    422: ("Something in what you sent cannot be stored",
          "Remove any invisible control characters (such as a NUL byte) and try again."),
    500: ("Something went wrong on our side",
          "Nothing you did caused this, and nothing you sent was half-saved. Try again in a "
          "moment; if it keeps happening, tell the register's coordinators."),
    503: ("The register is briefly unavailable",
          "We cannot reach our database just now, so nothing you sent was saved. Try again "
          "in a minute."),
}


def error_response(status: int, detail: str | None = None, headers=None) -> Response:
    """The page (or, for htmx, the message) for an error status."""
    title, advice = ERROR_TEXTS.get(status, ERROR_TEXTS[500] if status >= 500 else ERROR_TEXTS[400])
    context = {"code": status, "title": title, "advice": detail or advice}
    response = render("errors/error.html", "errors/_error.html", status=status, **context)
    if is_fragment_request():
        # Errors go to the page's message area, announced to screen readers,
        # instead of replacing whatever the request was aimed at.
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_http_error(error: HTTPException):
    status = error.code or 500
    # abort(404, "why") carries our own words; werkzeug's stock text is not for our users.
    detail = error.description if error.description != type(error).description else None
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        retry_after = getattr(error, "retry_after", None) or 60
        headers["Retry-After"] = str(int(retry_after))
    return error_response(status, detail, headers)


def _handle_csrf_error(error: CSRFError):
    return error_response(
        400,
        "This form had expired or came from another site, so it was not sent. Reload the "
        "page, check what you entered and send it again.",
    )


def _handle_server_error(error):
    original = getattr(error, "original_exception", None) or error
    if _is_outage(original):
        # An outage that surfaced as something else (code that caught the first
        # failure and went on, then "the transaction was rolled back").
        return _handle_database_outage(original)
    # Whatever the request had half-done is thrown away, never committed.
    db.session.rollback()
    if not isinstance(error, HTTPException):
        current_app.logger.exception("Unhandled error", exc_info=error)
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the headers and the error pages on `app`."""
    app.request_class = StrictRequest
    # Before any route is added: every <int:...> in a URL is bounded by the database.
    app.url_map.converters["int"] = BoundedIntConverter
    # Ahead of CSRF's check, which would read a broken form as an expired one.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_unusable_input)
    app.before_request(_refuse_an_older_schema)
    app.register_error_handler(OperationalError, _handle_database_outage)
    app.register_error_handler(PoolTimeout, _handle_database_outage)
    app.register_error_handler(DBAPIError, _handle_database_outage)
    app.after_request(_security_headers)
    # Registered after Flask-SQLAlchemy's own, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_end_the_session)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(500, _handle_server_error)
    app.register_error_handler(HTTPException, _handle_http_error)


def carry_out(action, success: str, *, about: str = "") -> bool:
    """Run one service call for a button: commit and flash `success`, or, if it broke a
    rule, roll back and flash why (naming what it was `about`, on pages of many
    things). True when it was done."""
    from flask import flash

    from register.errors import RuleBroken

    try:
        action()
    except RuleBroken as error:
        db.session.rollback()
        flash(f"{about}: {error.message}" if about else error.message, "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def save_form(form, action, success: str | None = None) -> bool:
    """For a form posted and valid, run its service call: commit and flash `success`, or,
    if it broke a rule, roll back and show why beside the field it names. True when saved;
    False for a GET, an invalid form or a broken rule (the page shows the form again)."""
    from flask import flash

    from register.errors import RuleBroken

    if not form.validate_on_submit():
        return False
    try:
        action()
    except RuleBroken as error:
        db.session.rollback()
        error.apply_to_form(form)
        return False
    db.session.commit()
    if success:
        flash(success, "success")
    return True


# Faults from outside: what a browser never sends, answered with what was wrong --------

# The largest id a PostgreSQL integer column holds; larger ids name nothing.
DATABASE_INT_MAX = 2**31 - 1
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Tab, line feed and carriage return are text; every other C0 control and DEL is not,
# and NUL cannot be stored by PostgreSQL at all.
CONTROL_CHARACTERS = frozenset(chr(c) for c in [*range(32), 127]) - {"\t", "\n", "\r"}


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that matches only ids the database can hold, so a huge id is a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=DATABASE_INT_MAX, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class StrictRequest(Request):
    """A request whose form parser reports a malformed body instead of hiding it.

    Werkzeug's parser is silent by default: a broken multipart body becomes an
    empty form, which the CSRF check then calls "expired". Here the error
    reaches `_refuse_unusable_input`, which says what was wrong.
    """

    def make_form_data_parser(self):
        parser = super().make_form_data_parser()
        parser.silent = False
        return parser


def _refuse_unusable_input():
    """Refuse, in one place for every route, input no form or service can use."""
    if request.method not in {"GET", "HEAD", "OPTIONS"} and _has_body():
        if request.mimetype not in FORM_MIMETYPES:
            sent = request.mimetype or "a body without a content type"
            abort(415, f"This address takes a web form, not {sent}. Use the form on the page.")
        try:
            request.form  # noqa: B018  (parse now, while a failure can be explained)
        except ValueError as error:
            abort(400, f"The form could not be read ({error}). Reload the page and send "
                       "the form again.")
    for source, values in (("the address", request.args), ("the form", request.form)):
        for key, value in values.items(multi=True):
            if _has_control_character(key) or _has_control_character(value):
                _refuse_control_character(f"{key!r} in {source}" if key.isprintable()
                                          else source)
    for key, upload in request.files.items(multi=True):
        if _has_control_character(upload.filename or ""):
            _refuse_control_character(f"the name of the uploaded file ({key})")
        content = upload.stream.read()
        upload.stream.seek(0)
        if b"\x00" in content:
            _refuse_control_character(f"the uploaded file ({key})")


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()


def _has_control_character(value) -> bool:
    return isinstance(value, str) and not CONTROL_CHARACTERS.isdisjoint(value)


def _refuse_control_character(where: str):
    abort(422, f"There is an invisible control character (such as a NUL byte) in {where}, "
               "which cannot be stored. Remove it and try again.")


# The database unreachable or too slow: 503, briefly logged --------------------------

OUTAGE_RETRY_AFTER_SECONDS = 30
# At most one log line per kind of failure in this period, saying how many it stands for.
OUTAGE_LOG_EVERY_SECONDS = 60.0
_outage_lock = threading.Lock()
_outages_logged: dict[str, tuple[float, int]] = {}


def _handle_database_outage(error):
    if not _is_outage(error):
        return _handle_server_error(error)  # a bug (say, a broken constraint), not an outage
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool will replace it
        db.session.invalidate()
    # The error page shows who is logged in; do not ask the database again.
    from flask_login import AnonymousUserMixin

    g._login_user = AnonymousUserMixin()
    _log_outage(error)
    headers = {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)}
    try:
        return error_response(503, headers=headers)
    except Exception:
        title, advice = ERROR_TEXTS[503]
        return Response(f"{title}. {advice}\n", 503, headers, mimetype="text/plain")


def _end_the_session(error) -> None:
    """Close the request's database session once its answer is made.

    If the connection died meanwhile (the database restarted or dropped it), the
    rollback that closing sends fails; the transaction has gone with the connection,
    so there is nothing to undo, and the answer already made stands rather than
    becoming a 500. The session is dropped so the next request starts afresh.
    """
    try:
        db.session.remove()
    except Exception as failure:
        if not _is_outage(failure):
            raise
        db.session.registry.clear()
        log_outage(failure)


def _is_outage(error) -> bool:
    """True if `error`, or what caused it, is the database being away or too slow."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OperationalError | PoolTimeout):
            return True
        if isinstance(error, DBAPIError) and (error.connection_invalidated
                                              or isinstance(error, InterfaceError)):
            return True
        if type(error).__module__.startswith(("psycopg", "sqlite3")) and any(
                kind.__name__ in ("OperationalError", "InterfaceError")
                for kind in type(error).__mro__):
            return True  # the driver's own error, unwrapped
        if isinstance(error, InvalidRequestError) and (
                "OperationalError" in str(error) or "invalid transaction" in str(error)):
            return True
        error = error.__cause__ or error.__context__
    return False


def outage_kind(error) -> str:
    """A short name for what failed: the driver's error class, or the pool's timeout."""
    original = getattr(error, "orig", None)
    return type(original or error).__name__


def log_outage(error) -> None:
    """Log that the database is away: at most one line a minute per kind of failure."""
    _log_outage(error)


def _log_outage(error) -> None:
    kind = outage_kind(error)
    now = monotonic()
    with _outage_lock:
        last, suppressed = _outages_logged.get(kind, (None, 0))
        if last is not None and now - last < OUTAGE_LOG_EVERY_SECONDS:
            _outages_logged[kind] = (last, suppressed + 1)
            return
        _outages_logged[kind] = (now, 0)
    first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[:1]
    more = f" ({suppressed} more since the last report)" if suppressed else ""
    current_app.logger.error("Database unavailable: %s: %s; answering 503%s",
                             kind, first_line[0] if first_line else "", more)


# The schema behind the code: refuse to serve until `db upgrade` has run -------------------

SCHEMA_RECHECK_SECONDS = 5.0
# Answered whatever the schema: the health checks report it, and the CSS is harmless.
SCHEMA_EXEMPT_ENDPOINTS = frozenset({"main.healthz", "main.readyz", "static"})


def _refuse_an_older_schema():
    """Serve nothing from a database whose schema is older than this code.

    Checked on the first request (one query) and then only while it fails, so
    a deploy that upgrades the database a moment later starts serving by itself.
    """
    gate = current_app.extensions.setdefault("schema_gate", {"ok": False, "checked": -1e9})
    if gate["ok"] or request.endpoint in SCHEMA_EXEMPT_ENDPOINTS:
        return None
    if monotonic() - gate["checked"] < SCHEMA_RECHECK_SECONDS and "state" in gate:
        state = gate["state"]
    else:
        from register.operations import schema_state

        try:
            state = schema_state()
        except (OperationalError, PoolTimeout):
            db.session.rollback()
            return None  # the database is away: the request's own queries will say so
        gate.update(ok=state["ok"], checked=monotonic(), state=state)
        if not state["ok"]:
            current_app.logger.error(
                "The database schema (%s) is older than this code (%s): run "
                "`flask --app wsgi db upgrade`. Answering 503 until then.",
                ", ".join(state["database"]) or "none", ", ".join(state["code"]))
    if state["ok"]:
        return None
    return error_response(503, "The register is being upgraded. Try again in a minute.",
                          {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})


def _is_personal(response: Response) -> bool:
    """True for a response no cache may keep: to a logged-in person, or setting a cookie.

    Static files are the same for everyone and stay cacheable (and asking who is
    logged in for each would cost a database query).
    """
    from flask import session
    from flask_login import current_user

    if request.endpoint == "static":
        return False
    return (session.modified or "Set-Cookie" in response.headers
            or current_user.is_authenticated)


def refuse_an_untrusted_host(error) -> Response:
    """400 for a Host header outside TRUSTED_HOSTS, in plain words.

    No page template: with an untrusted host no URL can be built for its links.
    """
    return Response("This register does not answer to that host name.\n", status=400,
                    mimetype="text/plain")
