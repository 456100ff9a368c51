"""Email: the outbox, one function per message, and the development mailbox."""

from flask import Blueprint

bp = Blueprint("mail", __name__)

from register.mail import views  # noqa: E402,F401
