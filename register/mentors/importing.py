"""Importing an existing register from a CSV file (the columns are listed in DESIGN.md).

Every row is checked before anything is written. A file with any row that
cannot be imported (a bad email, an unknown choice, a bad number, a
duplicate) writes nothing and reports each problem by row and column. A row
that can be imported but is not complete enough to publish (a one-line bio)
does not stop the file: with --publish it is imported as a draft, reported
with what it lacks, and the mentor's invitation says what to complete.

Rows are numbered as the spreadsheet numbers them (the header is row 1), so a
cell holding several lines still counts as one row. Used by `flask --app wsgi
import-mentors` and by the administrators' upload page.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from register.admin import audit
from register.auth import tokens
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mail import messages
from register.mentors import services
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile

COLUMNS = ("email", "name", "headline", "organisation", "sector", "location", "bio",
           "expertise", "knowing", "contexts", "formats", "kind", "capacity", "in_training",
           "languages", "linkedin_url")
REQUIRED_COLUMNS = ("email", "name")
YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n", ""}
MAX_ROWS = 5000


@dataclass
class Problem:
    """What is wrong with one cell (or the file), where, in words for the person fixing it."""

    line: int  # the spreadsheet's row number; 0 for the whole file
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.line}" if self.line else "the file"
        if self.column:
            return f"{where}, {self.column}: {self.message}"
        return f"{where}: {self.message}"


@dataclass
class PlannedRow:
    line: int  # the spreadsheet's row number
    email: str
    name: str
    data: services.ProfileData
    action: str = "create"  # or "update"
    # Why the row cannot be published yet (asked to publish, it is imported as a draft).
    unpublishable: list[str] = field(default_factory=list)

    @property
    def draft_note(self) -> str:
        """How the import reports the row, if it stays a draft although publishing was asked."""
        return f"row {self.line}: imported as a draft: " + "; ".join(self.unpublishable) + "."


@dataclass
class Plan:
    """What an import would do, or why it cannot."""

    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def drafts(self) -> list[PlannedRow]:
        """Rows that will be imported as drafts although publishing was asked for."""
        return [row for row in self.rows if row.unpublishable]


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    published: int = 0
    drafts: int = 0  # asked to publish, but not complete enough yet

    def __str__(self) -> str:
        held = f", {self.drafts} kept as drafts to complete" if self.drafts else ""
        return (f"{self.created} new mentor{'s' if self.created != 1 else ''} invited, "
                f"{self.updated} updated, {self.published} published{held}.")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _choices(value: str, column: str, line: int, problems: list[Problem]) -> list[str]:
    choices = vocab.VOCABULARIES[column]
    found = []
    for part in _split(value):
        code = vocab.parse_choice(choices, part)
        if code is None:
            allowed = ", ".join(f"{c.code} ({c.label})" for c in choices)
            problems.append(Problem(line, column, f"{part!r} is not one of: {allowed}."))
        elif code not in found:
            found.append(code)
    return found


def _one_choice(value: str, column: str, line: int, problems: list[Problem]) -> str:
    if not value.strip():
        return ""
    found = _choices(value, column, line, problems)
    if len(found) > 1:
        problems.append(Problem(line, column, "Give one value only."))
    return found[0] if found else ""


def _records(text: str):
    """(row number, cells) for each record of the file, numbered as a spreadsheet shows them.

    A quoted cell may hold line breaks; it is still one row. An empty line is a row too
    (a spreadsheet shows it as an empty one).
    """
    yield from enumerate(csv.reader(io.StringIO(text, newline="")), 1)


def plan(text: str, *, publish: bool = False) -> Plan:
    """Read and check the whole file; nothing is written."""
    result = Plan()
    text = text.lstrip("\ufeff")  # spreadsheets often start UTF-8 files with a BOM
    records = _records(text)
    try:
        _, header = next(records)
    except StopIteration:
        header = []
    except csv.Error as error:
        result.problems.append(Problem(1, "", f"The header cannot be read: {error}."))
        return result
    headers = [(h or "").strip().lower() for h in header]
    if not any(headers):
        result.problems.append(Problem(0, "", "The file is empty."))
        return result
    for column in REQUIRED_COLUMNS:
        if column not in headers:
            result.problems.append(Problem(1, column, "This column is missing from the header."))
    result.ignored_columns = [h for h in headers if h and h not in COLUMNS]
    if result.problems:
        return result

    seen_emails: dict[str, int] = {}
    number = 1
    while True:
        try:
            number, cells = next(records)
        except StopIteration:
            break
        except csv.Error as error:
            result.problems.append(Problem(number + 1, "", f"This row cannot be read: {error}."))
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank rows in spreadsheets
        if len(result.rows) >= MAX_ROWS:
            result.problems.append(Problem(number, "", f"Import at most {MAX_ROWS} rows at once."))
            break
        if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers):]):
            result.problems.append(Problem(number, "", "This row has more cells than the header."))
        row = {key: cells[n].strip() for n, key in enumerate(headers)
               if key in COLUMNS and n < len(cells)}
        planned = _plan_row(row, number, result.problems, publish)
        if planned is None:
            continue
        if planned.email in seen_emails:
            result.problems.append(Problem(number, "email", f"{planned.email} is already on row "
                                                            f"{seen_emails[planned.email]}."))
            continue
        seen_emails[planned.email] = number
        result.rows.append(planned)
    if not result.rows and not result.problems:
        result.problems.append(Problem(0, "", "The file has a header but no mentors."))
    _mark_updates(result)
    return result


# What an imported row lacks before it can be published, said the way the import reports it.
_UNPUBLISHABLE = {
    "display_name": "the name is missing",
    "headline": "the headline (current role) is missing",
    "sector": "the sector is missing",
    "expertise": "no area of expertise is given",
    "knowing": "no form of knowing is given",
    "contexts": "no mentoring context is given",
    "kind": "the kind of mentoring (formal, informal or both) is missing",
    "formats": "no way of meeting is given",
}


def unpublishable(data) -> list[str]:
    """Why a profile could not be published as it is, in the import's words; [] if it can."""
    reasons = []
    for name, _ in services.missing_for_submission(data):
        if name == "bio":
            length = len(data.bio or "")
            reasons.append(f"the bio needs {services.MIN_BIO} characters"
                           + (f" (it has {length})" if length else " (it is empty)"))
        else:
            reasons.append(_UNPUBLISHABLE.get(name, f"{name} is missing"))
    return reasons


def _plan_row(row: dict, line: int, problems: list[Problem], publish: bool) -> PlannedRow | None:
    before = len(problems)
    try:
        email = validate_email(row.get("email", ""), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        problems.append(Problem(line, "email", str(error) if row.get("email") else
                                "An email address is needed."))
        email = ""
    name = " ".join(row.get("name", "").split())
    if not name:
        problems.append(Problem(line, "name", "A name is needed."))
    capacity_text = row.get("capacity", "") or "2"
    try:
        capacity = int(capacity_text)
    except ValueError:
        problems.append(Problem(line, "capacity", f"{capacity_text!r} is not a whole number."))
        capacity = 2
    in_training_text = row.get("in_training", "").lower()
    if in_training_text not in YES | NO:
        problems.append(Problem(line, "in_training",
                                f"{row['in_training']!r} is not yes, no, true, false, 1 or 0."))
    data = services.ProfileData(
        display_name=name,
        headline=row.get("headline", ""),
        organisation=row.get("organisation", ""),
        sector=_one_choice(row.get("sector", ""), "sector", line, problems),
        location=row.get("location", ""),
        bio=row.get("bio", "").replace("\\n", "\n"),
        expertise=_split(row.get("expertise", "")),
        knowing=_choices(row.get("knowing", ""), "knowing", line, problems),
        contexts=_choices(row.get("contexts", ""), "contexts", line, problems),
        formats=_choices(row.get("formats", ""), "formats", line, problems),
        kind=_one_choice(row.get("kind", ""), "kind", line, problems),
        capacity=capacity,
        in_training=in_training_text in YES,
        languages=_split(row.get("languages", "")),
        linkedin_url=row.get("linkedin_url", ""),
    )
    if len(problems) == before:
        try:
            services.clean(data, need_training_body=False)
        except services.ProfileError as error:
            column = {"display_name": "name"}.get(error.field or "", error.field or "")
            problems.append(Problem(line, column, error.message))
    if len(problems) != before:
        return None
    return PlannedRow(line=line, email=email, name=name, data=data,
                      unpublishable=unpublishable(data) if publish else [])


def _mark_updates(result: Plan) -> None:
    emails = [row.email for row in result.rows]
    existing = set()
    for start in range(0, len(emails), 500):
        existing.update(db.session.scalars(
            select(User.email).where(User.email.in_(emails[start:start + 500]))
        ))
    for row in result.rows:
        row.action = "update" if row.email in existing else "create"


def apply(result: Plan, *, publish: bool, by: User | None) -> Outcome:
    """Write a checked plan in the caller's transaction; the caller commits."""
    if not result.ok:
        raise ValueError("Only a plan without problems can be applied.")
    outcome = Outcome()
    for row in result.rows:
        user = db.session.scalar(select(User).where(User.email == row.email))
        invite = user is None
        if invite:
            user = User(email=row.email, name=row.name)
            db.session.add(user)
            db.session.flush()
            outcome.created += 1
        else:
            outcome.updated += 1
        profile = services.start_profile(user)
        services.apply(profile, row.data)
        audit.record(by, "profile.imported", profile,
                     f"{'Created' if invite else 'Updated'} from row {row.line} of an import.")
        if publish and row.unpublishable and profile.state == MentorProfile.DRAFT:
            outcome.drafts += 1
        elif publish and profile.state in {MentorProfile.DRAFT, MentorProfile.SUBMITTED}:
            before = profile.state
            profile.state = MentorProfile.PUBLISHED
            profile.published_at = profile.published_at or utcnow()
            audit.record(by, "profile.published", profile, f"{before} → published by import.")
            outcome.published += 1
        services.profile_changed(profile)
        if invite:
            # A draft's owner is told what to complete before mentees can find them.
            to_complete = ([] if profile.state == MentorProfile.PUBLISHED
                           else [d for _, d in services.missing_for_submission(profile)])
            messages.invitation(user, profile, tokens.issue(user, tokens.INVITATION),
                                to_complete=to_complete)
    db.session.flush()
    return outcome
