"""Shared web helpers: page-or-fragment rendering, security headers, error pages."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, current_app, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
    500: ("Something went wrong on our side",
          "Nothing you did caused this, and nothing you sent was half-saved. Try again in a "
          "moment; if it keeps happening, tell the register's coordinators."),
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
    # Whatever the request had half-done is thrown away, never committed.
    db.session.rollback()
    if not isinstance(error, HTTPException):
        current_app.logger.exception("Unhandled error", exc_info=error)
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the headers and the error pages on `app`."""
    app.after_request(_security_headers)
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
