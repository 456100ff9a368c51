"""Accounts: signing up, verifying an address, logging in and out, and account settings."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
