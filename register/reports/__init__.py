"""Reports: the figures at /admin/reports that say whether the scheme works."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
