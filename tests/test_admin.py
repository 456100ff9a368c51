"""The coordinators' area: who may enter, vetting, moderation, reports, the audit log.

Everything goes through the test client as a coordinator would use it; the
profiles it acts on are set up with the mentors' own services.
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from register.admin.models import AuditEntry, ImportBatch
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mail.models import OutboxMessage
from register.mentors import services
from register.mentors.models import MentorProfile, ProfileReport
from tests.conftest import Browser, reload

BIO = ("Twenty years in critical care nursing, ten of them leading teams through two "
       "reorganisations.\n\nI help people new in post find their footing and their voice.")

# For tests whose outcome could differ by database: locking, ordering, case-insensitive search.
BOTH_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)

ADMIN_EMAIL = "grace@example.org"
ADMIN_NAME = "Grace Coordinator"


def full_profile(name: str, **changes) -> services.ProfileData:
    """Everything submission needs, as a mentor would have typed it."""
    values = dict(display_name=name, headline="Consultant nurse", organisation="St Elsewhere",
                  sector="nhs", location="Leeds", bio=BIO, expertise=["leading teams"],
                  knowing=["why", "how"], contexts=["career", "change"], formats=["video"],
                  kind="formal", capacity=2)
    values.update(changes)
    return services.ProfileData(**values)


@pytest.fixture
def make_mentor(app, make_user):
    """make_mentor("Ada Okoro", state="published") -> the id of a profile in that state.

    The mentor fills in and submits the profile; the system (no coordinator)
    moves it on when a later state is asked for, so setup leaves no
    coordinator's trace in the audit log.
    """

    def make(name, *, email=None, state=MentorProfile.SUBMITTED, submitted_days_ago=None,
             edited=False, **changes) -> int:
        account = make_user(email or f"{name.split()[0].lower()}@example.org", name=name)
        with app.test_request_context():
            user = db.session.get(User, account.id)
            profile = services.start_profile(user)
            services.update_profile(profile, full_profile(name, **changes), by=user)
            if state != MentorProfile.DRAFT:
                services.submit(profile, by=user)
            if submitted_days_ago is not None:
                profile.submitted_at = utcnow() - timedelta(days=submitted_days_ago)
            if state in {MentorProfile.PUBLISHED, MentorProfile.SUSPENDED}:
                services.approve(profile, by=None)
            if state == MentorProfile.SUSPENDED:
                services.suspend(profile, by=None, reason="Set up as suspended.")
            if state == MentorProfile.REJECTED:
                services.reject(profile, by=None, reason="Set up as rejected.")
            if edited:
                services.update_profile(profile, full_profile(name, headline="Chief nurse"),
                                        by=user)
            db.session.commit()
            return profile.id

    return make


@pytest.fixture
def admin(make_user):
    return make_user(ADMIN_EMAIL, name=ADMIN_NAME, admin=True)


@pytest.fixture
def coordinator(browser, admin):
    """The test client, logged in as a coordinator."""
    assert browser.log_in(ADMIN_EMAIL).status_code == 302
    return browser


def state_of(app, profile_id) -> str:
    return reload(app, MentorProfile, profile_id).state


def text_of(response) -> str:
    """The page as a person reads it: entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def plain(response) -> str:
    """The page's words without markup, spaces collapsed: what a screen reader reads out."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
                    .split())


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>',
                                                 response.get_data(as_text=True))]


def emails_with_subject(mailbox, address, subject):
    mailbox.deliver()
    return [m for m in mailbox.to(address) if m.subject == subject]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# Who may enter -------------------------------------------------------------------


@pytest.fixture
def register_in_every_state(app, make_mentor, make_user):
    """One of everything an admin action can touch, and a way to see whether it changed."""
    ids = {
        "submitted": make_mentor("Sam Submitted"),
        "published": make_mentor("Pat Published", state="published", edited=True),
        "suspended": make_mentor("Sue Suspended", state="suspended"),
    }
    reporter = make_user("reporter@example.org", name="Rory Reporter")
    with app.app_context():
        found = services.report(db.session.get(MentorProfile, ids["published"]),
                                by=db.session.get(User, reporter.id),
                                reason="The headline claims a role they left years ago.")
        batch = ImportBatch(content="email,name\nnew@example.org,New Person\n",
                            filename="mentors.csv")
        db.session.add(batch)
        db.session.commit()
        ids["report"], ids["batch"] = found.id, batch.id

    def snapshot():
        with app.app_context():
            return {
                "profiles": db.session.execute(
                    select(MentorProfile.id, MentorProfile.state,
                           MentorProfile.edited_since_review, MentorProfile.moderation_note)
                    .order_by(MentorProfile.id)).all(),
                "reports": db.session.execute(
                    select(ProfileReport.id, ProfileReport.resolved_at)).all(),
                "batches": db.session.execute(
                    select(ImportBatch.id, ImportBatch.applied_at)).all(),
                **{model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                   for model in (User, AuditEntry, OutboxMessage)},
            }

    return ids, snapshot


def admin_pages(ids):
    return ["/admin/", "/admin/queue", "/admin/profiles", f"/admin/profiles/{ids['published']}",
            "/admin/moderation", "/admin/audit", "/admin/import", f"/admin/import/{ids['batch']}",
            "/admin/matching", "/admin/matching/pairings", "/admin/reports",
            "/admin/reports/requests.csv"]


def admin_actions(ids):
    """(path, form) for every POST in the coordinators' area, each one that would succeed."""
    return [
        (f"/admin/profiles/{ids['submitted']}/decide", {"decision": "approve", "message": ""}),
        (f"/admin/profiles/{ids['submitted']}/decide",
         {"decision": "changes", "message": "Add your languages."}),
        (f"/admin/profiles/{ids['submitted']}/decide",
         {"decision": "reject", "message": "Not a mentor."}),
        (f"/admin/profiles/{ids['published']}/suspend", {"message": "Complaints."}),
        (f"/admin/profiles/{ids['suspended']}/reinstate", {"message": "Cleared."}),
        (f"/admin/profiles/{ids['published']}/reviewed", {}),
        (f"/admin/moderation/{ids['report']}/resolve", {"message": "Spoke to the mentor."}),
        (f"/admin/import/{ids['batch']}/confirm", {}),
        ("/admin/import", {"file": (io.BytesIO(b"email,name\nx@example.org,X\n"), "m.csv")}),
    ]


@pytest.mark.parametrize("visitor", ["anonymous", "mentor", "member"])
@BOTH_BACKENDS
def test_only_coordinators_get_in(app, browser, make_user, register_in_every_state, visitor):
    ids, snapshot = register_in_every_state
    if visitor == "mentor":  # the owner of the submitted profile, hoping to approve it
        assert browser.log_in("sam@example.org").status_code == 302
    elif visitor == "member":
        make_user("member@example.org")
        assert browser.log_in("member@example.org").status_code == 302
    before = snapshot()
    for path in admin_pages(ids):
        page = browser.get(path)
        assert page.status_code == 403, path
        assert "You cannot do that here" in text_of(page), path
        assert "Pat Published" not in text_of(page), path
    for path, form in admin_actions(ids):
        assert browser.post(path, form).status_code == 403, path
    assert snapshot() == before


def test_admin_actions_need_the_forms_csrf_token(app, coordinator, register_in_every_state):
    ids, snapshot = register_in_every_state
    before = snapshot()
    for path, form in admin_actions(ids):
        refused = coordinator.post(path, form, csrf=False)
        assert refused.status_code == 400, path
        assert "form had expired" in text_of(refused), path
    assert snapshot() == before
    # The same request with the token goes through: it was the token that was missing.
    path, form = admin_actions(ids)[0]
    assert coordinator.post(path, form).status_code == 302
    assert state_of(app, ids["submitted"]) == "published"


# Vetting ---------------------------------------------------------------------------


def test_the_queue_lists_submitted_profiles_oldest_first(app, coordinator, make_mentor):
    make_mentor("Cara Newest", submitted_days_ago=1)
    make_mentor("Ahmed Oldest", submitted_days_ago=3)
    make_mentor("Bea Middle", submitted_days_ago=2)
    make_mentor("Dan Draft", state="draft")
    make_mentor("Pia Published", state="published")
    page = text_of(coordinator.get("/admin/queue"))
    assert "3 profiles waiting, oldest first." in page
    positions = [page.index(name) for name in ("Ahmed Oldest", "Bea Middle", "Cara Newest")]
    assert positions == sorted(positions)
    assert "Dan Draft" not in page and "Pia Published" not in page
    assert "Submitted" in page and "by ahmed@example.org" in page


def test_approving_publishes_and_emails_the_mentor(app, coordinator, make_mentor, mailbox):
    profile_id = make_mentor("Ada Okoro")
    done = coordinator.post(f"/admin/profiles/{profile_id}/decide",
                            {"decision": "approve", "message": "Welcome to the register."},
                            follow_redirects=True)
    assert "Ada Okoro: Approved and published." in flashes(done)
    assert "No profiles are waiting." in text_of(done)
    assert state_of(app, profile_id) == "published"

    public = Browser(app.test_client()).get(f"/mentors/{profile_id}")
    assert public.status_code == 200 and "Ada Okoro" in text_of(public)

    email = mailbox.last_to("ada@example.org")
    assert email.subject == "Your mentor profile is now on the register"
    assert f"http://localhost/mentors/{profile_id}" in email.links()
    assert "Welcome to the register." in email.text


def test_requesting_changes_needs_a_note_which_reaches_the_mentor(
    app, browser, coordinator, make_mentor, mailbox
):
    profile_id = make_mentor("Ada Okoro")
    empty = coordinator.post(f"/admin/profiles/{profile_id}/decide",
                             {"decision": "changes", "message": "  "}, follow_redirects=True)
    assert "Ada Okoro: Write what should change; the mentor will read it." in flashes(empty)
    assert state_of(app, profile_id) == "submitted"
    assert emails_with_subject(mailbox, "ada@example.org",
                               "Changes requested to your mentor profile") == []

    note = "Please say which languages you mentor in."
    sent = coordinator.post(f"/admin/profiles/{profile_id}/decide",
                            {"decision": "changes", "message": note}, follow_redirects=True)
    assert "Ada Okoro: Sent back to the mentor with your note." in flashes(sent)
    assert state_of(app, profile_id) == "draft"

    [email] = emails_with_subject(mailbox, "ada@example.org",
                                  "Changes requested to your mentor profile")
    assert note in email.text
    assert "http://localhost/me/profile" in email.links()

    mentor = Browser(app.test_client())
    mentor.log_in("ada@example.org")
    editor = text_of(mentor.get("/me/profile"))
    assert "The coordinators asked for changes:" in editor and note in editor
    assert "Submit for checking" in editor


def test_rejecting_needs_a_reason_which_reaches_the_mentor(app, coordinator, make_mentor,
                                                           mailbox):
    profile_id = make_mentor("Ada Okoro")
    empty = coordinator.post(f"/admin/profiles/{profile_id}/decide",
                             {"decision": "reject", "message": ""}, follow_redirects=True)
    assert "Ada Okoro: Write the reason; the mentor will read it." in flashes(empty)
    assert state_of(app, profile_id) == "submitted"

    reason = "We could not confirm your registration with the professional body."
    done = coordinator.post(f"/admin/profiles/{profile_id}/decide",
                            {"decision": "reject", "message": reason}, follow_redirects=True)
    assert "Ada Okoro: Rejected; the mentor has been told why." in flashes(done)
    assert state_of(app, profile_id) == "rejected"
    [email] = emails_with_subject(mailbox, "ada@example.org",
                                  "Your mentor profile was not accepted")
    assert reason in email.text

    mentor = Browser(app.test_client())
    mentor.log_in("ada@example.org")
    assert reason in text_of(mentor.get("/me/profile"))
    assert Browser(app.test_client()).get(f"/mentors/{profile_id}").status_code == 404


def test_suspending_and_reinstating_with_a_reason(app, coordinator, make_mentor, mailbox):
    profile_id = make_mentor("Ada Okoro", state="published")
    public = Browser(app.test_client())
    admin_page = f"/admin/profiles/{profile_id}"
    assert "Suspend the profile" in text_of(coordinator.get(admin_page))

    empty = coordinator.post(f"{admin_page}/suspend", {"message": ""}, follow_redirects=True)
    assert "Write the reason; the mentor will read it." in flashes(empty)
    assert state_of(app, profile_id) == "published"

    reason = "Three mentees reported missed meetings; we are looking into it."
    suspended = coordinator.post(f"{admin_page}/suspend", {"message": reason},
                                 follow_redirects=True)
    assert "Suspended; the mentor has been told why." in flashes(suspended)
    assert "Reinstate the profile" in text_of(suspended)
    assert state_of(app, profile_id) == "suspended"
    assert public.get(f"/mentors/{profile_id}").status_code == 404
    [email] = emails_with_subject(mailbox, "ada@example.org",
                                  "Your mentor profile has been suspended")
    assert reason in email.text

    reinstated = coordinator.post(f"{admin_page}/reinstate",
                                  {"message": "Spoke to everyone; all is well."},
                                  follow_redirects=True)
    assert "Reinstated; the mentor has been told." in flashes(reinstated)
    assert state_of(app, profile_id) == "published"
    assert public.get(f"/mentors/{profile_id}").status_code == 200
    assert emails_with_subject(mailbox, "ada@example.org",
                               "Your mentor profile is back on the register")


@pytest.mark.parametrize(("state", "path", "form", "message"), [
    ("draft", "decide", {"decision": "approve"}, "A draft profile cannot be approved."),
    ("published", "decide", {"decision": "approve"}, "A published profile cannot be approved."),
    ("published", "decide", {"decision": "reject", "message": "No."},
     "A published profile cannot be rejected."),
    ("draft", "suspend", {"message": "Complaints."}, "A draft profile cannot be suspended."),
    ("submitted", "suspend", {"message": "Complaints."},
     "A submitted profile cannot be suspended."),
    ("published", "reinstate", {"message": "Cleared."},
     "A published profile cannot be reinstated."),
    ("published", "reviewed", {}, "There are no edits waiting for review."),
])
def test_refused_transitions_change_nothing_and_say_why(
    app, coordinator, make_mentor, mailbox, state, path, form, message
):
    profile_id = make_mentor("Ada Okoro", state=state)
    audit_before, mail_before = count(app, AuditEntry), count(app, OutboxMessage)
    page = coordinator.post(f"/admin/profiles/{profile_id}/{path}",
                            {**form, "back": "profile"}, follow_redirects=True)
    assert page.status_code == 200
    assert any(message in shown for shown in flashes(page)), flashes(page)
    assert state_of(app, profile_id) == state
    assert count(app, AuditEntry) == audit_before
    assert count(app, OutboxMessage) == mail_before


def test_an_unknown_decision_is_a_bad_request(app, coordinator, make_mentor):
    profile_id = make_mentor("Ada Okoro")
    response = coordinator.post(f"/admin/profiles/{profile_id}/decide", {"decision": "publish"})
    assert response.status_code == 400
    assert "Choose approve, request changes or reject." in text_of(response)
    assert state_of(app, profile_id) == "submitted"


def test_edits_after_approval_are_flagged_until_reviewed(app, coordinator, make_mentor):
    edited = make_mentor("Ada Okoro", state="published", edited=True)
    make_mentor("Ben Unchanged", state="published")
    listed = text_of(coordinator.get("/admin/profiles?state=edited"))
    assert "Ada Okoro" in listed and "Ben Unchanged" not in listed
    assert "1 published profile to review" in plain(coordinator.get("/admin/"))

    page = text_of(coordinator.get(f"/admin/profiles/{edited}"))
    assert "Edited since approval" in page and "I have read the edits" in page
    done = coordinator.post(f"/admin/profiles/{edited}/reviewed", follow_redirects=True)
    assert "Marked as reviewed." in flashes(done)
    assert "I have read the edits" not in text_of(done)
    assert not reload(app, MentorProfile, edited).edited_since_review
    assert "Ada Okoro" not in text_of(coordinator.get("/admin/profiles?state=edited"))


# Reports ---------------------------------------------------------------------------


def test_a_member_reports_a_profile_and_a_coordinator_resolves_it(
    app, browser, make_user, make_mentor
):
    profile_id = make_mentor("Ada Okoro", state="published")
    make_user("rory@example.org", name="Rory Reporter")
    browser.log_in("rory@example.org")
    assert "Report a problem with this profile" in text_of(browser.get(f"/mentors/{profile_id}"))

    short = browser.post(f"/mentors/{profile_id}/report", {"reason": "fake"})
    assert short.status_code == 422
    field_error = re.search(r'<p class="field-error" id="reason-error"[^>]*>(.*?)</p>',
                            short.get_data(as_text=True))
    assert field_error and "Write between 10 and 2,000 characters." in field_error.group(1)
    assert count(app, ProfileReport) == 0

    reason = "The organisation named here says she has never worked there."
    sent = browser.post(f"/mentors/{profile_id}/report", {"reason": reason},
                        follow_redirects=True)
    assert "Thank you. The register's coordinators will look at your report." in flashes(sent)
    browser.log_out()

    coordinator = Browser(app.test_client())
    make_user(ADMIN_EMAIL, name=ADMIN_NAME, admin=True)
    coordinator.log_in(ADMIN_EMAIL)
    assert "1 report to resolve" in plain(coordinator.get("/admin/"))
    open_reports = plain(coordinator.get("/admin/moderation"))
    assert "About Ada Okoro" in open_reports and reason in open_reports
    assert "by Rory Reporter" in open_reports
    with app.app_context():
        report_id = db.session.scalar(select(ProfileReport.id))

    no_note = coordinator.post(f"/admin/moderation/{report_id}/resolve", {"message": ""},
                               follow_redirects=True)
    assert any("Write what was done" in shown for shown in flashes(no_note))
    assert reload(app, ProfileReport, report_id).resolved_at is None

    note = "Checked with the organisation: she worked there until 2019. Headline corrected."
    resolved = coordinator.post(f"/admin/moderation/{report_id}/resolve", {"message": note},
                                follow_redirects=True)
    assert "Report resolved." in flashes(resolved)
    assert "No open reports." in text_of(resolved)
    shown = text_of(coordinator.get("/admin/moderation?show=resolved"))
    assert f"by {ADMIN_NAME}: {note}" in shown
    assert f"(resolved: {note})" in text_of(coordinator.get(f"/admin/profiles/{profile_id}"))

    again = coordinator.post(f"/admin/moderation/{report_id}/resolve",
                             {"message": "Resolved a second time."}, follow_redirects=True)
    assert "This report was already resolved." in flashes(again)
    assert reload(app, ProfileReport, report_id).resolution_note == note


def test_a_resolution_note_that_is_too_long_is_refused_with_a_reason(
    app, coordinator, make_mentor, make_user
):
    profile_id = make_mentor("Ada Okoro", state="published")
    reporter = make_user("rory@example.org", name="Rory Reporter")
    with app.app_context():
        found = services.report(db.session.get(MentorProfile, profile_id),
                                by=db.session.get(User, reporter.id),
                                reason="The organisation says she never worked there.")
        db.session.commit()
        report_id = found.id
    page = coordinator.post(f"/admin/moderation/{report_id}/resolve", {"message": "x" * 4001},
                            follow_redirects=True)
    assert any("too long" in shown for shown in flashes(page)), flashes(page)
    assert reload(app, ProfileReport, report_id).resolved_at is None


def test_reporting_needs_an_account(app, browser, make_mentor):
    profile_id = make_mentor("Ada Okoro", state="published")
    response = browser.post(f"/mentors/{profile_id}/report",
                            {"reason": "The organisation says she never worked there."})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert count(app, ProfileReport) == 0


# The audit log ---------------------------------------------------------------------


def audit_rows(response) -> list[str]:
    """Each row of the audit table, as text with cells separated by ' | '."""
    body = response.get_data(as_text=True).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append(" | ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells))
    return rows


@BOTH_BACKENDS
def test_every_coordinator_action_is_in_the_audit_log(app, browser, coordinator, make_mentor,
                                                      make_user):
    approved = make_mentor("Ada Okoro")
    sent_back = make_mentor("Ben Adeyemi")
    rejected = make_mentor("Cai Jones")
    edited = make_mentor("Dee Patel", state="published", edited=True)
    reporter = make_user("rory@example.org", name="Rory Reporter")
    with app.app_context():
        found = services.report(db.session.get(MentorProfile, edited),
                                by=db.session.get(User, reporter.id),
                                reason="Her LinkedIn link points at someone else.")
        db.session.commit()
        report_id = found.id

    def post(path, form=None):
        assert coordinator.post(path, form or {}).status_code == 302, path

    post(f"/admin/profiles/{approved}/decide", {"decision": "approve", "message": "Welcome."})
    post(f"/admin/profiles/{sent_back}/decide",
         {"decision": "changes", "message": "Add a headline that says what you do."})
    post(f"/admin/profiles/{rejected}/decide",
         {"decision": "reject", "message": "Not registered with the professional body."})
    post(f"/admin/profiles/{approved}/suspend", {"message": "Complaint under review."})
    post(f"/admin/profiles/{approved}/reinstate", {"message": "Complaint not upheld."})
    post(f"/admin/profiles/{edited}/reviewed")
    post(f"/admin/moderation/{report_id}/resolve", {"message": "Link corrected by the mentor."})

    expected = [
        ("profile.approved", approved, "submitted → published: Welcome."),
        ("profile.changes_requested", sent_back,
         "submitted → draft: Add a headline that says what you do."),
        ("profile.rejected", rejected,
         "submitted → rejected: Not registered with the professional body."),
        ("profile.suspended", approved, "published → suspended: Complaint under review."),
        ("profile.reinstated", approved, "suspended → published: Complaint not upheld."),
        ("profile.edits_reviewed", edited, "Edits since approval reviewed."),
        ("report.resolved", report_id, "Link corrected by the mentor."),
    ]
    with app.app_context():
        entries = {(e.action, e.subject_id): e for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.actor_id.is_not(None))
            .where(AuditEntry.actor.has(User.is_admin)))}
        assert set(entries) == {(action, subject) for action, subject, _ in expected}
        when = {key: e.created_at.strftime("%-d %b %Y %H:%M") for key, e in entries.items()}

    log = audit_rows(coordinator.get("/admin/audit"))
    for action, subject, summary in expected:
        record = f"{'profile' if action.startswith('profile.') else 'profile_report'} {subject}"
        row = f"{when[action, subject]} | {ADMIN_NAME} | {action} | {record} | {summary}"
        assert row in log, f"{row!r} not in the audit log:\n" + "\n".join(log)
    # Newest first: the last action is the first row.
    assert log[0].split(" | ")[2] == "report.resolved"

    history = audit_rows(coordinator.get(f"/admin/profiles/{approved}"))
    assert [row.split(" | ")[2] for row in history] == [
        "profile.reinstated", "profile.suspended", "profile.approved", "profile.submitted"]
    assert "Complaint under review." in history[1]
    assert history[-1].split(" | ")[1] == "Ada Okoro"  # the mentor submitted it


@BOTH_BACKENDS
def test_the_audit_log_cannot_be_changed(app, coordinator, make_mentor):
    make_mentor("Ada Okoro")  # leaves a "profile.submitted" entry
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule or rule.endpoint == "admin.audit_log":
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    for method in ("post", "put", "patch", "delete"):
        response = getattr(coordinator.client, method)("/admin/audit")
        assert response.status_code == 405, method

    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        entry.summary = "Nothing happened here."
        with pytest.raises(RuntimeError, match="never changed"):
            db.session.flush()
        db.session.rollback()
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        db.session.delete(entry)
        with pytest.raises(RuntimeError, match="never changed"):
            db.session.flush()
        db.session.rollback()
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry)).all()
        assert [(e.action, e.summary) for e in entries] == [("profile.submitted",
                                                             "draft → submitted")]
    assert "Entries cannot be changed or deleted." in text_of(coordinator.get("/admin/audit"))


# The list of profiles --------------------------------------------------------------


@BOTH_BACKENDS
def test_profiles_are_filtered_by_state_and_searched_by_name_or_email(
    app, coordinator, make_mentor
):
    make_mentor("Ada Okoro", email="ada.okoro@nhs.example", state="published")
    make_mentor("Ben Adeyemi", email="ben@uni.example", state="submitted")
    make_mentor("Cai Jones", email="cai@charity.example", state="draft")
    make_mentor("Dee Patel", email="dee@nhs.example", state="suspended")

    every = text_of(coordinator.get("/admin/profiles"))
    assert "4 profiles." in every
    assert all(name in every for name in ("Ada Okoro", "Ben Adeyemi", "Cai Jones", "Dee Patel"))

    def names(query):
        page = text_of(coordinator.get(f"/admin/profiles?{query}"))
        return {n for n in ("Ada Okoro", "Ben Adeyemi", "Cai Jones", "Dee Patel") if n in page}

    assert names("state=published") == {"Ada Okoro"}
    assert names("state=suspended") == {"Dee Patel"}
    assert names("state=draft") == {"Cai Jones"}
    assert names("q=okoro") == {"Ada Okoro"}
    assert names("q=ADEYEMI") == {"Ben Adeyemi"}
    assert names("q=nhs.example") == {"Ada Okoro", "Dee Patel"}
    assert names("q=nhs.example&state=suspended") == {"Dee Patel"}
    assert names("q=nobody") == set()
    assert "0 profiles." in text_of(coordinator.get("/admin/profiles?q=nobody"))
    # LIKE's wildcards are only characters: nobody's name or email holds one.
    assert names("q=%25") == names("q=_") == names("q=a_a") == set()
    assert names("q=dee%40nhs") == {"Dee Patel"}  # an @ typed as it is
    # The form remembers what was asked.
    page = coordinator.get("/admin/profiles?q=okoro&state=published").get_data(as_text=True)
    assert 'value="okoro"' in page and '<option value="published" selected>' in page
