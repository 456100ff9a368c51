"""Matching: a mentee's learning objectives, suggested mentors with reasons, and the
coordinators' facilitated matching."""

from flask import Blueprint

bp = Blueprint("matching", __name__)
