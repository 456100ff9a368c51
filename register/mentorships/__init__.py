"""Mentorships: from the first conversation to a close that teaches the scheme something."""

from flask import Blueprint

bp = Blueprint("mentorships", __name__)
