"""Demonstration data for `make run` and for trying the register out.

The logins are listed in the README. They are for a local copy only.
"""

from __future__ import annotations

import random

from sqlalchemy import select

from register.auth.models import User
from register.auth.passwords import hash_password
from register.database import utcnow
from register.extensions import db

DEMO_PASSWORD = "mentoring-demo-2026"
ADMIN_EMAIL = "admin@example.org"
MENTEE_EMAILS = ["mentee@example.org", "sam.okafor@example.org", "priya.shah@example.org"]

FIRST_NAMES = ["Aisha", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hamish", "Ines",
               "Jonah", "Kiran", "Lucia", "Malik", "Nadia", "Owen", "Rosa", "Tomasz", "Yemi"]
SURNAMES = ["Adeyemi", "Brennan", "Campbell", "Dhillon", "Evans", "Fraser", "Gallagher",
            "Hughes", "Iqbal", "Jones", "Kowalski", "Lewis", "Morgan", "Nwosu", "O'Brien",
            "Patel", "Quinn", "Rahman", "Singh", "Taylor", "Williams"]


def load(mentors: int = 0, seed: int = 2026) -> str:
    """Add the administrator, a few mentees and `mentors` mentor accounts; flush."""
    rng = random.Random(seed)
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    people = [("Register Coordinator", ADMIN_EMAIL, True),
              ("Morgan Mentee", MENTEE_EMAILS[0], False),
              ("Sam Okafor", MENTEE_EMAILS[1], False),
              ("Priya Shah", MENTEE_EMAILS[2], False)]
    for number in range(1, mentors + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        people.append((name, f"mentor{number}@example.org", False))
    added = 0
    for name, email, is_admin in people:
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            continue
        db.session.add(User(name=name, email=email, password_hash=password_hash,
                            email_verified_at=now, is_admin=is_admin))
        added += 1
    db.session.flush()
    return (f"Added {added} demo accounts (administrator {ADMIN_EMAIL}, mentees and "
            f"{mentors} mentors); each has the password {DEMO_PASSWORD!r}.")
