"""The pages that belong to no one area: the landing page and static help."""

from flask import Blueprint

bp = Blueprint("main", __name__)
