"""The development mailbox: read captured email in the browser. Only with debug on."""

import re

from flask import abort, current_app
from sqlalchemy import select

from register.extensions import db
from register.mail import bp
from register.mail.models import OutboxMessage
from register.web import render


@bp.before_request
def _debug_only():
    # Registered only in debug mode already; this guards against a misconfiguration.
    if not current_app.debug:
        abort(404)


@bp.get("/")
def mailbox():
    """Every message the app has queued, newest first."""
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    ).all()
    return render("mail/mailbox.html", messages=messages)


@bp.get("/<int:message_id>")
def message(message_id: int):
    """One captured message, as text with its links clickable, and as HTML source."""
    found = db.get_or_404(OutboxMessage, message_id)
    return render("mail/message.html", message=found)


_URL = re.compile(r"https?://[^\s<>\"']+")


@bp.app_template_filter("links")
def _links(text: str) -> list[str]:
    """The web addresses in a plain-text body, for the mailbox to make clickable."""
    return list(dict.fromkeys(_URL.findall(text or "")))
