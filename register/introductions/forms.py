"""The request form, and the forms a mentor answers with."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from register.introductions import services
from register.introductions import vocabulary as ivocab
from register.mentors import vocabulary as vocab
from register.mentors.forms import CheckboxesField


def _choices(vocabulary) -> list[SelectChoice]:
    return [SelectChoice(choice.code, choice.label) for choice in vocabulary]


def _limit(name):
    # maxlength stops typing at the limit; data-limit shows what is left (static/js/app.js).
    return {"maxlength": services.LIMITS[name], "data-limit": services.LIMITS[name]}


class RequestForm(FlaskForm):
    subject = StringField(
        "Subject line",
        description="Say what you are asking for, so the mentor can see it at a glance. "
                    f"Up to {services.LIMITS['subject']} characters.",
        validators=[Length(max=services.LIMITS["subject"])], render_kw=_limit("subject"))
    aspiration = TextAreaField(
        "Where you want to be",
        description="Your aspiration in a few sentences: the role, skill or change you are "
                    f"working towards. Up to {services.LIMITS['aspiration']:,} characters.",
        render_kw={"rows": 4, **_limit("aspiration")})
    why_you = TextAreaField(
        "Why this mentor in particular",
        description="What in their experience made you choose them. Be specific: it shows "
                    f"you have read their profile. Up to {services.LIMITS['why_you']:,} "
                    "characters.",
        render_kw={"rows": 4, **_limit("why_you")})
    ask = RadioField(
        "What you are asking for", choices=_choices(ivocab.ASKS), default="call15",
        description="Start small: a short first conversation is easier to say yes to than "
                    "'be my mentor'.")
    kind = RadioField("Formal or informal mentoring", choices=_choices(ivocab.KINDS),
                      default="either")
    contexts = CheckboxesField("The purpose", choices=_choices(vocab.CONTEXTS),
                               description="Choose all that apply.")
    knowing = CheckboxesField("What you would like help with",
                              choices=_choices(vocab.KNOWING))
    formats = CheckboxesField(
        "How you could meet", choices=_choices(ivocab.FORMATS),
        description="Offer what suits the mentor too: telephone or online is often easiest.")
    availability = TextAreaField(
        "When you are available",
        description="Be flexible: a few days and times that work for you. Up to "
                    f"{services.LIMITS['availability']} characters.",
        render_kw={"rows": 2, **_limit("availability")})

    def to_draft(self) -> services.Draft:
        return services.Draft(
            subject=self.subject.data or "", aspiration=self.aspiration.data or "",
            why_you=self.why_you.data or "", ask=self.ask.data or "",
            kind=self.kind.data or "", contexts=list(self.contexts.data or []),
            knowing=list(self.knowing.data or []), formats=list(self.formats.data or []),
            availability=self.availability.data or "")


class AcceptForm(FlaskForm):
    message = TextAreaField("A message to the mentee (optional)",
                            description="For example, when you are free for a first call.",
                            render_kw={"rows": 3, "maxlength": services.LIMITS["message"]})


class DeclineForm(FlaskForm):
    reason = SelectField("Reason", choices=[SelectChoice("", "Choose a reason")] +
                         _choices(ivocab.DECLINE_REASONS))
    message = TextAreaField("A message to the mentee (optional)",
                            description="A kind word or a suggestion of someone else to ask.",
                            render_kw={"rows": 3, "maxlength": services.LIMITS["message"]})
