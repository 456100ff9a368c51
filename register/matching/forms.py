"""The objectives form, and the coordinators' proposal form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from register.matching import services
from register.matching import vocabulary as mvocab
from register.mentors import vocabulary as vocab
from register.mentors.forms import CheckboxesField


def _choices(vocabulary) -> list[SelectChoice]:
    return [SelectChoice(choice.code, choice.label) for choice in vocabulary]


class ObjectivesForm(FlaskForm):
    objectives = FieldList(
        StringField("Objective", render_kw={"maxlength": mvocab.OBJECTIVE_LENGTH}),
        label="What you want to learn or change",
        min_entries=mvocab.MAX_OBJECTIVES, max_entries=mvocab.MAX_OBJECTIVES)
    knowing = CheckboxesField("What you would like help with", choices=_choices(vocab.KNOWING))
    contexts = CheckboxesField("The purpose", choices=_choices(vocab.CONTEXTS),
                               description="Choose all that apply.")
    development_areas = CheckboxesField("Areas you want to develop",
                                        choices=_choices(mvocab.DEVELOPMENT_AREAS))
    formats = CheckboxesField("How you could meet", choices=_choices(vocab.FORMATS))
    sector = SelectField("Your sector", choices=[SelectChoice("", "Any sector")]
                         + _choices(vocab.SECTORS))
    location = StringField("Where you are", description="A town or region, if meeting in "
                           "person matters to you.", validators=[Length(max=120)],
                           render_kw={"maxlength": 120, "autocomplete": "address-level2"})
    welcome_in_training = BooleanField(
        "I am happy to be mentored by a mentor in training",
        description="Mentors working towards an accreditation need practice hours.")
    matching = RadioField(
        "How you want to find a mentor",
        choices=[SelectChoice("self", "I will search for mentors myself, with suggestions"),
                 SelectChoice("facilitated",
                              "Ask the coordinators to find me a mentor (facilitated matching)")],
        default="self")

    def fill_from(self, wants) -> None:
        """Show what was saved."""
        for index, entry in enumerate(self.objectives.entries):
            entry.data = wants.objectives[index] if index < len(wants.objectives) else ""
        self.knowing.data = list(wants.knowing)
        self.contexts.data = list(wants.contexts)
        self.development_areas.data = list(wants.development_areas)
        self.formats.data = list(wants.formats)
        self.sector.data = wants.sector
        self.location.data = wants.location
        self.welcome_in_training.data = wants.welcome_in_training
        self.matching.data = "facilitated" if wants.facilitated else "self"

    def to_draft(self) -> services.ObjectivesDraft:
        return services.ObjectivesDraft(
            objectives=[entry.data or "" for entry in self.objectives.entries],
            knowing=list(self.knowing.data or []), contexts=list(self.contexts.data or []),
            development_areas=list(self.development_areas.data or []),
            formats=list(self.formats.data or []), sector=self.sector.data or "",
            location=self.location.data or "",
            welcome_in_training=bool(self.welcome_in_training.data),
            facilitated=self.matching.data == "facilitated")


class ProposeForm(FlaskForm):
    profile_id = StringField("Mentor")
    note = TextAreaField("A note for both of them (optional)",
                         description="Why you think they fit. The mentor and the mentee both "
                                     "read it.",
                         render_kw={"rows": 2, "maxlength": services.NOTE_LIMIT})
