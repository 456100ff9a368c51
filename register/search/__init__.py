"""Search: the Whoosh index derived from the database, and the /mentors search page."""

from flask import Blueprint

bp = Blueprint("search", __name__)
