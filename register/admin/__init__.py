"""The coordinators' area: vetting, moderation, reports, the audit log and imports."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
