"""Email: the outbox, one function per message, and the development mailbox."""

from flask import Blueprint

bp = Blueprint("mail", __name__)
