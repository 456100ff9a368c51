"""The one kind of error the services raise when a rule is broken."""

from __future__ import annotations


class RuleBroken(Exception):
    """A rule was broken; `message` is for the person, `field` names the form field if any.

    Each area has its own subclass (AuthError, ProfileError, RequestError), so a
    view catches what its service raises, and `apply_to_form` shows it.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def apply_to_form(self, form) -> None:
        """Show the message next to its field, or above the form if it has none."""
        target = form[self.field] if self.field and self.field in form else None
        if target is not None:
            target.errors = [*target.errors, self.message]
        else:
            form.form_errors.append(self.message)
