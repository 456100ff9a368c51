"""The pages that belong to no one area: the landing page and static help."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from register.main import views  # noqa: E402,F401
