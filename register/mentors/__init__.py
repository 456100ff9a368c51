"""Mentor profiles: the editor, the public profile page, availability and reports."""

from flask import Blueprint

bp = Blueprint("mentors", __name__)

from register.mentors import views  # noqa: E402,F401
