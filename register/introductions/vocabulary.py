"""Choices on the request form, from the seed's advice on approaching a mentor."""

from register.mentors.vocabulary import Choice

ASKS = (
    Choice("call15", "A 15-minute conversation",
           "The easiest thing to say yes to: a short call to see whether you are a good fit."),
    Choice("call30", "A 30-minute conversation",
           "Time for a first conversation about your aims."),
    Choice("ongoing", "Ongoing mentoring",
           "Ask for this once you know each other; a first conversation usually comes first."),
)

KINDS = (
    Choice("informal", "Informal", "You agree together how often to meet."),
    Choice("formal", "Formal", "An agreed arrangement, for example monthly for 6 or 12 months."),
    Choice("either", "Formal or informal", "You are happy to decide together."),
)

FORMATS = (
    Choice("telephone", "Telephone"),
    Choice("video", "Video call"),
    Choice("in_person", "In person"),
)

DECLINE_REASONS = (
    Choice("capacity", "I am at capacity just now"),
    Choice("experience", "Not the right match for my experience"),
    Choice("unavailable", "Not available at the moment"),
    Choice("other", "Another reason"),
)
