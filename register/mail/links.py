"""Absolute links for emails: one scheme and host, whoever builds them.

Emails outlive the request that queued them, so their links must not depend
on how that request arrived (a proxy's plain-HTTP hop, a forged Host). They
use SERVER_NAME and PREFERRED_URL_SCHEME when these are set.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, url_for


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` for an email, in the configured scheme."""
    scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
    return url_for(endpoint, _external=True, _scheme=scheme, **values)


class LinksUnavailable(RuntimeError):
    """Emails cannot be given links: SERVER_NAME is missing outside development."""


@contextmanager
def links_for_email():
    """Let url_for build the absolute links that emails need, outside any request.

    With SERVER_NAME set, the app context is enough. In development without
    it, links point at the local server that `make run` starts.
    """
    from register.config import is_development

    if current_app.config.get("SERVER_NAME"):
        yield
        return
    if not is_development(current_app):
        raise LinksUnavailable(
            "Set SERVER_NAME (and PREFERRED_URL_SCHEME) so links in emails point at the "
            "register, for example SERVER_NAME=mentoring.example.org."
        )
    with current_app.test_request_context(base_url="http://127.0.0.1:5000"):
        yield
