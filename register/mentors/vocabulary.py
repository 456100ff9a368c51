"""The register's fixed vocabulary, from the seed documents (see DESIGN.md).

Each choice has a short code (stored, used in URLs and CSV files) and a
label (shown). `parse_choice` accepts either, in any letter case, because
people type both into spreadsheets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    explanation: str = ""
    aliases: tuple[str, ...] = ()


SECTORS = (
    Choice("nhs", "NHS"),
    Choice("academia", "Academia"),
    Choice("industry", "Industry"),
    Choice("charity", "Charity"),
    Choice("government", "Government"),
    Choice("other", "Other"),
)

# De Janasz and Sullivan (2004): the three forms of knowing a mentor can support.
KNOWING = (
    Choice("why", "Knowing why",
           "Values, motivation, changing beliefs and identity, and career direction."),
    Choice("how", "Knowing how",
           "The knowledge and skills to perform well in the role."),
    Choice("whom", "Knowing whom",
           "Networks and relationships: reputation, visibility and new sources of learning."),
)

CONTEXTS = (
    Choice("career", "Professional and career development"),
    Choice("sector", "Sector knowledge"),
    Choice("politics", "Navigating the political environment"),
    Choice("skills", "Skills development"),
    Choice("confidence", "Confidence and self-esteem"),
    Choice("change", "Managing change"),
)

FORMATS = (
    Choice("telephone", "Telephone", aliases=("phone",)),
    Choice("video", "Video call", aliases=("online", "video conference")),
    Choice("in_person", "In person", aliases=("face to face",)),
    Choice("email", "Email"),
)

KINDS = (
    Choice("formal", "Formal",
           "An agreed contract: how often to meet and for how long, for example monthly "
           "for 6 or 12 months, and an evaluation at the end."),
    Choice("informal", "Informal",
           "Self-matched and flexible: the pair decide how often to meet and when to "
           "review how it is going."),
    Choice("both", "Formal or informal", "Either, as suits the mentee.",
           aliases=("formal and informal", "either")),
)

VOCABULARIES = {
    "sector": SECTORS,
    "knowing": KNOWING,
    "contexts": CONTEXTS,
    "formats": FORMATS,
    "kind": KINDS,
}


def codes(choices: tuple[Choice, ...]) -> list[str]:
    """The stored codes of a vocabulary, in display order."""
    return [choice.code for choice in choices]


def label(choices: tuple[Choice, ...], code: str) -> str:
    """The label for a code; the code itself if it is unknown."""
    for choice in choices:
        if choice.code == code:
            return choice.label
    return code


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


def parse_choice(choices: tuple[Choice, ...], text: str) -> str | None:
    """The code for what someone typed (a code or a label, any case), or None."""
    wanted = _key(text)
    for choice in choices:
        if wanted in {_key(choice.code), _key(choice.label), *map(_key, choice.aliases)}:
            return choice.code
    return None
