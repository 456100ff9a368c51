"""Introductory requests: a mentee's structured ask, and the mentor's answer."""

from flask import Blueprint

bp = Blueprint("introductions", __name__)
