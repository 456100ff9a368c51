"""Importing an existing register from a CSV file (the columns are listed in DESIGN.md).

Every row is checked before anything is written. A file with any bad row
writes nothing and reports each problem by line number and column. Used by
`flask --app wsgi import-mentors` and by the administrators' upload page.
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

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        if self.column:
            return f"{where}, {self.column}: {self.message}"
        return f"{where}: {self.message}"


@dataclass
class PlannedRow:
    line: int
    email: str
    name: str
    data: services.ProfileData
    action: str = "create"  # or "update"


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


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    published: int = 0

    def __str__(self) -> str:
        return (f"{self.created} new mentor{'s' if self.created != 1 else ''} invited, "
                f"{self.updated} updated, {self.published} published.")


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


def plan(text: str, *, publish: bool = False) -> Plan:
    """Read and check the whole file; nothing is written."""
    result = Plan()
    text = text.lstrip("\ufeff")  # spreadsheets often start UTF-8 files with a BOM
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if not headers:
        result.problems.append(Problem(0, "", "The file is empty."))
        return result
    reader.fieldnames = headers
    for column in REQUIRED_COLUMNS:
        if column not in headers:
            result.problems.append(Problem(1, column, "This column is missing from the header."))
    result.ignored_columns = [h for h in headers if h and h not in COLUMNS]
    if result.problems:
        return result

    seen_emails: dict[str, int] = {}
    line = reader.line_num  # the header's last line
    for raw in reader:
        start, line = line + 1, reader.line_num
        if not any((value or "").strip() for key, value in raw.items() if key):
            continue  # blank lines in spreadsheets
        if len(result.rows) >= MAX_ROWS:
            result.problems.append(Problem(start, "", f"Import at most {MAX_ROWS} rows at once."))
            break
        row = {key: (value or "").strip() for key, value in raw.items() if key in COLUMNS}
        if None in raw:
            result.problems.append(Problem(start, "", "This row has more cells than the header."))
        planned = _plan_row(row, start, result.problems, publish)
        if planned is None:
            continue
        if planned.email in seen_emails:
            result.problems.append(Problem(start, "email", f"{planned.email} is already on line "
                                                           f"{seen_emails[planned.email]}."))
            continue
        seen_emails[planned.email] = start
        result.rows.append(planned)
    if not result.rows and not result.problems:
        result.problems.append(Problem(0, "", "The file has a header but no mentors."))
    _mark_updates(result)
    return result


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
    if len(problems) == before and publish:
        missing = services.missing_for_submission(data)
        if missing:
            problems.append(Problem(line, "", "Cannot be published without: " +
                                    "; ".join(d.lower() for _, d in missing) + "."))
    if len(problems) != before:
        return None
    return PlannedRow(line=line, email=email, name=name, data=data)


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
                     f"{'Created' if invite else 'Updated'} from line {row.line} of an import.")
        if publish and profile.state in {MentorProfile.DRAFT, MentorProfile.SUBMITTED}:
            before = profile.state
            profile.state = MentorProfile.PUBLISHED
            profile.published_at = profile.published_at or utcnow()
            audit.record(by, "profile.published", profile, f"{before} → published by import.")
            outcome.published += 1
        services.profile_changed(profile)
        if invite:
            messages.invitation(user, profile, tokens.issue(user, tokens.INVITATION))
    db.session.flush()
    return outcome
