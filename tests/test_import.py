"""Importing an existing register from CSV: `flask import-mentors` and the coordinators' upload.

A file is imported whole or not at all. Files are written as spreadsheets
write them: a byte-order mark, labels and codes in any letter case, lists
separated by `;`, yes/no cells as yes, no, true, false, 1 or 0.
"""

from __future__ import annotations

import html
import io
import re
import threading
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update
from sqlalchemy import text as sql

from register.admin.models import AuditEntry, ImportBatch
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mail.models import OutboxMessage
from register.mentors import importing, services
from register.mentors.models import MentorProfile
from tests.conftest import TEST_PASSWORD, Browser

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)

NEW_PASSWORD = "quartz-meadow-trumpet"
ADMIN_EMAIL = "grace@example.org"

HEADER = ("Email,Name,headline,organisation,sector,location,bio,expertise,knowing,contexts,"
          "formats,kind,capacity,in_training,languages,linkedin_url")

# Ada's bio spans three lines of the file (lines 2 to 4), but it is one cell: a spreadsheet
# shows Ada on row 2 and Ben on row 3, and so does the import.
GOOD_CSV = (
    HEADER + "\n"
    "Ada.Okoro@Example.org,Ada Okoro,Consultant nurse,St Elsewhere,nhs,Leeds,"
    '"Twenty years in critical care nursing, ten of them leading teams through change.\n'
    '\n'
    'I help people new in post find their footing.",'
    "leading teams; Quality Improvement,Knowing WHY;how,career;SECTOR KNOWLEDGE,"
    "Video call; PHONE,Formal,3,Yes,english;Welsh,linkedin.com/in/ada-okoro\n"

    "BEN@Example.ORG,Ben Adeyemi,Professor of statistics,University of Leeds,ACADEMIA,York,"
    '"Thirty years of teaching statistics to clinicians, and of sitting on funding panels.",'
    "statistics;grant writing,whom,Skills Development;politics,In_Person,INFORMAL,1,0,"
    "English,\n"

    "cai@example.org,Cai Jones,Director,Hope Trust,Charity,Cardiff,"
    '"I have run small charities for fifteen years and chaired two boards of trustees since.",'
    "governance,How;Whom,confidence,email,formal or informal,2,TRUE,Welsh; english,\n"

    "dee@example.org,Dee Patel,Deputy director,Department of Health,GOVERNMENT,London,"
    '"Policy work across three ministries; I mentor people who are new to working with '
    'ministers.",'
    "policy,why,Navigating the political environment,telephone,both,4,false,,"
    "https://www.linkedin.com/in/dee-patel/\n"
)


def write_csv(tmp_path, text: str, name: str = "mentors.csv"):
    """Save the text as a spreadsheet saves CSV UTF-8: with a byte-order mark."""
    path = tmp_path / name
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
    return path


def path_of(url: str) -> str:
    return urlsplit(url).path


def counts(app) -> dict[str, int]:
    """Rows of everything an import could write."""
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (User, MentorProfile, OutboxMessage, AuditEntry, ImportBatch)}


def profile_of(app, email):
    with app.app_context():
        found = db.session.scalar(select(MentorProfile).join(User, MentorProfile.user_id == User.id)
                                  .where(User.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def user_of(app, email):
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def plain(response) -> str:
    """The page's words without markup, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
                    .split())


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>',
                                                 response.get_data(as_text=True))]


@pytest.fixture
def existing_mentor(app, make_user):
    """Ben already has an account and a draft profile, under his address in lower case."""
    account = make_user("ben@example.org", name="Ben Adeyemi")
    with app.app_context():
        user = db.session.get(User, account.id)
        profile = services.start_profile(user)
        services.update_profile(profile, services.ProfileData(
            display_name="Ben Adeyemi", headline="Lecturer"), by=user)
        db.session.commit()
    return account


# The command line: a good file ------------------------------------------------------


def test_a_good_file_is_imported_and_published(app, runner, tmp_path, existing_mentor,
                                               mailbox):
    result = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, GOOD_CSV)),
                                 "--publish"])
    assert result.exit_code == 0, result.output
    assert ("Imported 4 rows: 3 new, 1 existing accounts: 3 new mentors invited, 1 updated, "
            "4 published.") in result.output

    assert counts(app)["user"] == 4  # Ben was updated, not duplicated
    ada = profile_of(app, "ada.okoro@example.org")
    assert ada.state == "published"
    assert ada.knowing == ["why", "how"] and ada.contexts == ["career", "sector"]
    assert ada.formats == ["telephone", "video"] and ada.kind == "formal"
    assert ada.sector == "nhs" and ada.capacity == 3 and ada.in_training
    assert ada.expertise == ["leading teams", "quality improvement"]
    assert ada.languages == ["English", "Welsh"]
    assert ada.linkedin_url == "https://linkedin.com/in/ada-okoro"
    assert ada.bio == ("Twenty years in critical care nursing, ten of them leading teams "
                       "through change.\n\nI help people new in post find their footing.")

    # What a mentee sees on the public page, without logging in.
    visitor = Browser(app.test_client())
    page = visitor.get(f"/mentors/{ada.id}")
    assert page.status_code == 200
    text = plain(page)
    for words in ("Ada Okoro", "Consultant nurse, St Elsewhere", "Knowing why", "Knowing how",
                  "Professional and career development", "Sector knowledge",
                  "Telephone, Video call", "Formal", "Up to 3", "NHS", "English, Welsh"):
        assert words in text, words
    assert "<p>I help people new in post find their footing.</p>" in page.get_data(as_text=True)
    assert "ada.okoro@example.org" not in page.get_data(as_text=True).lower()

    others = {email: profile_of(app, email) for email in
              ("ben@example.org", "cai@example.org", "dee@example.org")}
    assert {p.state for p in others.values()} == {"published"}
    ben, cai, dee = others.values()
    assert (ben.headline, ben.sector, ben.kind, ben.formats, ben.in_training) == (
        "Professor of statistics", "academia", "informal", ["in_person"], False)
    assert ben.contexts == ["politics", "skills"]
    assert (cai.kind, cai.in_training, cai.languages) == ("both", True, ["Welsh", "English"])
    assert (dee.kind, dee.in_training, dee.linkedin_url) == (
        "both", False, "https://www.linkedin.com/in/dee-patel")
    assert "Deputy director, Department of Health" in plain(visitor.get(f"/mentors/{dee.id}"))


def test_new_mentors_are_invited_to_set_a_password(app, runner, tmp_path, existing_mentor,
                                                   mailbox):
    result = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, GOOD_CSV))])
    assert result.exit_code == 0, result.output

    ada = user_of(app, "ada.okoro@example.org")
    assert ada.password_hash is None and not ada.verified
    mailbox.deliver()
    assert mailbox.to("ben@example.org") == []  # Ben already has a password
    invitation = mailbox.last_to("ada.okoro@example.org")
    assert invitation.subject == "Your mentor profile on Mentor Register: set your password"
    link = mailbox.link_to("ada.okoro@example.org", "/auth/welcome/")

    browser = Browser(app.test_client())
    assert browser.log_in("ada.okoro@example.org", NEW_PASSWORD).status_code == 422
    form = browser.get(path_of(link))
    assert form.status_code == 200 and "Choose a password for your account" in plain(form)
    claimed = browser.post(path_of(link), {"password": NEW_PASSWORD}, follow_redirects=True)
    assert "Your password has been changed and you are logged in." in flashes(claimed)
    assert user_of(app, "ada.okoro@example.org").verified

    # Her profile is waiting for her, as a draft only she can see.
    editor = plain(browser.get("/me/profile"))
    assert "Your profile is a draft" in editor and "Consultant nurse" in editor
    browser.log_out()
    assert browser.log_in("ada.okoro@example.org", NEW_PASSWORD).status_code == 302
    assert browser.get(path_of(link)).status_code == 400  # the link works once


def test_an_existing_account_is_updated_not_duplicated(app, runner, tmp_path, existing_mentor):
    result = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, GOOD_CSV))])
    assert result.exit_code == 0, result.output
    with app.app_context():
        bens = db.session.scalars(select(User).where(func.lower(User.email) == "ben@example.org"))
        assert [u.id for u in bens] == [existing_mentor.id]
        assert db.session.scalar(select(func.count()).select_from(MentorProfile)
                                 .where(MentorProfile.user_id == existing_mentor.id)) == 1
    ben = profile_of(app, "ben@example.org")
    assert ben.headline == "Professor of statistics"
    browser = Browser(app.test_client())
    assert browser.log_in("ben@example.org", TEST_PASSWORD).status_code == 302  # unchanged


def test_without_publish_the_profiles_stay_drafts(app, runner, tmp_path):
    result = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, GOOD_CSV))])
    assert result.exit_code == 0, result.output
    assert "0 published." in result.output
    visitor = Browser(app.test_client())
    for email in ("ada.okoro@example.org", "ben@example.org", "cai@example.org"):
        profile = profile_of(app, email)
        assert profile.state == "draft"
        assert visitor.get(f"/mentors/{profile.id}").status_code == 404


def test_importing_the_same_file_twice_updates_and_invites_nobody_again(app, runner, tmp_path,
                                                                         mailbox):
    path = write_csv(tmp_path, GOOD_CSV)
    assert runner.invoke(args=["import-mentors", str(path)]).exit_code == 0
    mailbox.deliver()
    invited = len(mailbox.received)
    again = runner.invoke(args=["import-mentors", str(path)])
    assert again.exit_code == 0, again.output
    assert "0 new mentors invited, 4 updated" in again.output
    assert counts(app)["user"] == 4
    mailbox.deliver()
    assert len(mailbox.received) == invited == 4


def test_yes_no_cells_accept_what_spreadsheets_hold(app):
    cells = {"yes": True, "Yes": True, "TRUE": True, "1": True,
             "no": False, "False": False, "0": False, "": False}
    text = "email,name,in_training\n" + "".join(
        f"person{n}@example.org,Person {n},{cell}\n" for n, cell in enumerate(cells))
    with app.app_context():
        plan = importing.plan(text)
    assert plan.problems == []
    assert [row.data.in_training for row in plan.rows] == list(cells.values())


# The command line: checking without writing -----------------------------------------


def test_a_dry_run_reports_counts_and_writes_nothing(app, runner, tmp_path, existing_mentor,
                                                     mailbox):
    before = counts(app)
    result = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, GOOD_CSV)),
                                 "--dry-run", "--publish"])
    assert result.exit_code == 0, result.output
    assert "Dry run: 4 rows: 3 new, 1 existing accounts. Nothing was written." in result.output
    assert counts(app) == before
    assert profile_of(app, "ben@example.org").headline == "Lecturer"
    mailbox.deliver()
    assert mailbox.received == []


BAD_CSV = """email,name,knowing,capacity,in_training,linkedin_url
ok@example.org,Okay Person,why,2,no,
una@example.org,Una Known,knowing when,2,no,
lots@example.org,Lotta Capacity,how,lots,no,
not-an-email,Eve Mail,why,2,no,
may@example.org,May Be,why,2,maybe,
lin@example.org,Lin Ked,why,2,yes,https://example.com/in/lin-ked
OK@Example.org,Okay Again,whom,1,no,
noname@example.org,,why,2,no,
"""


def test_a_bad_file_reports_every_problem_and_writes_nothing(app, runner, tmp_path,
                                                             existing_mentor, mailbox):
    before = counts(app)
    result = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, BAD_CSV))])
    assert result.exit_code != 0
    report = result.output
    assert "7 problems found; nothing was imported." in report
    expected = [
        "row 3, knowing: 'knowing when' is not one of: why (Knowing why), how (Knowing how), "
        "whom (Knowing whom).",
        "row 4, capacity: 'lots' is not a whole number.",
        "row 5, email: ",
        "row 6, in_training: 'maybe' is not yes, no, true, false, 1 or 0.",
        "row 7, linkedin_url: Enter the address of a LinkedIn profile",
        "row 8, email: ok@example.org is already on row 2.",
        "row 9, name: A name is needed.",
    ]
    for problem in expected:
        assert problem in report, problem
    assert "row 2" not in report.replace("already on row 2", "")
    assert counts(app) == before
    mailbox.deliver()
    assert mailbox.received == []


def test_a_file_without_a_name_column_is_refused(app, runner, tmp_path):
    before = counts(app)
    result = runner.invoke(args=["import-mentors", str(write_csv(
        tmp_path, "email,full name\nada@example.org,Ada Okoro\n"))])
    assert result.exit_code != 0
    assert "row 1, name: This column is missing from the header." in result.output
    assert "1 problem found; nothing was imported." in result.output
    assert counts(app) == before


def test_rows_not_ready_to_publish_are_imported_as_drafts_and_told_what_to_complete(
        app, runner, tmp_path, mailbox):
    no_bio = ("eve@example.org,Eve Short,Nurse,,nhs,,I triage.,triage,why,career,video,formal,"
              "2,no,,\n")
    no_sector = ("fay@example.org,Fay Long,Midwife,,,,\"" + "I have delivered babies for twenty "
                 "years and now teach student midwives on the labour ward.\",birth,how,career,"
                 "video,formal,2,no,,\n")
    path = write_csv(tmp_path, GOOD_CSV + no_bio + no_sector)
    result = runner.invoke(args=["import-mentors", str(path), "--publish"])
    assert result.exit_code == 0, result.output
    # Rows 6 and 7 of the spreadsheet (Ada's three-line bio is one row).
    assert ("row 6: imported as a draft: the bio needs 80 characters (it has 9)."
            in result.output)
    assert "row 7: imported as a draft: the sector is missing." in result.output
    assert "4 published, 2 kept as drafts to complete." in result.output
    assert profile_of(app, "eve@example.org").state == "draft"
    assert profile_of(app, "fay@example.org").state == "draft"
    assert profile_of(app, "ada.okoro@example.org").state == "published"
    mailbox.deliver()
    eve = mailbox.last_to("eve@example.org")
    assert "Before mentees can find your profile, please complete:" in eve.text
    assert "- Your experience, in at least 80 characters" in eve.text
    assert "<li>Your experience, in at least 80 characters</li>" in eve.html
    assert "The sector you work in" in mailbox.last_to("fay@example.org").text
    assert "please complete" not in mailbox.last_to("ada.okoro@example.org").text


def test_a_row_that_cannot_be_imported_still_refuses_the_file_with_its_row(app, runner,
                                                                          tmp_path):
    bad = "bad-address,Eve Short,Nurse,,nhs,,,triage,why,career,video,formal,2,no,,\n"
    no_bio = "eve@example.org,Eve Short,Nurse,,nhs,,,triage,why,career,video,formal,2,no,,\n"
    before = counts(app)
    refused = runner.invoke(args=["import-mentors", str(write_csv(tmp_path, GOOD_CSV + no_bio
                                                                    + bad)), "--publish"])
    assert refused.exit_code != 0
    assert "row 7, email: " in refused.output
    assert "1 problem found; nothing was imported." in refused.output
    assert counts(app) == before


# The coordinators' upload ---------------------------------------------------------------


@pytest.fixture
def coordinator(app, make_user):
    make_user(ADMIN_EMAIL, name="Grace Coordinator", admin=True)
    browser = Browser(app.test_client())
    assert browser.log_in(ADMIN_EMAIL).status_code == 302
    return browser


def upload(browser, text: str, *, filename="mentors.csv", publish=False, encoding="utf-8-sig"):
    data = {"file": (io.BytesIO(text.encode(encoding)), filename)}
    if publish:
        data["publish"] = "y"
    return browser.post("/admin/import", data)


def test_an_upload_is_previewed_then_confirmed_once(app, coordinator, existing_mentor, mailbox):
    before = counts(app)
    sent = upload(coordinator, GOOD_CSV.replace("\n", "\r\n"))  # as Excel saves it
    assert sent.status_code == 302
    preview_path = urlsplit(sent.headers["Location"]).path
    preview = coordinator.get(preview_path)
    text = plain(preview)
    assert ("3 new mentors (each will be emailed an invitation to set a password) and 1 "
            "existing account to update.") in text
    assert "2 ada.okoro@example.org Ada Okoro Consultant nurse New account" in text
    assert "3 ben@example.org Ben Adeyemi Professor of statistics Update" in text
    assert "Import 4 mentors" in text
    after_upload = counts(app)
    assert after_upload == {**before, "import_batch": before["import_batch"] + 1}

    batch_id = int(preview_path.rsplit("/", 1)[1])
    done = coordinator.post(f"/admin/import/{batch_id}/confirm", follow_redirects=True)
    assert "Imported: 3 new mentors invited, 1 updated, 0 published." in flashes(done)
    assert "ada okoro ada.okoro@example.org draft" in plain(done).lower()
    assert counts(app)["user"] == before["user"] + 3
    assert profile_of(app, "ben@example.org").headline == "Professor of statistics"
    assert profile_of(app, "ada.okoro@example.org").bio.endswith(
        "change.\n\nI help people new in post find their footing.")
    link = mailbox.link_to("ada.okoro@example.org", "/auth/welcome/")
    assert link.startswith("http://localhost/auth/welcome/")

    audit = plain(coordinator.get("/admin/audit"))
    assert "Grace Coordinator profile.imported" in audit
    assert "Created from row 2 of an import." in audit
    assert "Updated from row 3 of an import." in audit

    after_confirm = counts(app)
    again = coordinator.post(f"/admin/import/{batch_id}/confirm", follow_redirects=True)
    assert "This file was already imported." in flashes(again)
    assert "Imported" in plain(again) and "3 new mentors invited, 1 updated" in plain(again)
    assert "Import 4 mentors" not in plain(again)
    # Afterwards the rows are listed as imported, not as the updates they would be now.
    assert "Rows imported" in plain(again)
    assert "2 ada.okoro@example.org Ada Okoro Consultant nurse" in plain(again)
    assert "Consultant nurse Update" not in plain(again)
    assert counts(app) == after_confirm
    mailbox.deliver()
    assert len(mailbox.to("ada.okoro@example.org")) == 1


def test_an_upload_with_publish_puts_mentors_on_the_register(app, coordinator):
    sent = upload(coordinator, GOOD_CSV, publish=True)
    preview_path = urlsplit(sent.headers["Location"]).path
    assert "profiles will be published" in plain(coordinator.get(preview_path))
    done = coordinator.post(f"{preview_path}/confirm", follow_redirects=True)
    assert "Imported: 4 new mentors invited, 0 updated, 4 published." in flashes(done)
    visitor = Browser(app.test_client())
    for email, organisation in [("ada.okoro@example.org", "St Elsewhere"),
                                ("ben@example.org", "University of Leeds"),
                                ("cai@example.org", "Hope Trust"),
                                ("dee@example.org", "Department of Health")]:
        profile = profile_of(app, email)
        assert profile.state == "published"
        page = visitor.get(f"/mentors/{profile.id}")
        assert page.status_code == 200 and organisation in plain(page)


def wait_until_a_request_waits_for_a_lock(backend: str) -> None:
    """On PostgreSQL, see the wait happen; SQLite cannot show it, so give it a second."""
    if backend != "postgresql":
        time.sleep(1.0)
        return
    deadline = time.monotonic() + 10
    with db.engine.connect() as watcher:
        while time.monotonic() < deadline:
            if watcher.scalar(sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                  "wait_event_type = 'Lock' AND query LIKE '%import_batch%'")):
                return
            watcher.rollback()
            time.sleep(0.05)
    raise AssertionError("the second confirm never waited for the first")


def test_a_double_click_on_confirm_imports_once(app, backend, coordinator):
    """The second of two near-simultaneous confirms waits for the first, then does nothing.

    Another connection plays the first confirm: it marks the batch applied
    and holds its transaction open while the second confirm arrives.
    """
    sent = upload(coordinator, GOOD_CSV)
    preview_path = urlsplit(sent.headers["Location"]).path
    batch_id = int(preview_path.rsplit("/", 1)[1])
    token = coordinator.csrf_token(preview_path)
    before = counts(app)
    second = {}

    def confirm_again():
        second["response"] = coordinator.post(f"{preview_path}/confirm",
                                              {"csrf_token": token}, follow_redirects=True)

    with app.app_context():
        with db.engine.connect() as first:
            first.execute(update(ImportBatch).where(ImportBatch.id == batch_id)
                          .values(applied_at=utcnow(), summary="4 new mentors invited."))
            thread = threading.Thread(target=confirm_again)
            thread.start()
            wait_until_a_request_waits_for_a_lock(backend)
            first.commit()
        thread.join(timeout=30)
    assert "This file was already imported." in flashes(second["response"])
    assert counts(app) == before


def test_an_upload_with_publish_previews_the_rows_kept_as_drafts(app, coordinator, mailbox):
    no_bio = ("eve@example.org,Eve Short,Nurse,,nhs,,I triage.,triage,why,career,video,formal,"
              "2,no,,\n")
    sent = upload(coordinator, GOOD_CSV + no_bio, publish=True)
    preview_path = urlsplit(sent.headers["Location"]).path
    text = plain(coordinator.get(preview_path))
    assert "1 row will be imported as draft, not published" in text
    assert "Row 6: imported as a draft: the bio needs 80 characters (it has 9)." in text
    assert "6 eve@example.org Eve Short Nurse New account, kept as a draft" in text
    assert "Import 5 mentors" in text
    done = coordinator.post(f"{preview_path}/confirm", follow_redirects=True)
    assert ("Imported: 5 new mentors invited, 0 updated, 4 published, 1 kept as drafts to "
            "complete.") in flashes(done)
    assert profile_of(app, "eve@example.org").state == "draft"
    mailbox.deliver()
    assert "Your experience, in at least 80 characters" in mailbox.last_to("eve@example.org").text


def test_a_bad_upload_shows_its_problems_and_cannot_be_confirmed(app, coordinator, mailbox):
    sent = upload(coordinator, BAD_CSV)
    preview_path = urlsplit(sent.headers["Location"]).path
    preview = coordinator.get(preview_path)
    text = plain(preview)
    assert "Nothing can be imported until these are fixed" in text
    assert "row 4, capacity: 'lots' is not a whole number." in text
    assert "row 6, in_training: 'maybe' is not yes, no, true, false, 1 or 0." in text
    assert "row 8, email: ok@example.org is already on row 2." in text
    assert "Import" not in text.split("Nothing can be imported", 1)[1].split("Upload a", 1)[0]
    assert 'action="' + preview_path + '/confirm"' not in preview.get_data(as_text=True)

    before = counts(app)
    refused = coordinator.post(f"{preview_path}/confirm", follow_redirects=True)
    assert "The file has problems; nothing was imported." in flashes(refused)
    assert counts(app) == before
    mailbox.deliver()
    assert mailbox.received == []


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("mentors.xlsx", b"email,name\nada@example.org,Ada\n", "Upload a .csv file"),
    ("mentors.csv", "email,name\nada@example.org,Zoë Ådams\n".encode("latin-1"),
     "Save the file as CSV UTF-8 and upload it again."),
], ids=["spreadsheet", "latin-1"])
def test_an_upload_that_is_not_csv_utf8_is_refused(app, coordinator, filename, content,
                                                   message):
    before = counts(app)
    response = coordinator.post("/admin/import", {"file": (io.BytesIO(content), filename)})
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="file-error"[^>]*>(.*?)</p>',
                      response.get_data(as_text=True))
    assert error and message in html.unescape(error.group(1))
    assert counts(app) == before
