"""The profile editor, the pause form and the report form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from register.mentors import services
from register.mentors import vocabulary as vocab


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; the template draws them inside a fieldset."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        # Unknown values are reported by the service with a clearer message.
        pass


def _choices(vocabulary) -> list[SelectChoice]:
    return [SelectChoice(choice.code, choice.label) for choice in vocabulary]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Your name as mentees will see it", filters=[_strip],
        validators=[Length(max=120)], render_kw={"autocomplete": "name"})
    headline = StringField(
        "Current role", filters=[_strip], validators=[Length(max=160)],
        description="For example: Consultant nurse, critical care.")
    organisation = StringField("Organisation", filters=[_strip], validators=[Length(max=160)],
                               render_kw={"autocomplete": "organization"})
    sector = SelectField("Sector", choices=[SelectChoice("", "Choose a sector")] +
                         _choices(vocab.SECTORS))
    location = StringField("Location or region", filters=[_strip],
                           validators=[Length(max=120)],
                           description="Helps mentees who would like to meet in person.")
    bio = TextAreaField(
        "Your experience", validators=[Length(max=services.MAX_BIO)],
        description=(f"What you have done and what you can help with, in plain text. Leave a "
                     f"blank line between paragraphs. At least {services.MIN_BIO} and at most "
                     f"{services.MAX_BIO} characters."),
        render_kw={"rows": 10, "maxlength": services.MAX_BIO, "data-limit": services.MAX_BIO})
    expertise = StringField(
        "Areas of expertise",
        description=f"Separate them with commas, up to {services.MAX_EXPERTISE}. For example: "
                    "quality improvement, statistics, leading teams.")
    knowing = CheckboxesField("Forms of knowing you can support",
                              choices=_choices(vocab.KNOWING))
    contexts = CheckboxesField("Mentoring contexts", choices=_choices(vocab.CONTEXTS))
    kind = RadioField("Kind of mentoring you offer", choices=_choices(vocab.KINDS),
                      validators=[Optional()])
    formats = CheckboxesField("Ways you can meet", choices=_choices(vocab.FORMATS))
    time_commitment = StringField(
        "Typical time commitment", filters=[_strip], validators=[Length(max=120)],
        description="For example: one hour a month for six months.")
    capacity = IntegerField(
        "How many mentees you can have at once", default=2,
        validators=[InputRequired("Enter a number."),
                    NumberRange(1, services.MAX_CAPACITY,
                                f"Enter a number from 1 to {services.MAX_CAPACITY}.")],
        render_kw={"min": 1, "max": services.MAX_CAPACITY, "inputmode": "numeric"})
    languages = StringField("Languages you mentor in", description="Separate with commas.")
    in_training = BooleanField("I am training for a mentoring accreditation and would like "
                               "mentees to build my practice hours")
    training_body = StringField("The accrediting body", filters=[_strip],
                                validators=[Length(max=160)])
    linkedin_url = StringField(
        "LinkedIn profile (optional)", filters=[_strip], validators=[Length(max=255)],
        description="Like https://www.linkedin.com/in/your-name.",
        render_kw={"inputmode": "url", "autocomplete": "url"})

    def fill_from(self, profile) -> None:
        """Show a saved profile in the form."""
        for name in services.ProfileData.__dataclass_fields__:
            value = getattr(profile, name)
            if name in ("expertise", "languages"):
                value = ", ".join(value or [])
            self[name].data = value

    def to_data(self) -> services.ProfileData:
        """What was typed, for the service to check and save."""
        values = {}
        for name in services.ProfileData.__dataclass_fields__:
            value = self[name].data
            if name in ("knowing", "contexts", "formats"):
                value = list(value or [])
            elif name == "capacity":
                value = value if value is not None else 0
            elif name == "in_training":
                value = bool(value)
            else:
                value = value or ""
            values[name] = value
        return services.ProfileData(**values)


class PauseForm(FlaskForm):
    away_until = DateField("Away until (optional)", validators=[Optional()],
                           description="Leave empty to pause until you resume.")


class ReportForm(FlaskForm):
    reason = TextAreaField(
        "What is wrong with this profile?",
        validators=[DataRequired("Tell the coordinators what is wrong."),
                    Length(min=10, max=2000, message="Write between 10 and 2,000 characters.")],
        description="Only the register's coordinators see this. The mentor does not see who "
                    "reported it.",
        render_kw={"rows": 5})


class ModerationForm(FlaskForm):
    """The message or reason that goes with an administrator's decision."""

    message = TextAreaField("Message to the mentor", validators=[Length(max=4000)],
                            render_kw={"rows": 4})
