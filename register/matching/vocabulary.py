"""Choices on the objectives form that the mentor profile does not already have."""

from register.mentors.vocabulary import Choice

# The seed's development areas. Mentor profiles do not list them, so they are
# matched as words against the profiles' text (see ranking.py).
DEVELOPMENT_AREAS = (
    Choice("strategic", "Strategic thinking"),
    Choice("problems", "Problem solving"),
    Choice("influencing", "Influencing skills"),
    Choice("new_in_post", "Being new in post"),
    Choice("organisation", "Organisational knowledge"),
)

MAX_OBJECTIVES = 5
OBJECTIVE_LENGTH = 160
