"""Import every area's models, so the metadata is complete for Alembic and tests."""

from register.auth.models import EmailToken, LoginAttempt, User  # noqa: F401
from register.mail.models import OutboxMessage  # noqa: F401
