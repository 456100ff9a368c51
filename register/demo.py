"""Demonstration data for `make run` and for trying the register out.

Generated here, from a fixed seed, so every copy gets the same register:
varied sectors, roles, contexts, forms of knowing and capacities, with
some mentors paused and some full. The logins are listed in the README.
They are for a local copy only.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from register.admin import audit
from register.auth.models import User
from register.auth.passwords import hash_password
from register.database import utcnow
from register.extensions import db
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship

DEMO_PASSWORD = "mentoring-demo-2026"
ADMIN_EMAIL = "admin@example.org"
MENTEES = [("Morgan Mentee", "mentee@example.org"), ("Sam Okafor", "sam.okafor@example.org"),
           ("Priya Shah", "priya.shah@example.org"), ("Tom Reilly", "tom.reilly@example.org")]

FIRST_NAMES = ["Aisha", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hamish", "Ines",
               "Jonah", "Kiran", "Lucia", "Malik", "Nadia", "Owen", "Rosa", "Tomasz", "Yemi",
               "Zoë", "Siobhán", "Rhys", "Aoife", "Chidi", "Mei", "Hannah", "Raj", "Bethan",
               "Andrés", "Fatima", "Gareth", "Ingrid", "Kwame", "Leila", "Niamh", "Oluwaseun"]
SURNAMES = ["Adeyemi", "Brennan", "Campbell", "Dhillon", "Evans", "Fraser", "Gallagher",
            "Hughes", "Iqbal", "Jones", "Kowalski", "Lewis", "Morgan", "Nwosu", "O'Brien",
            "Patel", "Quinn", "Rahman", "Singh", "Taylor", "Williams", "Ní Bhriain", "Müller",
            "Okonkwo", "Chen", "García", "MacLeod", "Price", "Sørensen", "Thomas"]

SECTOR_ROLES = {
    "nhs": ["Consultant nurse, critical care", "Clinical director, emergency medicine",
            "Head of midwifery", "Consultant physician, respiratory medicine",
            "Service improvement lead", "Advanced clinical practitioner", "General practitioner",
            "Director of nursing", "Lead pharmacist, medicines optimisation",
            "Consultant clinical psychologist"],
    "academia": ["Professor of health services research", "Senior lecturer in statistics",
                 "Clinical academic, NIHR fellow", "Reader in public health",
                 "Research programme manager", "Lecturer in nursing education"],
    "industry": ["Medical director, medical devices", "Head of health data science",
                 "Regulatory affairs lead", "Digital health product manager"],
    "charity": ["Director of research, patient charity", "Head of policy and influencing",
                "Programme lead, community health"],
    "government": ["Deputy director, health policy", "Public health consultant",
                   "Chief analyst, health statistics"],
    "other": ["Independent leadership coach", "Freelance health economist",
              "Non-executive director"],
}
ORGANISATIONS = {
    "nhs": ["University Hospitals Birmingham NHS Foundation Trust", "Leeds Teaching Hospitals",
            "NHS Greater Glasgow and Clyde", "Cardiff and Vale University Health Board",
            "Oxford University Hospitals", "Manchester University NHS Foundation Trust"],
    "academia": ["University of Birmingham", "University of Leeds", "King's College London",
                 "University of Edinburgh", "Cardiff University"],
    "industry": ["MedTech Partners Ltd", "Northgate Analytics", "BioBridge Therapeutics"],
    "charity": ["Healthy Hearts Trust", "Carers Together", "Breathe Easy UK"],
    "government": ["Department of Health and Social Care", "UK Health Security Agency",
                   "Office for National Statistics"],
    "other": ["Self-employed", "Clearview Consulting"],
}
EXPERTISE = {
    "nhs": ["quality improvement", "patient safety", "leading teams", "clinical leadership",
            "workforce planning", "service redesign", "critical care", "general practice",
            "nursing leadership", "medicines optimisation", "clinical governance"],
    "academia": ["statistics", "grant writing", "doctorate supervision", "systematic reviews",
                 "qualitative research", "publishing", "research methods", "health economics",
                 "clinical trials"],
    "industry": ["product management", "regulatory affairs", "health data science",
                 "commercial strategy", "machine learning"],
    "charity": ["patient involvement", "policy and influencing", "fundraising",
                "volunteer management"],
    "government": ["health policy", "public health", "evidence synthesis",
                   "working with ministers"],
    "other": ["coaching", "board governance", "career transitions"],
}
SHARED_EXPERTISE = ["leadership", "career planning", "returning to work", "presenting",
                    "negotiation", "managing change", "resilience", "networking"]
LOCATIONS = ["Birmingham", "Leeds", "London", "Glasgow", "Cardiff", "Manchester", "Bristol",
             "Newcastle", "Belfast", "Edinburgh", "Norwich", "Exeter", "Remote only"]
LANGUAGES = ["English", "Welsh", "Urdu", "Polish", "Spanish", "French", "Gaelic", "Punjabi"]
COMMITMENTS = ["One hour a month for six months", "An hour every six weeks",
               "One hour a month for a year", "Flexible; usually 30 minutes a fortnight",
               "A short call when you need one"]
TRAINING_BODIES = ["the EMCC", "the Association for Coaching", "the ILM"]

OPENINGS = [
    "I have worked in {sector_text} for {years} years, most recently as {role_lower}.",
    "After {years} years in {sector_text}, I now work as {role_lower} at {organisation}.",
    "My career has taken me through {years} years of {sector_text}, from front-line work to "
    "my current role as {role_lower}.",
]
MIDDLES = [
    "I am especially glad to help with {topic_a} and {topic_b}, and with the confidence it "
    "takes to step into a new role.",
    "People often come to me about {topic_a}; I also enjoy conversations about {topic_b} and "
    "how to navigate the politics of large organisations.",
    "I have mentored colleagues through {topic_a}, {topic_b} and the first year in a new post.",
]
CLOSINGS = [
    "I prefer a short first conversation to see whether we are a good fit.",
    "I am happy to start with fifteen minutes on the phone and take it from there.",
    "I value clear goals for each meeting and honest reflection between them.",
    "I am a good listener and will ask more questions than I answer.",
]
SECTOR_TEXT = {"nhs": "the NHS", "academia": "academic research", "industry": "industry",
               "charity": "the charity sector", "government": "government",
               "other": "a mix of sectors"}


def _sample(rng: random.Random, items, low: int, high: int) -> list:
    return rng.sample(list(items), rng.randint(low, min(high, len(items))))


def _profile(rng: random.Random, user: User, number: int) -> MentorProfile:
    sector = rng.choices(list(SECTOR_ROLES), weights=[40, 25, 10, 10, 10, 5])[0]
    role = rng.choice(SECTOR_ROLES[sector])
    organisation = rng.choice(ORGANISATIONS[sector])
    topics = _sample(rng, EXPERTISE[sector], 2, 5) + _sample(rng, SHARED_EXPERTISE, 0, 2)
    values = {"sector_text": SECTOR_TEXT[sector], "years": rng.randint(6, 32),
              "role_lower": role[0].lower() + role[1:], "organisation": organisation,
              "topic_a": topics[0], "topic_b": topics[1]}
    bio = "\n\n".join([rng.choice(OPENINGS).format(**values),
                       rng.choice(MIDDLES).format(**values), rng.choice(CLOSINGS)])
    in_training = rng.random() < 0.12

    def some(choices, low, high):
        order = vocab.codes(choices)
        return sorted(_sample(rng, order, low, high), key=order.index)

    return MentorProfile(
        user=user,
        display_name=user.name,
        headline=role,
        organisation=organisation,
        sector=sector,
        location=rng.choice(LOCATIONS),
        bio=bio,
        expertise=topics,
        knowing=some(vocab.KNOWING, 1, 3),
        contexts=some(vocab.CONTEXTS, 1, 4),
        formats=some(vocab.FORMATS, 1, 3),
        languages=["English"] + _sample(rng, LANGUAGES[1:], 0, 1),
        kind=rng.choice(["formal", "informal", "both", "both"]),
        time_commitment=rng.choice(COMMITMENTS),
        capacity=rng.choice([1, 1, 2, 2, 2, 3, 3, 4]),
        in_training=in_training,
        training_body=rng.choice(TRAINING_BODIES) if in_training else "",
    )


def _person(email: str, name: str, password_hash: str, **extra) -> User | None:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return None
    user = User(email=email, name=name, password_hash=password_hash,
                email_verified_at=utcnow(), **extra)
    db.session.add(user)
    return user


def load(mentors: int = 0, seed: int = 2026) -> str:
    """Add an administrator, mentees and `mentors` published mentor profiles; flush.

    About one mentor in ten is paused (some with a return date) and about one
    in ten is full, with active mentorships up to their capacity.
    """
    rng = random.Random(seed)
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    _person(ADMIN_EMAIL, "Register Coordinator", password_hash, is_admin=True)
    mentees = [_person(email, name, password_hash) for name, email in MENTEES]
    mentees = [m for m in mentees if m is not None] or list(
        db.session.scalars(select(User).where(User.email.in_([e for _, e in MENTEES])))
    )
    db.session.flush()
    added = paused = full = 0
    for number in range(1, mentors + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        user = _person(f"mentor{number}@example.org", name, password_hash)
        if user is None:
            continue
        profile = _profile(rng, user, number)
        profile.state = MentorProfile.PUBLISHED
        profile.published_at = now - timedelta(days=rng.randint(0, 400), minutes=number)
        profile.submitted_at = profile.published_at - timedelta(days=1)
        db.session.add(profile)
        roll = rng.random()
        if roll < 0.1:
            profile.paused = True
            if rng.random() < 0.5:
                profile.away_until = now.date() + timedelta(days=rng.randint(7, 90))
            paused += 1
        elif roll < 0.2 and mentees:
            db.session.flush()
            for mentee in mentees[: profile.capacity]:
                db.session.add(Mentorship(mentor_id=user.id, mentee_id=mentee.id,
                                          started_at=now - timedelta(days=rng.randint(5, 200))))
            profile.capacity = min(profile.capacity, len(mentees))
            full += 1
        added += 1
        if number % 200 == 0:
            db.session.flush()
    db.session.flush()
    phase = add_mentorship_phase(now) if added else ""
    # A handful of mentors (as tests load) is too few for a queue and figures to show much.
    phase += add_coordinator_data(now) if added >= 20 else ""
    if added:
        audit.record(None, "demo.loaded", None, f"{added} demo mentors loaded.")
    return (f"Demo data: administrator {ADMIN_EMAIL}, {len(MENTEES)} mentees and {added} "
            f"published mentors ({paused} paused, {full} full). Every demo account has the "
            f"password {DEMO_PASSWORD!r}.{phase}")


def add_mentorship_phase(now=None) -> str:
    """Mentorships in every state, so `make run` shows the whole phase.

    New (a proposal waiting), agreed with a meeting planned, with meetings held,
    stalled, and closed with reflections and evaluations (three, so the mentor's
    record shows its figures). Rows are written directly: no email is queued.
    """
    from register.introductions.models import IntroRequest
    from register.mentorships.models import Agreement, Evaluation, Meeting, PersonalLink, Reflection

    now = now or utcnow()
    people = {email: db.session.scalar(select(User).where(User.email == email))
              for _, email in MENTEES}
    if None in people.values():
        return ""
    busy = select(Mentorship.mentor_id)
    profiles = db.session.scalars(
        select(MentorProfile).where(MentorProfile.state == MentorProfile.PUBLISHED,
                                    MentorProfile.paused.is_(False),
                                    MentorProfile.user_id.not_in(busy))
        .order_by(MentorProfile.id).limit(5)).all()
    if len(profiles) < 5:
        return ""
    morgan, sam, priya, tom = people.values()

    def start(profile, mentee, days_ago, *, kind="formal", knowing=("how",), status="active",
              closed_days_ago=None):
        started = now - timedelta(days=days_ago)
        profile.kind = "both"
        profile.capacity = max(profile.capacity, 3)
        db.session.add(IntroRequest(
            mentee_id=mentee.id, mentor_id=profile.user_id, profile_id=profile.id,
            subject=f"15 minutes of your time – your experience in "
                    f"{(profile.expertise or ['your field'])[0]}",
            aspiration="I want to lead a service improvement project within two years.",
            why_you="Your profile describes the path I hope to follow.", ask="call15",
            kind=kind, contexts=["career"], knowing=list(knowing), formats=["video"],
            availability="Weekday mornings.", state=IntroRequest.ACCEPTED,
            created_at=started - timedelta(days=3), expires_at=started + timedelta(days=11),
            answered_at=started))
        mentorship = Mentorship(mentor_id=profile.user_id, mentee_id=mentee.id,
                                started_at=started, status=status)
        if closed_days_ago is not None:
            mentorship.closed_at = now - timedelta(days=closed_days_ago)
            mentorship.close_reason = "goals_met"
            mentorship.closed_by_id = mentee.id
        db.session.add(mentorship)
        db.session.flush()
        return mentorship

    def agreement(mentorship, proposer, agreer, *, status=Agreement.AGREED, knowing=("how",)):
        db.session.add(Agreement(
            mentorship_id=mentorship.id, status=status,
            goals=["Plan a service improvement project", "Present it to the board"],
            knowing=list(knowing), frequency="monthly", duration="6", meeting_minutes=60,
            formats=["video"], confidentiality=(
                "What we discuss stays between us, except where someone may come to harm."),
            review_on=(mentorship.started_at + timedelta(days=90)).date(),
            proposed_by_id=proposer.id, proposed_at=mentorship.started_at + timedelta(days=1),
            agreed_by_id=agreer.id if status == Agreement.AGREED else None,
            agreed_at=mentorship.started_at + timedelta(days=2)
            if status == Agreement.AGREED else None))

    def meeting(mentorship, days_from_now, status=Meeting.PLANNED, notes=""):
        starts = (now + timedelta(days=days_from_now)).replace(minute=0, second=0,
                                                               microsecond=0)
        db.session.add(Meeting(
            mentorship_id=mentorship.id, uid=f"demo-{mentorship.id}-{days_from_now}"
                                             "@mentor-register",
            status=status, starts_at=starts, minutes=60, format="video",
            place="https://meet.example.org/demo",
            agenda_goals=["Plan a service improvement project"], agenda="",
            planned_by_id=mentorship.mentee_id, created_at=starts - timedelta(days=14),
            updated_at=starts, notes=notes,
            recorded_at=starts + timedelta(hours=2) if status != Meeting.PLANNED else None,
            recorded_by_id=mentorship.mentor_id if status != Meeting.PLANNED else None))

    new = start(profiles[0], morgan, 3, knowing=("how",))
    agreement(new, morgan, profiles[0].user, status=Agreement.PROPOSED)
    agreed = start(profiles[1], morgan, 20, knowing=("why",))
    agreement(agreed, morgan, profiles[1].user, knowing=("why",))
    meeting(agreed, 6)
    meeting(agreed, -1)  # its time has come: waiting to be recorded as held or not
    met = start(profiles[2], priya, 75, kind="informal")
    agreement(met, profiles[2].user, priya)
    meeting(met, -50, Meeting.HELD, "Mapped the project's stakeholders.")
    meeting(met, -20, Meeting.HELD, "Rehearsed the board presentation.")
    meeting(met, 10)
    db.session.add(PersonalLink(mentorship_id=met.id, user_id=priya.id, purpose="checkin",
                                step="day30", secret_hash=f"demo-{met.id}", answer="met",
                                created_at=met.started_at + timedelta(days=30),
                                used_at=met.started_at + timedelta(days=31),
                                expires_at=met.started_at + timedelta(days=51)))
    start(profiles[3], tom, 90, kind="informal")  # stalled: nothing for 90 days
    for mentee, days, score in ((morgan, 400, 5), (sam, 300, 4), (priya, 250, 4)):
        closed = start(profiles[4], mentee, days, status=Mentorship.CLOSED,
                       closed_days_ago=days - 180)
        meeting(closed, -(days - 30), Meeting.HELD, "Talked through the year ahead.")
        db.session.add(Evaluation(mentorship_id=closed.id, user_id=mentee.id, role="mentee",
                                  usefulness=score, would_recommend=True, goals_met=score - 1,
                                  what_changed="I plan my development each quarter."))
        db.session.add(Reflection(mentorship_id=closed.id, user_id=mentee.id,
                                  learned="To ask for feedback early."))
    db.session.flush()
    return (f" Mentorships: {profiles[0].user.email} has a proposal waiting from "
            f"{morgan.email}; {profiles[2].user.email} has meetings with {priya.email}; "
            f"{profiles[3].user.email} and {tom.email} are stalled; {profiles[4].user.email} "
            "has three closed mentorships with evaluations.")


WAITING_MENTEES = [
    ("Jo Lindqvist", "jo.lindqvist@example.org", ["board-level influence", "NHS politics"],
     ["whom"], ["politics"], "nhs"),
    ("Kwame Asante", "kwame.asante@example.org", ["grant writing", "building a research network"],
     ["how", "whom"], ["career"], "academia"),
    ("Lucia Romero", "lucia.romero@example.org", ["leading a team through a merger",
                                                  "managing change"],
     ["how"], ["change"], "nhs"),
    ("Omar Haddad", "omar.haddad@example.org", ["confidence as a new manager", "presenting"],
     ["why"], ["confidence"], "charity"),
    ("Rosa Kim", "rosa.kim@example.org", ["statistics for clinical audit", "publishing"],
     ["how"], ["skills"], "academia"),
    ("Tariq Shah", "tariq.shah@example.org", ["health policy", "working with ministers"],
     ["whom", "why"], ["sector"], "government"),
]


def add_coordinator_data(now=None, seed: int = 2026) -> str:
    """Mentees waiting for facilitated matching, and a year of requests for the figures.

    Rows are written directly: no email is queued. The history's mentees are
    accounts of their own, so the demo mentees' request limits stay free.
    """
    from register.introductions.models import IntroRequest
    from register.matching.models import MenteeObjectives

    now = now or utcnow()
    rng = random.Random(seed + 9)
    password_hash = hash_password(DEMO_PASSWORD)
    waiting = 0
    for days, (name, email, objectives, knowing, contexts, sector) in enumerate(
            WAITING_MENTEES):
        user = _person(email, name, password_hash)
        if user is None:
            continue
        db.session.flush()
        db.session.add(MenteeObjectives(
            user_id=user.id, objectives=objectives, knowing=knowing, contexts=contexts,
            development_areas=[], formats=["video", "telephone"], sector=sector,
            location=rng.choice(LOCATIONS[:-1]), facilitated=True,
            waiting_since=now - timedelta(days=3 + 6 * days, hours=days)))
        waiting += 1
    morgan = db.session.scalar(select(User).where(User.email == MENTEES[0][1]))
    if morgan is not None and db.session.scalar(select(MenteeObjectives.id).where(
            MenteeObjectives.user_id == morgan.id)) is None:
        db.session.add(MenteeObjectives(
            user_id=morgan.id, objectives=["quality improvement", "leading teams"],
            knowing=["how", "whom"], contexts=["career", "skills"], development_areas=[
                "strategic"], formats=["video"], sector="nhs", location="Leeds"))

    profiles = db.session.scalars(select(MentorProfile).where(
        MentorProfile.state == MentorProfile.PUBLISHED).order_by(MentorProfile.id)).all()
    if not profiles or db.session.scalar(select(User.id).where(
            User.email == "history1@example.org")) is not None:
        db.session.flush()
        return f" Matching: {waiting} mentees wait for facilitated matching." if waiting else ""
    history = []
    for number in range(1, 41):
        user = _person(f"history{number}@example.org",
                       f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}", password_hash)
        history.append(user)
    db.session.flush()
    outcomes = (["accepted"] * 9 + ["declined"] * 5 + ["expired"] * 3 + ["withdrawn"] * 2)
    reasons = ["capacity", "experience", "unavailable", "other"]
    sent = 0
    for _ in range(min(1200, 4 * len(profiles))):
        profile = rng.choice(profiles)
        created = now - timedelta(days=rng.uniform(15, 365))
        state = rng.choice(outcomes)
        answered = (created + timedelta(hours=rng.expovariate(1 / 50))
                    if state in ("accepted", "declined") else None)
        db.session.add(IntroRequest(
            mentee_id=rng.choice(history).id, mentor_id=profile.user_id, profile_id=profile.id,
            subject=f"15 minutes of your time – your experience in "
                    f"{(profile.expertise or ['your field'])[0]}",
            aspiration="I want to grow into a leadership role in the next two years.",
            why_you="Your experience is the path I hope to follow.", ask="call15",
            kind="either", contexts=_sample(rng, vocab.codes(vocab.CONTEXTS), 1, 2),
            knowing=_sample(rng, vocab.codes(vocab.KNOWING), 1, 2), formats=["video"],
            state=state, created_at=created, expires_at=created + timedelta(days=14),
            answered_at=answered,
            decline_reason=rng.choice(reasons) if state == "declined" else None,
            closed_at=created + timedelta(days=rng.choice([3, 14]))
            if state in ("expired", "withdrawn") else None))
        sent += 1
    # A few still waiting, two of them for more than a week.
    for days in (2, 5, 9, 11):
        profile = rng.choice(profiles)
        created = now - timedelta(days=days)
        db.session.add(IntroRequest(
            mentee_id=history[days].id, mentor_id=profile.user_id, profile_id=profile.id,
            subject="A first conversation about your work", aspiration="I want to learn how "
            "you built your career.", why_you="Your profile matches what I hope to do.",
            ask="call15", kind="either", contexts=["career"], knowing=["how"],
            formats=["video"], created_at=created, expires_at=created + timedelta(days=14)))
    db.session.flush()
    return (f" Matching: {waiting} mentees wait for facilitated matching "
            f"(for example {WAITING_MENTEES[0][1]}); a year of {sent} requests feeds the "
            "figures at /admin/reports.")
