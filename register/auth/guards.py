"""Decorators that guard views: logged in, verified, administrator."""

from __future__ import annotations

from functools import wraps

from flask import abort, make_response, redirect, request, url_for
from flask_login import current_user

from register.extensions import htmx, login_manager


@login_manager.unauthorized_handler
def _ask_to_log_in():
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if htmx:
        # A redirect would be followed inside the page; tell htmx to navigate instead.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def verified_required(view):
    """Let only logged-in people who have confirmed their email address through."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.verified:
            abort(403, "Confirm your email address first: follow the link we sent you, or ask "
                       "for a new one on your account page.")
        return view(*args, **kwargs)

    return guarded


def admin_required(view):
    """Let only administrators through; everyone else gets 403."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return guarded
