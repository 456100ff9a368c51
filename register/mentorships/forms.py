"""Forms of the mentorship pages. They check shape; the services check the rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Optional

from register.mentors import vocabulary as vocab
from register.mentors.forms import CheckboxesField
from register.mentorships import services
from register.mentorships import vocabulary as mvocab


class ChoiceField(RadioField):
    """Radio buttons whose missing or unknown answer the service explains in its own words."""

    def pre_validate(self, form):
        pass


def _choices(vocabulary) -> list[SelectChoice]:
    return [SelectChoice(choice.code, choice.label) for choice in vocabulary]


def _minutes() -> list[SelectChoice]:
    return [SelectChoice(m, f"{m} minutes" if m < 60 else f"{m // 60} hour"
                         f"{'s' if m >= 120 else ''}" + (f" {m % 60} minutes" if m % 60 else ""))
            for m in services.MEETING_MINUTES]


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token."""


class AgreementForm(FlaskForm):
    goal_1 = StringField("Goal 1", description="What the mentee wants to learn or achieve.",
                         render_kw={"maxlength": services.LIMITS["goal"]})
    goal_2 = StringField("Goal 2 (optional)", render_kw={"maxlength": services.LIMITS["goal"]})
    goal_3 = StringField("Goal 3 (optional)", render_kw={"maxlength": services.LIMITS["goal"]})
    goal_4 = StringField("Goal 4 (optional)", render_kw={"maxlength": services.LIMITS["goal"]})
    goal_5 = StringField("Goal 5 (optional)", render_kw={"maxlength": services.LIMITS["goal"]})
    knowing = CheckboxesField("Forms of knowing these goals are about",
                              choices=_choices(vocab.KNOWING))
    frequency = ChoiceField("How often you will meet", choices=_choices(mvocab.FREQUENCIES),
                           default="monthly")
    duration = ChoiceField("For how long", choices=_choices(mvocab.DURATIONS), default="6")
    meeting_minutes = SelectField("Time for each meeting", choices=_minutes(), coerce=int,
                                  default=60)
    formats = CheckboxesField("How you will meet", choices=_choices(mvocab.MEETING_FORMATS))
    confidentiality = TextAreaField(
        "What stays confidential, and its limits", render_kw={"rows": 4})
    review_on = DateField("Review date", validators=[Optional()],
                          description="When you will look back together at how it is going.")

    def goal_fields(self):
        return [self.goal_1, self.goal_2, self.goal_3, self.goal_4, self.goal_5]

    def fill(self, draft: services.AgreementDraft) -> None:
        for index, goal_field in enumerate(self.goal_fields()):
            goal_field.data = draft.goals[index] if index < len(draft.goals) else ""
        self.knowing.data = draft.knowing
        self.frequency.data = draft.frequency
        self.duration.data = draft.duration
        self.meeting_minutes.data = draft.meeting_minutes
        self.formats.data = draft.formats
        self.confidentiality.data = draft.confidentiality
        self.review_on.data = draft.review_on

    def to_draft(self) -> services.AgreementDraft:
        return services.AgreementDraft(
            goals=[f.data or "" for f in self.goal_fields()], knowing=self.knowing.data or [],
            frequency=self.frequency.data or "", duration=self.duration.data or "",
            meeting_minutes=self.meeting_minutes.data or 0, formats=self.formats.data or [],
            confidentiality=self.confidentiality.data or "", review_on=self.review_on.data)


class MeetingForm(FlaskForm):
    day = DateField("Date", validators=[Optional()])
    at = TimeField("Time", validators=[Optional()])
    minutes = SelectField("Length", choices=_minutes(), coerce=int, default=60)
    format = ChoiceField("How you will meet", choices=_choices(mvocab.MEETING_FORMATS),
                        default="video")
    place = StringField("Place, or the link to join",
                        render_kw={"maxlength": services.LIMITS["place"]})
    agenda_goals = CheckboxesField("Goals to work on", choices=[],
                                   description="From your agreement.")
    agenda = TextAreaField("Anything else on the agenda", render_kw={"rows": 3})

    def to_draft(self) -> services.MeetingDraft:
        return services.MeetingDraft(day=self.day.data, at=self.at.data,
                                     minutes=self.minutes.data or 0,
                                     format=self.format.data or "", place=self.place.data or "",
                                     agenda_goals=self.agenda_goals.data or [],
                                     agenda=self.agenda.data or "")


class RecordForm(FlaskForm):
    held = ChoiceField("Did the meeting take place?",
                      choices=[SelectChoice("yes", "Yes, we met"),
                                SelectChoice("no", "No, it did not happen")])
    notes = TextAreaField("Shared notes", description="Both of you can read these.",
                          render_kw={"rows": 4})
    actions = TextAreaField("Action points", description="Who will do what before next time.",
                            render_kw={"rows": 3})


class NoteForm(FlaskForm):
    body = TextAreaField("Private note",
                         description="Only you can see this: not the other person, not the "
                                     "coordinators.", render_kw={"rows": 3})


class CloseForm(FlaskForm):
    reason = ChoiceField("Why are you closing the mentorship?",
                        choices=_choices(mvocab.CLOSE_REASONS))
    note = TextAreaField("A few words (needed for another reason)", render_kw={"rows": 2})


class ReflectionForm(FlaskForm):
    learned = TextAreaField("What did I learn?", render_kw={"rows": 3})
    differently = TextAreaField("What would I do differently?", render_kw={"rows": 3})
    next_need = TextAreaField("What do I need next?", render_kw={"rows": 3})
    who_else = TextAreaField("Who else could help me?", render_kw={"rows": 3})

    def to_draft(self) -> services.ReflectionDraft:
        return services.ReflectionDraft(
            learned=self.learned.data or "", differently=self.differently.data or "",
            next_need=self.next_need.data or "", who_else=self.who_else.data or "")


_SCALE = [SelectChoice(str(n), label) for n, label in (
    (1, "1 – not at all"), (2, "2"), (3, "3"), (4, "4"), (5, "5 – very"))]


class EvaluationForm(FlaskForm):
    usefulness = ChoiceField("How useful was the mentoring?", choices=_SCALE)
    would_recommend = ChoiceField("Would you recommend mentoring through the register?",
                                 choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")])
    goals_met = ChoiceField("How far were the goals met?", choices=_SCALE)
    what_changed = TextAreaField("What have you done differently since?",
                                 render_kw={"rows": 3})
    mentor_gained = TextAreaField("What did you gain as a mentor?", render_kw={"rows": 3})

    def to_draft(self) -> services.EvaluationDraft:
        def number(value):
            return int(value) if value and value.isdigit() else None

        recommend = {"yes": True, "no": False}.get(self.would_recommend.data or "")
        return services.EvaluationDraft(
            usefulness=number(self.usefulness.data), would_recommend=recommend,
            goals_met=number(self.goals_met.data), what_changed=self.what_changed.data or "",
            mentor_gained=self.mentor_gained.data or "")


class SettingsForm(FlaskForm):
    confidentiality = TextAreaField(
        "Default wording of the confidentiality section",
        description="New agreements start from this; each pair can change it.",
        render_kw={"rows": 5})
