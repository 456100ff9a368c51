"""Choices in a mentorship, from the seed's guidance on formal and informal mentoring."""

from register.mentors.vocabulary import Choice

FREQUENCIES = (
    Choice("fortnightly", "Every two weeks"),
    Choice("monthly", "Monthly"),
    Choice("six_weekly", "Every six weeks"),
    Choice("quarterly", "Every three months"),
    Choice("as_needed", "When either of us asks"),
)

DURATIONS = (
    Choice("3", "3 months"),
    Choice("6", "6 months"),
    Choice("12", "12 months"),
    Choice("open", "Open-ended (informal)"),
)

MEETING_FORMATS = (
    Choice("telephone", "Telephone"),
    Choice("video", "Video call"),
    Choice("in_person", "In person"),
)

CLOSE_REASONS = (
    Choice("goals_met", "Goals met"),
    Choice("end_date", "Agreed end date reached"),
    Choice("not_fit", "Not a good fit"),
    Choice("no_time", "No time"),
    Choice("other", "Another reason"),
)

CHECKIN_ANSWERS = (
    Choice("met", "We have met"),
    Choice("not_yet", "Not yet"),
    Choice("not_working", "It is not working"),
)

DEFAULT_CONFIDENTIALITY = (
    "What we discuss stays between us. The limits: either of us may seek advice from the "
    "register's coordinators without naming the other, and a risk of serious harm to anyone, "
    "or a legal or professional duty to report, comes before confidentiality."
)
