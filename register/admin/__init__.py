"""The coordinators' area: vetting, moderation, reports, the audit log and imports."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from register.admin import views  # noqa: E402,F401
