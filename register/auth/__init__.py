"""Accounts: signing up, verifying an address, logging in and out, and account settings."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from register.auth import views  # noqa: E402,F401  (routes attach themselves to bp)
