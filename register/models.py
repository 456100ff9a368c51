"""Import every area's models, so the metadata is complete for Alembic and tests."""

from register.admin.models import AuditEntry, ImportBatch  # noqa: F401
from register.auth.models import EmailToken, LoginAttempt, User  # noqa: F401
from register.introductions.models import IntroRequest  # noqa: F401
from register.mail.models import OutboxMessage  # noqa: F401
from register.matching.models import MenteeObjectives  # noqa: F401
from register.mentors.models import MentorProfile, ProfileReport  # noqa: F401
from register.mentorships.models import (  # noqa: F401
    Agreement,
    Evaluation,
    Meeting,
    Mentorship,
    MentorshipSettings,
    PersonalLink,
    PrivateNote,
    Reflection,
    Reminder,
)
from register.operations import WorkerHeartbeat  # noqa: F401
from register.reports.models import RequestDay  # noqa: F401
from register.search.models import SearchChange  # noqa: F401
