"""Mentor profiles: the editor, the public profile page, availability and reports."""

from flask import Blueprint

bp = Blueprint("mentors", __name__)
