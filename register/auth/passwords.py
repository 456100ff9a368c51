"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 10
MAX_LENGTH = 128


def _hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher_for(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_COST"])


@cache
def _hasher_for(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hash_password(password: str) -> str:
    """Hash a password with argon2id and the configured cost."""
    return _hasher().hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; False for a wrong one or an account without one.

    Without an account (or a password) it still verifies, against a stand-in
    hash of the same cost, so the time taken does not reveal who has an account.
    """
    try:
        return _hasher().verify(stored_hash or _stand_in_hash(), password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def spend_hashing_time(password: str) -> None:
    """Do the work of hashing `password` and throw it away, where a path has nothing to hash."""
    _hasher().hash(password)


def _stand_in_hash() -> str:
    config = current_app.config
    return _stand_in_for(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_COST"])


@cache
def _stand_in_for(time_cost: int, memory_cost: int) -> str:
    # A hash of a random secret nobody knows, made once per process and cost.
    import secrets

    return _hasher_for(time_cost, memory_cost).hash(secrets.token_urlsafe(16))


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker settings than today's."""
    return _hasher().check_needs_rehash(stored_hash)


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 passwords seen most often in public breaches.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Everything wrong with a proposed password, in words for the person choosing it."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if problems:
        return problems
    lowered = password.lower()
    if lowered in _common_passwords():
        return ["This is one of the most common passwords, so it is easy to guess. Choose another."]
    if email and lowered in {email.lower(), email.lower().partition("@")[0]}:
        return ["Do not use your email address as your password."]
    if len(set(lowered)) < 4:
        return ["Use more different characters; repeated characters are easy to guess."]
    from zxcvbn import zxcvbn

    inputs = [part for part in (email, email.partition("@")[0], name, *name.split()) if part]
    # zxcvbn refuses input past 72 characters; a guessable start is guessable anyway.
    verdict = zxcvbn(password[:72], user_inputs=inputs)
    if verdict["score"] < 2:
        hint = verdict["feedback"].get("warning") or "It follows a pattern that is easy to guess."
        return [f"This password is too easy to guess. {hint}".strip()]
    return []
