"""Seed the proof's database: the demo register, the people the load plays, and two
mentors for the races. Prints what the driver needs as JSON. Run by proof/run.py."""

from __future__ import annotations

import json
import sys

from sqlalchemy import func, select

from register import create_app, demo
from register.auth.models import User
from register.auth.passwords import hash_password
from register.database import utcnow
from register.extensions import db
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship

PASSWORD = "proof-harbour-lantern-2026"


def main(mentees: int, mentors: int, busy: int) -> dict:
    app = create_app()
    with app.app_context():
        demo.load(mentors=mentors)
        db.session.flush()
        password_hash = hash_password(PASSWORD)

        def person(email: str, name: str) -> User:
            user = User(email=email, name=name, password_hash=password_hash,
                        email_verified_at=utcnow())
            db.session.add(user)
            return user

        people = [person(f"proof-mentee{n}@example.org", f"Proof Mentee {n}")
                  for n in range(mentees)]
        racers = [person(f"proof-racer{n}@example.org", f"Proof Racer {n}") for n in range(4)]
        db.session.flush()
        # The busy mentors answer requests during the load: open, with room for two more.
        profiles = db.session.scalars(
            select(MentorProfile).where(MentorProfile.state == MentorProfile.PUBLISHED)
            .order_by(MentorProfile.id)).all()
        chosen = []
        for profile in profiles:
            if len(chosen) == busy + 2:
                break
            active = db.session.scalar(select(func.count()).where(
                Mentorship.mentor_id == profile.user_id, Mentorship.status == Mentorship.ACTIVE))
            if active:
                continue
            profile.paused, profile.away_until = False, None
            profile.capacity = 2
            profile.user.password_hash = password_hash
            chosen.append(profile)
        race = chosen[busy]
        race.capacity = 1  # four mentees ask at once; one place
        db.session.commit()
        return {
            "password": PASSWORD,
            "mentees": [u.email for u in people],
            "racers": [u.email for u in racers],
            "busy": [{"email": p.user.email, "profile": p.id} for p in chosen[:busy]],
            "race": {"email": race.user.email, "profile": race.id},
            "spare": {"email": chosen[busy + 1].user.email, "profile": chosen[busy + 1].id},
            "profiles": [p.id for p in profiles],
        }


if __name__ == "__main__":
    mentees, mentors, busy = (int(value) for value in sys.argv[1:4])
    print(json.dumps(main(mentees, mentors, busy)))
