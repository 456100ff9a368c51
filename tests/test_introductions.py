"""Introductory requests: who may ask whom, answering, the emails, and who sees what.

The rules are exercised through the services, as the views and the worker call
them; the pages through the test client, as a browser would use them; every
email through a real SMTP server on loopback. Times are moved by rewriting the
rows, never by patching the clock.
"""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import asdict
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import event, func, select, update

from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.introductions import services
from register.introductions.models import IntroRequest
from register.mail.models import OutboxMessage
from register.mentors import services as mentors
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from tests.conftest import BACKENDS, reload
from tests.test_profiles import full_data

BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

MENTOR = "ada.mentor@example.org"
MENTEE = "mia.mentee@example.org"

# A request in the spirit of the seed's example: the subject states the ask.
SUBJECT = "15 minutes of your time – your experience in quality improvement"
ASPIRATION = "In ten years I aspire to lead quality improvement across a whole hospital trust."
WHY_YOU = "Your improvement programmes in three hospitals are the path I hope to follow."
AVAILABILITY = "Weekday mornings, or Thursday evenings after six."


def draft(**overrides) -> services.Draft:
    """A complete request, as a mentee would write it."""
    values = dict(subject=SUBJECT, aspiration=ASPIRATION, why_you=WHY_YOU, ask="call15",
                  kind="informal", contexts=["career"], knowing=["how"],
                  formats=["telephone", "video"], availability=AVAILABILITY)
    values.update(overrides)
    return services.Draft(**values)


def request_form(**overrides) -> dict:
    """The same request as the compose form posts it."""
    return asdict(draft(**overrides))


@pytest.fixture
def make_mentor(app, make_user):
    """make_mentor(email, state="published", capacity=2, **profile fields) -> (user, profile id)."""

    def make(email=None, *, state=MentorProfile.PUBLISHED, name=None, **overrides):
        user = make_user(email, name=name)
        with app.test_request_context():
            person = db.session.get(User, user.id)
            profile = mentors.start_profile(person)
            mentors.update_profile(profile, full_data(**overrides), by=person)
            profile.state = state
            if state == MentorProfile.PUBLISHED:
                profile.published_at = utcnow()
            db.session.commit()
            return user, profile.id

    return make


@pytest.fixture
def send_request(app):
    """send_request(mentee, profile_id, **draft fields) -> the id of the committed request."""

    def send(mentee, profile_id, **overrides) -> int:
        with app.test_request_context():
            sent = services.send(db.session.get(User, mentee.id),
                                 db.session.get(MentorProfile, profile_id), draft(**overrides))
            db.session.commit()
            return sent.id

    return send


def age_requests(app, ids, *, days: float) -> None:
    """Make requests `days` old, with the expiry date they would have had."""
    created = utcnow() - timedelta(days=days)
    with app.app_context():
        db.session.execute(update(IntroRequest).where(IntroRequest.id.in_(ids)).values(
            created_at=created, expires_at=created + services.EXPIRE_AFTER))
        db.session.commit()


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def state_of(app, request_id) -> str:
    return reload(app, IntroRequest, request_id).state


def path_of(url: str) -> str:
    """The part of an emailed link the test client can follow."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def answer_links(mailbox, address: str, request_id: int) -> tuple[str, str]:
    """The accept and decline links for one request, from the newest email that has them."""
    mailbox.deliver()
    for message in reversed(mailbox.to(address)):
        links = [path_of(link) for link in message.links()]
        accept = [link for link in links if link.startswith(f"/requests/{request_id}/accept/")]
        decline = [link for link in links if link.startswith(f"/requests/{request_id}/decline/")]
        if accept and decline:
            return accept[0], decline[0]
    raise AssertionError(f"no answer links for request {request_id} in the mail to {address}")


def subjects(messages) -> list[str]:
    """The subject lines as a mail client shows them.

    Runs of spaces are collapsed: when Python 3.11's header folder moves an encoded
    word ("–") to the next line, it leaves a space behind, and the subject arrives
    as "time  – your". Folding headers at 998 characters in register/mail/outbox.py
    would stop it; until then the extra space is not what these tests are about.
    """
    return [" ".join(m.subject.split()) for m in messages]


def raw(message) -> str:
    """Everything in an email, headers and both bodies, decoded."""
    return "\n".join([str(message.message), message.text, message.html])


# Sending and answering: the rules, directly --------------------------------------


@BOTH_BACKENDS
def test_a_request_is_sent_accepted_once_and_never_answered_twice(app, make_user, make_mentor,
                                                                  mailbox):
    mentor, profile_id = make_mentor(MENTOR)
    mentee = make_user(MENTEE, name="Mia Mentee")
    stranger = make_user()
    with app.test_request_context():
        asker, ada = db.session.get(User, mentee.id), db.session.get(User, mentor.id)
        other = db.session.get(User, stranger.id)
        profile = db.session.get(MentorProfile, profile_id)
        sent = services.send(asker, profile, draft())
        assert sent.state == "pending" and sent.expires_at - sent.created_at == timedelta(days=14)
        with pytest.raises(services.RequestError, match="already have a request waiting"):
            services.send(asker, profile, draft())
        for wrong in (asker, other):
            with pytest.raises(services.RequestError, match="Only the mentor"):
                services.accept(sent, by=wrong)
        assert sent.state == "pending"
        mentorship = services.accept(sent, by=ada, message="Tuesday at ten suits me.")
        assert sent.state == "accepted" and sent.answered_at is not None
        assert (mentorship.mentor_id, mentorship.mentee_id, mentorship.status) == (
            mentor.id, mentee.id, "active")
        with pytest.raises(services.RequestError, match="already been accepted"):
            services.accept(sent, by=ada)
        with pytest.raises(services.RequestError, match="already been accepted"):
            services.decline(sent, by=ada, reason="capacity")
        with pytest.raises(services.RequestError, match="already been accepted"):
            services.withdraw(sent, by=asker)
        with pytest.raises(services.RequestError, match="already mentoring you"):
            services.send(asker, profile, draft())
        db.session.commit()
    assert count(app, IntroRequest) == 1 and count(app, Mentorship) == 1
    mailbox.deliver()
    assert subjects(mailbox.to(MENTOR)) == [f"Mentoring request from Mia Mentee: {SUBJECT}"]
    assert [m.subject for m in mailbox.to(MENTEE)] == ["Dr Ada Okoro accepted your request"]


@BOTH_BACKENDS
def test_requests_are_refused_while_the_mentor_cannot_take_them(app, make_user, make_mentor):
    # The mentee is a mentor too, so one of the profiles they must not ask is their own.
    mentee, own_id = make_mentor(MENTEE, name="Mia Mentee")
    unverified = make_user(verified=False)
    _, open_id = make_mentor("open@example.org")
    paused_user, paused_id = make_mentor("paused@example.org")
    away_user, away_id = make_mentor("away@example.org")
    full_user, full_id = make_mentor("full@example.org", capacity=1)
    _, suspended_id = make_mentor("suspended@example.org", state=MentorProfile.SUSPENDED)
    _, draft_id = make_mentor("draft@example.org", state=MentorProfile.DRAFT)
    mentoring_user, mentoring_id = make_mentor("mentoring@example.org")
    someone = make_user()
    with app.test_request_context():
        mentors.pause(db.session.get(MentorProfile, paused_id),
                      by=db.session.get(User, paused_user.id))
        mentors.pause(db.session.get(MentorProfile, away_id), by=db.session.get(User, away_user.id),
                      away_until=date.today() + timedelta(days=30))
        db.session.add(Mentorship(mentor_id=full_user.id, mentee_id=someone.id))
        db.session.add(Mentorship(mentor_id=mentoring_user.id, mentee_id=mentee.id))
        db.session.commit()

    refused = [
        (unverified, open_id, "Confirm your email address before sending requests"),
        (mentee, own_id, "This is your own profile"),
        (mentee, paused_id, "not taking requests now. Not taking requests at the moment."),
        (mentee, away_id, "not taking requests now. Away until"),
        (mentee, full_id, "not taking requests now. Full: mentoring as many people"),
        (mentee, suspended_id, "not on the register at the moment"),
        (mentee, draft_id, "This mentor is not on the register."),
        (mentee, mentoring_id, "This mentor is already mentoring you."),
    ]
    with app.test_request_context():
        for who, profile_id, reason in refused:
            person = db.session.get(User, who.id)
            profile = db.session.get(MentorProfile, profile_id)
            assert reason in services.refusal(person, profile), reason
            with pytest.raises(services.RequestError, match=re.escape(reason)):
                services.send(person, profile, draft())
        db.session.rollback()
    assert count(app, IntroRequest) == 0
    assert count(app, OutboxMessage, OutboxMessage.kind == "request-received") == 0
    # The same mentee may ask a mentor who is free.
    with app.test_request_context():
        services.send(db.session.get(User, mentee.id), db.session.get(MentorProfile, open_id),
                      draft())
        db.session.commit()
    assert count(app, IntroRequest) == 1


@BOTH_BACKENDS
def test_at_most_five_waiting_requests_and_ten_a_day(app, make_user, make_mentor, send_request):
    mentee = make_user(MENTEE)
    profile_ids = [make_mentor(f"mentor{n}@example.org")[1] for n in range(6)]
    first = [send_request(mentee, pid) for pid in profile_ids[:5]]
    with app.test_request_context():
        asker = db.session.get(User, mentee.id)
        sixth = db.session.get(MentorProfile, profile_ids[5])
        with pytest.raises(services.RequestError, match="5 requests waiting for an answer"):
            services.send(asker, sixth, draft())
        for request_id in first:
            services.withdraw(db.session.get(IntroRequest, request_id), by=asker)
        db.session.commit()
    # Five withdrawn and five waiting again: ten sent in a day.
    second = [send_request(mentee, pid) for pid in profile_ids[:5]]
    with app.test_request_context():
        asker = db.session.get(User, mentee.id)
        services.withdraw(db.session.get(IntroRequest, second[0]), by=asker)
        sixth = db.session.get(MentorProfile, profile_ids[5])
        with pytest.raises(services.RequestError, match="sent 10 requests in the last 24 hours"):
            services.send(asker, sixth, draft())
        db.session.commit()
    # A day later the daily count starts again.
    age_requests(app, first + second, days=1.1)
    assert send_request(mentee, profile_ids[5])


@BOTH_BACKENDS
def test_two_requests_sent_at_once_cannot_both_pass_the_limit(app, make_user, make_mentor,
                                                               send_request):
    mentee = make_user(MENTEE)
    profile_ids = [make_mentor(f"mentor{n}@example.org")[1] for n in range(6)]
    for profile_id in profile_ids[:4]:
        send_request(mentee, profile_id)
    first_sent, first_may_commit = threading.Event(), threading.Event()
    outcome = {}

    def send(profile_id, before_commit=None):
        # Two browser tabs posting at once: each its own request, session and transaction.
        with app.test_request_context(method="POST"):
            try:
                services.send(db.session.get(User, mentee.id),
                              db.session.get(MentorProfile, profile_id), draft())
            except services.RequestError as error:
                db.session.rollback()
                outcome[profile_id] = error.message
                return
            if before_commit:
                before_commit()
            db.session.commit()
            outcome[profile_id] = "sent"

    def first():
        send(profile_ids[4], before_commit=lambda: (first_sent.set(), first_may_commit.wait(10)))

    def second():
        first_sent.wait(10)
        send(profile_ids[5])

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the second is now checking the limits while the first is uncommitted
    first_may_commit.set()
    for thread in threads:
        thread.join(15)
    assert outcome[profile_ids[4]] == "sent"
    assert "5 requests waiting for an answer" in outcome[profile_ids[5]]
    assert count(app, IntroRequest, IntroRequest.state == "pending") == 5


@BOTH_BACKENDS
def test_accepting_is_refused_at_capacity(app, make_user, make_mentor, send_request):
    mentor, profile_id = make_mentor(MENTOR, capacity=2)
    mentee = make_user(MENTEE)
    request_id = send_request(mentee, profile_id)
    others = [make_user() for _ in range(2)]
    with app.test_request_context():
        db.session.add_all(Mentorship(mentor_id=mentor.id, mentee_id=o.id) for o in others)
        db.session.commit()
        ada = db.session.get(User, mentor.id)
        found = db.session.get(IntroRequest, request_id)
        with pytest.raises(services.RequestError, match="already have 2 active mentees"):
            services.accept(found, by=ada)
        db.session.rollback()
        assert db.session.get(IntroRequest, request_id).state == "pending"
        # One mentorship ends: there is room again.
        db.session.execute(update(Mentorship).where(Mentorship.mentee_id == others[0].id)
                           .values(status=Mentorship.CLOSED, closed_at=utcnow()))
        services.accept(db.session.get(IntroRequest, request_id), by=ada)
        db.session.commit()
    assert state_of(app, request_id) == "accepted"
    assert count(app, Mentorship, Mentorship.status == "active") == 2


@BOTH_BACKENDS
def test_declining_needs_a_listed_reason_and_only_the_mentee_withdraws(app, make_user,
                                                                      make_mentor, send_request):
    mentor, profile_id = make_mentor(MENTOR)
    other_mentor, other_id = make_mentor("other@example.org")
    mentee = make_user(MENTEE)
    stranger = make_user()
    declined_id = send_request(mentee, profile_id)
    withdrawn_id = send_request(mentee, other_id)
    with app.test_request_context():
        ada = db.session.get(User, mentor.id)
        asker = db.session.get(User, mentee.id)
        found = db.session.get(IntroRequest, declined_id)
        for reason in ("", "bored"):
            with pytest.raises(services.RequestError, match="Choose a reason") as error:
                services.decline(found, by=ada, reason=reason)
            assert error.value.field == "reason"
        with pytest.raises(services.RequestError) as error:
            services.decline(found, by=ada, reason="capacity", message="x" * 2001)
        assert error.value.field == "message"
        with pytest.raises(services.RequestError, match="Only the mentor"):
            services.decline(found, by=asker, reason="capacity")
        assert found.state == "pending"
        services.decline(found, by=ada, reason="capacity", message="Ask me again in spring.")
        assert (found.state, found.decline_reason, found.response_message) == (
            "declined", "capacity", "Ask me again in spring.")
        with pytest.raises(services.RequestError, match="already been declined"):
            services.withdraw(found, by=asker)

        waiting = db.session.get(IntroRequest, withdrawn_id)
        for wrong in (db.session.get(User, other_mentor.id), db.session.get(User, stranger.id)):
            with pytest.raises(services.RequestError, match="Only the person who sent"):
                services.withdraw(waiting, by=wrong)
        services.withdraw(waiting, by=asker)
        assert waiting.state == "withdrawn" and waiting.closed_at is not None
        with pytest.raises(services.RequestError, match="already been withdrawn"):
            services.withdraw(waiting, by=asker)
        with pytest.raises(services.RequestError, match="already been withdrawn"):
            services.accept(waiting, by=db.session.get(User, other_mentor.id))
        db.session.commit()
    assert state_of(app, declined_id) == "declined" and state_of(app, withdrawn_id) == "withdrawn"


# The links in the mentor's email -------------------------------------------------------


class _SignedFifteenDaysAgo(TimestampSigner):
    """Signs as the register did fifteen days ago: a real old link, without touching the clock."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 15 * 24 * 3600


def test_answer_links_refuse_tampered_mismatched_old_and_used_ones(app, browser, make_user,
                                                                   make_mentor, send_request,
                                                                   mailbox):
    mentor, profile_id = make_mentor(MENTOR)
    first = send_request(make_user(MENTEE), profile_id)
    second = send_request(make_user("second@example.org"), profile_id)
    accept, decline = answer_links(mailbox, MENTOR, first)

    def refused(path, words, status=400):
        for response in (browser.get(path), browser.post(path, {"reason": "capacity"})):
            assert response.status_code == status, path
            if words:
                assert "This link cannot be used" in response.get_data(as_text=True)
                assert words in response.get_data(as_text=True)

    # One character of the signature changed (not the last, whose low bits are padding).
    at = len(accept) - 10
    refused(accept[:at] + ("A" if accept[at] != "A" else "B") + accept[at + 1:],
            "This link is not valid")
    refused(decline.replace("/decline/", "/accept/"), "This link is not valid")
    refused(accept.replace(f"/requests/{first}/", f"/requests/{second}/"), None, status=404)
    # A link mailed more than a fortnight ago, signed with the register's own key.
    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="register.intro-answer",
                                 signer=_SignedFifteenDaysAgo).dumps(
        {"r": first, "m": mentor.id, "a": "accept"})
    refused(f"/requests/{first}/accept/{old}", "This link has expired")
    # A genuine signature for this request id but another mentor: what a link from before a
    # database was restored (ids reused, same key) looks like. It is not this mentor's link.
    other_mentor = make_user("restored@example.org")
    restored = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="register.intro-answer"
                                      ).dumps({"r": first, "m": other_mentor.id, "a": "accept"})
    refused(f"/requests/{first}/accept/{restored}", "This link is not valid")
    assert state_of(app, first) == "pending" and state_of(app, second) == "pending"

    assert browser.post(accept).status_code == 200
    assert state_of(app, first) == "accepted"
    refused(accept, "already been accepted: the link works only once")
    refused(decline, "already been accepted: the link works only once")
    assert state_of(app, first) == "accepted" and state_of(app, second) == "pending"
    mailbox.deliver()
    assert [m.subject for m in mailbox.to(MENTEE)] == ["Dr Ada Okoro accepted your request"]


# Email, through a real SMTP server -------------------------------------------------------


@BOTH_BACKENDS
def test_the_mentor_gets_the_whole_request_and_answers_from_the_email(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    mentor, profile_id = make_mentor(MENTOR)
    mentee = make_user(MENTEE, name="Mia Mentee")
    make_user("nosy@example.org")
    request_id = send_request(mentee, profile_id)

    mail = mailbox.last_to(MENTOR)
    assert subjects([mail]) == [f"Mentoring request from Mia Mentee: {SUBJECT}"]
    for body in (mail.text, html.unescape(mail.html)):
        for part in (SUBJECT, "Mia Mentee", ASPIRATION, WHY_YOU,
                     "A 15-minute conversation (informal mentoring)",
                     "Purpose: Professional and career development",
                     "Looking for help with: Knowing how", "Ways to meet: Telephone, Video call",
                     AVAILABILITY):
            assert part in body, part
    assert MENTEE not in raw(mail)  # contact details are shared only on acceptance
    accept, decline = answer_links(mailbox, MENTOR, request_id)
    assert f'href="http://localhost{accept}"' in mail.html.replace("&amp;", "&")

    # Opening the link only asks; a link checker or a preview pane changes nothing.
    page = browser.get(accept)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Accept Mia Mentee's request?" in text
    assert ASPIRATION in text and "From Mia Mentee to Dr Ada Okoro" in text
    assert browser.get(decline).status_code == 200
    assert state_of(app, request_id) == "pending"

    # Someone else logged in on the same browser is turned away.
    browser.log_in("nosy@example.org")
    assert browser.get(accept).status_code == 403
    assert browser.post(accept, {"message": "Hijack"}).status_code == 403
    assert state_of(app, request_id) == "pending"
    browser.log_out()

    # The mentor need not log in: the signed link stands for them.
    done = browser.post(accept, {"message": "Tuesday at ten suits me."})
    assert done.status_code == 200
    assert "Request accepted" in done.get_data(as_text=True)
    assert MENTEE in done.get_data(as_text=True)
    found = reload(app, IntroRequest, request_id)
    assert found.state == "accepted" and found.response_message == "Tuesday at ten suits me."

    accepted = mailbox.last_to(MENTEE)
    assert accepted.subject == "Dr Ada Okoro accepted your request"
    assert f"You can now reach them at {MENTOR}" in accepted.text
    assert f'href="mailto:{MENTOR}"' in accepted.html
    assert "Tuesday at ten suits me." in accepted.text


def test_a_declined_mentee_hears_the_reason_and_is_pointed_to_similar_mentors(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    from register.search.sync import sync

    _, profile_id = make_mentor(MENTOR)
    _, grace_id = make_mentor("grace@example.org", display_name="Grace Hopwood",
                              contexts=["career"])
    _, tom_id = make_mentor("tom@example.org", display_name="Tom Barker",
                            contexts=["career", "change"])
    _, ivy_id = make_mentor("ivy@example.org", display_name="Ivy Lane", contexts=["politics"])
    with app.app_context():
        sync()
    request_id = send_request(make_user(MENTEE), profile_id, contexts=["career"])
    _, decline = answer_links(mailbox, MENTOR, request_id)

    # The reason is required on the confirmation page too.
    missing = browser.post(decline, {"reason": "", "message": "Sorry."})
    assert missing.status_code == 422 and "Choose a reason" in missing.get_data(as_text=True)
    assert state_of(app, request_id) == "pending"

    done = browser.post(decline, {"reason": "experience",
                                  "message": "Someone in your own trust would help more."})
    assert done.status_code == 200 and "Request declined" in done.get_data(as_text=True)
    mail = mailbox.last_to(MENTEE)
    assert mail.subject == "About your request to Dr Ada Okoro"
    assert "The reason they gave: not the right match for my experience." in mail.text
    assert "Someone in your own trust would help more." in mail.text
    links = [path_of(link) for link in mail.links()]
    assert "Grace Hopwood" in mail.text and f"/mentors/{grace_id}" in links
    assert "Tom Barker" in mail.text and f"/mentors/{tom_id}" in links
    assert "Ivy Lane" not in mail.text and f"/mentors/{ivy_id}" not in links
    assert f"/mentors/{profile_id}" not in links  # not the mentor who just said no
    assert "Grace Hopwood" in mail.html and "not the right match" in mail.html
    assert MENTOR not in raw(mail)
    # A suggestion opens on a page that takes requests.
    page = browser.get(f"/mentors/{grace_id}").get_data(as_text=True)
    assert "Taking requests now." in page


@BOTH_BACKENDS
def test_a_decline_is_recorded_on_a_host_with_no_search_index_yet(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    # Suggestions come from this host's index; building a missing one mid-answer used
    # to roll the answer back and fail with a 500.
    from register.search import index

    _, profile_id = make_mentor(MENTOR)
    request_id = send_request(make_user(MENTEE), profile_id)
    browser.log_in(MENTOR)
    with app.app_context():
        assert index.live_path() is None
    response = browser.post(f"/requests/{request_id}/decline", {"reason": "unavailable"})
    assert response.status_code == 302
    assert state_of(app, request_id) == "declined"
    mail = mailbox.last_to(MENTEE)
    assert "The reason they gave: not available at the moment." in mail.text
    assert "More mentors for the same purpose: http" in mail.text


@BOTH_BACKENDS
def test_reminder_and_expiry_happen_once_however_often_the_worker_runs(
    app, browser, runner, make_user, make_mentor, send_request, mailbox
):
    mentee = make_user(MENTEE, name="Mia Mentee")
    letters = "ABCDEF"
    profiles = {x: make_mentor(f"mentor.{x.lower()}@example.org", display_name=f"Mentor {x}")[1]
                for x in letters}
    sent = {x: send_request(mentee, profiles[x]) for x in "ABCDE"}
    with app.test_request_context(), pytest.raises(services.RequestError, match="5 requests"):
        services.send(db.session.get(User, mentee.id),
                      db.session.get(MentorProfile, profiles["F"]), draft())
    age_requests(app, [sent["A"]], days=8)
    age_requests(app, [sent["B"]], days=15)
    _, b_decline = answer_links(mailbox, "mentor.b@example.org", sent["B"])
    before = len(mailbox.received)

    for _ in range(2):
        result = runner.invoke(args=["worker", "--once"])
        assert result.exit_code == 0, result.output
    with app.test_request_context():
        assert services.remind_and_expire() == (0, 0)
        db.session.commit()
    mailbox.deliver()

    new = mailbox.received[before:]
    assert [(m.rcpt_tos, m.subject) for m in new if m.subject.startswith("Reminder")] == [
        (["mentor.a@example.org"], "Reminder: Mia Mentee is waiting for your answer")]
    assert [(m.rcpt_tos, m.subject) for m in new if "expired" in m.subject] == [
        ([MENTEE], "Your request to Mentor B has expired")]
    assert len(new) == 2
    reminder = next(m for m in new if m.subject.startswith("Reminder"))
    assert ASPIRATION in reminder.text and MENTEE not in raw(reminder)
    assert any(f"/requests/{sent['A']}/accept/" in link for link in reminder.links())
    expired = next(m for m in new if "expired" in m.subject)
    assert "no longer counts against your open requests" in expired.text
    assert MENTOR not in raw(expired) and "mentor.b@example.org" not in raw(expired)

    a, b = reload(app, IntroRequest, sent["A"]), reload(app, IntroRequest, sent["B"])
    assert a.state == "pending" and a.reminded_at is not None
    assert b.state == "expired" and b.closed_at is not None
    # The mentor's old link now says what happened.
    late = browser.get(b_decline)
    assert late.status_code == 400 and "already been expired" in late.get_data(as_text=True)
    # The expired request no longer counts: a fifth one may wait again.
    assert send_request(mentee, profiles["F"])


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_workers_at_once_send_one_reminder(app, make_user, make_mentor, send_request,
                                               mailbox):
    """Two hosts' workers find the same request due at the same moment; the mentor hears once.

    (On SQLite the worker's write lock keeps the two apart; on PostgreSQL only the
    conditional update does.) The first worker is held just after it has read the due
    requests, until the second has reminded and committed.
    """
    _, profile_id = make_mentor(MENTOR)
    request_id = send_request(make_user(MENTEE), profile_id)
    age_requests(app, [request_id], days=8)
    first_has_read, second_is_done = threading.Event(), threading.Event()
    held = []

    def hold_after_first_read(state):
        if threading.current_thread().name != "first-worker" or held or not state.is_select:
            return None
        held.append(True)
        rows = state.invoke_statement().freeze()
        first_has_read.set()
        second_is_done.wait(10)
        return rows()

    outcome = {}

    def run(name):
        with app.test_request_context(method="POST"):
            outcome[name] = services.remind_and_expire()
            db.session.commit()

    with app.app_context():
        listener_target = db.session
        event.listen(listener_target, "do_orm_execute", hold_after_first_read)
    try:
        first = threading.Thread(target=run, args=("first-worker",), name="first-worker")
        first.start()
        assert first_has_read.wait(10)
        run("second-worker")
        second_is_done.set()
        first.join(15)
    finally:
        event.remove(listener_target, "do_orm_execute", hold_after_first_read)

    assert sorted(outcome.values()) == [(0, 0), (1, 0)]
    mailbox.deliver()
    reminders = [m for m in mailbox.to(MENTOR) if "reminder" in m.subject.lower()
                 or "waiting" in m.subject.lower()]
    assert len(reminders) == 1, [m.subject for m in mailbox.to(MENTOR)]


@BOTH_BACKENDS
def test_pausing_or_suspension_declines_waiting_requests_and_tells_each_mentee(
    app, make_user, make_mentor, send_request, mailbox
):
    paused_user, paused_id = make_mentor(MENTOR)
    _, suspended_id = make_mentor("suspended@example.org", display_name="Sam Suspended")
    admin = make_user("lead@example.org", admin=True)
    first, second = make_user("first@example.org"), make_user("second@example.org")
    waiting = [send_request(first, paused_id), send_request(second, paused_id),
               send_request(first, suspended_id)]
    with app.test_request_context():
        mentors.pause(db.session.get(MentorProfile, paused_id),
                      by=db.session.get(User, paused_user.id))
        mentors.suspend(db.session.get(MentorProfile, suspended_id),
                        by=db.session.get(User, admin.id), reason="Reported as out of date.")
        db.session.commit()
    for request_id in waiting:
        found = reload(app, IntroRequest, request_id)
        assert found.state == "declined" and found.closed_note

    mailbox.deliver()
    to_first = {m.subject: m for m in mailbox.to("first@example.org")}
    to_second = mailbox.to("second@example.org")
    assert set(to_first) == {"About your request to Dr Ada Okoro",
                             "About your request to Sam Suspended"}
    assert [m.subject for m in to_second] == ["About your request to Dr Ada Okoro"]
    for paused in (to_first["About your request to Dr Ada Okoro"], to_second[0]):
        assert ("Dr Ada Okoro is not able to take it on: they have paused their profile and "
                "are not taking requests at the moment") in paused.text
        assert MENTOR not in raw(paused)
    suspended = to_first["About your request to Sam Suspended"]
    assert "their profile has been taken off the register for now" in suspended.text
    # What the coordinators wrote is between them and the mentor.
    assert "Reported as out of date." not in raw(suspended)


# Who sees what ---------------------------------------------------------------------------


def test_only_the_two_people_and_admins_see_or_answer_a_request(app, browser, make_user,
                                                               make_mentor, send_request,
                                                               mailbox):
    _, profile_id = make_mentor(MENTOR)
    request_id = send_request(make_user(MENTEE), profile_id)
    make_user("nosy@example.org")
    make_user("lead@example.org", admin=True)
    mailbox.deliver()
    before = len(mailbox.received)

    assert browser.get(f"/requests/{request_id}").status_code == 302  # to the login page
    browser.log_in("nosy@example.org")
    assert browser.get(f"/requests/{request_id}").status_code == 404
    for action, form in (("accept", {}), ("decline", {"reason": "capacity"}), ("withdraw", {})):
        assert browser.post(f"/requests/{request_id}/{action}", form).status_code == 404
        fragment = browser.post(f"/requests/{request_id}/{action}", form,
                                headers={"HX-Request": "true"})
        assert fragment.status_code == 404
    assert state_of(app, request_id) == "pending"
    mailbox.deliver()
    assert len(mailbox.received) == before
    browser.log_out()

    for email in ("lead@example.org", MENTOR, MENTEE):
        browser.log_in(email)
        page = browser.get(f"/requests/{request_id}")
        assert page.status_code == 200 and ASPIRATION in page.get_data(as_text=True), email
        browser.log_out()


def test_the_mentor_email_stays_hidden_from_the_mentee_until_acceptance(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    mentor, profile_id = make_mentor(MENTOR)
    mentee = make_user(MENTEE, name="Mia Mentee")
    browser.log_in(MENTEE)
    compose = f"/mentors/{profile_id}/request"
    seen = {
        "profile": browser.get(f"/mentors/{profile_id}"),
        "compose": browser.get(compose),
        "live preview": browser.client.post(
            f"{compose}/preview", data=request_form(),
            headers={"HX-Request": "true", "X-CSRFToken": browser.csrf_token()}),
        "preview": browser.post(compose, {**request_form(), "step": "preview"}),
    }
    assert "<html" not in seen["live preview"].get_data(as_text=True)
    sent = browser.post(compose, {**request_form(), "step": "send"})
    assert sent.status_code == 302
    first = int(sent.headers["Location"].rsplit("/", 1)[1])
    seen["request page"] = browser.get(f"/requests/{first}")
    seen["sent inbox"] = browser.get("/me/requests?box=sent")
    seen["withdrawn card"] = browser.post(f"/requests/{first}/withdraw",
                                          headers={"HX-Request": "true"})
    seen["inbox after withdrawing"] = browser.get("/me/requests?box=sent")
    for where, response in seen.items():
        assert response.status_code == 200, where
        assert MENTOR not in response.get_data(as_text=True), where
    assert state_of(app, first) == "withdrawn"

    # A declined request tells the mentee nothing of the address either.
    second = send_request(mentee, profile_id)
    with app.test_request_context():
        services.decline(db.session.get(IntroRequest, second),
                         by=db.session.get(User, mentor.id), reason="capacity")
        db.session.commit()
    assert MENTOR not in browser.get(f"/requests/{second}").get_data(as_text=True)
    third = send_request(mentee, profile_id)
    assert MENTOR not in browser.get(f"/requests/{third}").get_data(as_text=True)
    mailbox.deliver()
    assert mailbox.to(MENTEE), "the decline should have been emailed"
    for message in mailbox.to(MENTEE):
        assert MENTOR not in raw(message), message.subject
    for message in mailbox.to(MENTOR):  # received, withdrawn, received, received
        assert MENTEE not in raw(message), message.subject
    browser.log_out()

    # The mentor does not see the mentee's address before accepting either.
    browser.log_in(MENTOR)
    before_accepting = browser.get(f"/requests/{third}").get_data(as_text=True)
    assert MENTEE not in before_accepting
    assert "From Mia Mentee to Dr Ada Okoro" in before_accepting  # the sender, not the reader
    assert MENTEE not in browser.get("/me/requests").get_data(as_text=True)
    assert browser.post(f"/requests/{third}/accept", {"message": ""}).status_code == 302
    mentor_view = browser.get(f"/requests/{third}").get_data(as_text=True)
    assert MENTOR in mentor_view and MENTEE in mentor_view
    browser.log_out()
    browser.log_in(MENTEE)
    mentee_view = browser.get(f"/requests/{third}").get_data(as_text=True)
    assert MENTOR in mentee_view and MENTEE in mentee_view
    assert MENTOR in browser.get("/me/requests?box=sent").get_data(as_text=True)
    assert MENTOR in mailbox.last_to(MENTEE).text


# The inbox -------------------------------------------------------------------------------


def test_received_requests_list_the_waiting_ones_first_oldest_first(
    app, browser, make_user, make_mentor, send_request
):
    mentor, profile_id = make_mentor(MENTOR, capacity=5)
    senders = [make_user(name=f"Mentee {n}") for n in range(4)]
    ids = [send_request(person, profile_id) for person in senders]
    for request_id, days in zip(ids, (3, 1, 2, 5), strict=True):
        age_requests(app, [request_id], days=days)
    with app.test_request_context():
        services.decline(db.session.get(IntroRequest, ids[3]),
                         by=db.session.get(User, mentor.id), reason="experience")
        db.session.commit()
    browser.log_in(MENTOR)
    page = browser.get("/me/requests").get_data(as_text=True)
    order = sorted(ids, key=lambda i: page.index(f'id="request-{i}"'))
    assert order == [ids[0], ids[2], ids[1], ids[3]]  # 3, 2 and 1 days waiting; then answered
    assert page.count(">Accept</button>") == 3 and "Declined" in page


def test_a_mentor_answers_in_place_with_htmx_or_with_a_plain_form(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    _, profile_id = make_mentor(MENTOR, capacity=5)
    senders = [make_user(f"mentee{n}@example.org", name=f"Mentee {n}") for n in range(4)]
    ids = [send_request(person, profile_id) for person in senders]
    browser.log_in(MENTOR)
    htmx = {"HX-Request": "true"}

    accepted = browser.post(f"/requests/{ids[0]}/accept", {"message": "Call me."}, headers=htmx)
    card = accepted.get_data(as_text=True)
    assert accepted.status_code == 200 and "<html" not in card
    assert card.startswith(f'<li class="request-card request-accepted" id="request-{ids[0]}">')
    assert "Accepted" in card and "mentee0@example.org" in card  # the contact, now shown
    assert "You accepted Mentee 0" in card and 'hx-swap-oob="innerHTML"' in card
    assert accepted.headers["HX-Trigger"] == "request-accepted"
    assert "HX-Request" in accepted.headers["Vary"]

    declined = browser.post(f"/requests/{ids[1]}/decline",
                            {"reason": "capacity", "message": ""}, headers=htmx)
    card = declined.get_data(as_text=True)
    assert declined.status_code == 200 and "<html" not in card
    assert f'class="request-card request-declined" id="request-{ids[1]}"' in card
    assert declined.headers["HX-Trigger"] == "request-declined"
    assert "mentee1@example.org" not in card

    # A refused answer comes back in place too, with the reason, and changes nothing.
    refused = browser.post(f"/requests/{ids[2]}/decline", {"reason": ""}, headers=htmx)
    assert refused.status_code == 409 and "HX-Trigger" not in refused.headers
    assert "Choose a reason" in refused.get_data(as_text=True)
    assert state_of(app, ids[2]) == "pending"

    # Without JavaScript: the form posts, and the inbox comes back with the message.
    plain = browser.post(f"/requests/{ids[3]}/accept", {"message": ""})
    assert plain.status_code == 302
    assert plain.headers["Location"].endswith("/me/requests?box=received")
    page = browser.get("/me/requests").get_data(as_text=True)
    assert "<html" in page and "You accepted Mentee 3" in page
    assert [state_of(app, i) for i in ids] == ["accepted", "declined", "pending", "accepted"]
    mailbox.deliver()
    assert [m.subject for m in mailbox.to("mentee1@example.org")] == [
        "About your request to Dr Ada Okoro"]


def test_a_mentee_withdraws_from_the_sent_tab_and_the_mentor_is_told(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    _, profile_id = make_mentor(MENTOR)
    _, other_id = make_mentor("other@example.org", display_name="Olu Other")
    mentee = make_user(MENTEE, name="Mia Mentee")
    first = send_request(mentee, profile_id)
    second = send_request(mentee, other_id)
    browser.log_in(MENTEE)
    sent = browser.get("/me/requests?box=sent").get_data(as_text=True)
    assert f'action="/requests/{first}/withdraw"' in sent
    assert "Withdraw the request" in sent and "To Dr Ada Okoro" in sent

    plain = browser.post(f"/requests/{first}/withdraw")
    assert plain.status_code == 302 and plain.headers["Location"].endswith("?box=sent")
    fragment = browser.post(f"/requests/{second}/withdraw", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Trigger"] == "request-withdrawn"
    assert f'class="request-card request-withdrawn" id="request-{second}"' in (
        fragment.get_data(as_text=True))
    assert "Withdraw the request" not in browser.get("/me/requests?box=sent").get_data(
        as_text=True)
    # Withdrawing twice is refused and tells the mentor nothing more.
    again = browser.post(f"/requests/{second}/withdraw", headers={"HX-Request": "true"})
    assert again.status_code == 409 and "already been withdrawn" in again.get_data(as_text=True)

    mailbox.deliver()
    told = [m for m in mailbox.to(MENTOR) if "withdrew" in m.subject]
    assert [m.subject for m in told] == ["Mia Mentee withdrew their request"]
    assert SUBJECT in told[0].text and MENTEE not in raw(told[0])
    assert len([m for m in mailbox.to("other@example.org") if "withdrew" in m.subject]) == 1


# Response time -----------------------------------------------------------------------------


@BOTH_BACKENDS
def test_the_profile_shows_a_response_time_after_three_answers(app, browser, make_user,
                                                               make_mentor, send_request):
    mentor, profile_id = make_mentor(MENTOR)
    mentee = make_user(MENTEE)

    def answer(hours: float) -> None:
        request_id = send_request(mentee, profile_id)
        with app.test_request_context():
            services.decline(db.session.get(IntroRequest, request_id),
                             by=db.session.get(User, mentor.id), reason="capacity")
            created = utcnow() - timedelta(days=5)
            db.session.execute(update(IntroRequest).where(IntroRequest.id == request_id).values(
                created_at=created, answered_at=created + timedelta(hours=hours)))
            db.session.commit()

    answer(30)
    answer(40)
    assert "Usually replies" not in browser.get(f"/mentors/{profile_id}").get_data(as_text=True)
    answer(36)  # the median of 30, 36 and 40 hours: within two days
    page = browser.get(f"/mentors/{profile_id}").get_data(as_text=True)
    assert "Taking requests now. Usually replies within 2 days." in page
    browser.log_in(MENTEE)
    compose = browser.get(f"/mentors/{profile_id}/request").get_data(as_text=True)
    assert "Dr Ada Okoro: usually replies within 2 days." in compose


@BOTH_BACKENDS
def test_automatic_declines_do_not_count_towards_the_response_time(app, browser, make_user,
                                                                   make_mentor, send_request):
    """A pause answers the waiting requests for the mentor; that is not the mentor replying."""
    mentor, profile_id = make_mentor(MENTOR)
    mentees = [make_user(f"mentee{n}@example.org") for n in range(6)]

    def age(request_id: int, *, days: float, answered_after_hours: float | None = None):
        created = utcnow() - timedelta(days=days)
        values = {"created_at": created, "expires_at": created + services.EXPIRE_AFTER}
        if answered_after_hours is not None:
            values["answered_at"] = created + timedelta(hours=answered_after_hours)
        with app.app_context():
            db.session.execute(update(IntroRequest).where(IntroRequest.id == request_id)
                               .values(**values))
            db.session.commit()

    # Three requests waited ten days, then the mentor paused: all three are declined now.
    for mentee in mentees[:3]:
        age(send_request(mentee, profile_id), days=10)
    with app.test_request_context():
        mentors.pause(db.session.get(MentorProfile, profile_id),
                      by=db.session.get(User, mentor.id))
        db.session.commit()
    assert count(app, IntroRequest, IntroRequest.state == "declined") == 3
    with app.app_context():
        assert services.typical_response(db.session.get(MentorProfile, profile_id)) is None
    page = browser.get(f"/mentors/{profile_id}").get_data(as_text=True)
    assert "Usually replies" not in page

    # Back, the mentor answers three requests within two hours each.
    with app.test_request_context():
        mentors.resume(db.session.get(MentorProfile, profile_id),
                       by=db.session.get(User, mentor.id))
        db.session.commit()
    for mentee in mentees[3:]:
        request_id = send_request(mentee, profile_id)
        with app.test_request_context():
            services.decline(db.session.get(IntroRequest, request_id),
                             by=db.session.get(User, mentor.id), reason="capacity")
            db.session.commit()
        age(request_id, days=3, answered_after_hours=2)
    # Counting the three ten-day automatic declines would make the median about five days.
    page = browser.get(f"/mentors/{profile_id}").get_data(as_text=True)
    assert "Taking requests now. Usually replies within a day." in page


# Composing ---------------------------------------------------------------------------------


def hidden_fields(page: str) -> dict[str, list[str]]:
    """The hidden inputs a preview page carries, as the browser would post them back."""
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def ticked(page: str, name: str) -> list[str]:
    """The values of the checked boxes or radio buttons called `name`."""
    return re.findall(rf'<input[^>]*\bchecked\b[^>]*name="{name}"[^>]*value="([^"]+)"', page)


def test_the_compose_page_starts_with_a_subject_that_states_the_ask(app, browser, make_user,
                                                                    make_mentor):
    _, profile_id = make_mentor(MENTOR)
    make_user(MENTEE)
    browser.log_in(MENTEE)
    page = browser.get(f"/mentors/{profile_id}/request")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ask Dr Ada Okoro for a conversation" in text
    # From the mentor's first area of expertise, in a field tall enough to show it whole.
    assert re.search(r'<textarea id="subject"[^>]*>' + re.escape(SUBJECT) + "</textarea>", text)
    assert ticked(text, "ask") == ["call15"]  # a short first conversation
    assert ticked(text, "formats") == ["telephone", "video"]  # the ways this mentor meets


def test_preview_then_send_without_javascript(app, browser, make_user, make_mentor, mailbox):
    _, profile_id = make_mentor(MENTOR)
    make_user(MENTEE, name="Mia Mentee")
    browser.log_in(MENTEE)
    compose = f"/mentors/{profile_id}/request"
    preview = browser.post(compose, {**request_form(contexts=["career", "change"]),
                                     "step": "preview"})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Check your request" in page
    assert "From Mia Mentee to Dr Ada Okoro" in page
    assert "Purpose: Professional and career development, Managing change" in page
    fields = hidden_fields(page)
    assert fields["aspiration"] == [ASPIRATION] and fields["contexts"] == ["career", "change"]
    assert fields["formats"] == ["telephone", "video"]
    assert count(app, IntroRequest) == 0  # a preview sends nothing

    # "Change it" returns to the form with everything kept.
    back = browser.post(compose, {**fields, "step": "write"})
    assert back.status_code == 200 and ASPIRATION in back.get_data(as_text=True)
    assert "There is a problem" not in back.get_data(as_text=True)

    sent = browser.post(compose, {**fields, "step": "send"})
    assert sent.status_code == 302
    request_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    found = reload(app, IntroRequest, request_id)
    assert (found.subject, found.aspiration, found.why_you, found.contexts, found.formats,
            found.availability) == (SUBJECT, ASPIRATION, WHY_YOU, ["career", "change"],
                                    ["telephone", "video"], AVAILABILITY)
    shown = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Your request has been sent to Dr Ada Okoro" in shown
    assert subjects([mailbox.last_to(MENTOR)]) == [f"Mentoring request from Mia Mentee: {SUBJECT}"]


def test_a_mistake_is_shown_beside_its_field_and_the_writing_is_kept(app, browser, make_user,
                                                                     make_mentor):
    _, profile_id = make_mentor(MENTOR)
    make_user(MENTEE)
    browser.log_in(MENTEE)
    response = browser.post(f"/mentors/{profile_id}/request",
                            {**request_form(aspiration="  ", why_you="Keep every word of this."),
                             "step": "preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="aspiration-error"[^>]*>(<span[^>]*>Error: </span>)?'
                     r'Write a sentence or two', page)
    assert 'aria-invalid="true"' in page and "Keep every word of this." in page
    assert count(app, IntroRequest) == 0


def test_the_compose_page_explains_why_a_request_cannot_be_sent(app, browser, make_user,
                                                               make_mentor, send_request):
    mentor, profile_id = make_mentor(MENTOR)
    make_user(MENTEE)
    with app.test_request_context():
        mentors.pause(db.session.get(MentorProfile, profile_id),
                      by=db.session.get(User, mentor.id))
        db.session.commit()
    browser.log_in(MENTEE)
    page = browser.get(f"/mentors/{profile_id}/request")
    text = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "This mentor is not taking requests now. Not taking requests at the moment." in text
    assert 'name="aspiration"' not in text and "Find another mentor" in text
    # Posting the form anyway changes nothing.
    refused = browser.post(f"/mentors/{profile_id}/request", {**request_form(), "step": "send"})
    assert refused.status_code == 409 and count(app, IntroRequest) == 0


def test_the_expiry_command_reminds_and_expires_once(app, runner, make_user, make_mentor,
                                                     send_request, mailbox):
    """`flask requests expire` does what the worker does, and twice is no more than once."""
    _, profile_id = make_mentor("cli-mentor@example.org")
    mentee = make_user("cli-mentee@example.org")
    request_id = send_request(mentee, profile_id)
    with app.app_context():
        sent = db.session.get(IntroRequest, request_id)
        sent.created_at -= timedelta(days=15)
        sent.expires_at -= timedelta(days=15)
        db.session.commit()
    first = runner.invoke(args=["requests", "expire"])
    second = runner.invoke(args=["requests", "expire"])
    assert first.exit_code == 0 and "expired 1 request." in first.output, first.output
    assert "expired 0 requests." in second.output
    assert reload(app, IntroRequest, request_id).state == "expired"
    mailbox.deliver()
    assert len([m for m in mailbox.to("cli-mentee@example.org") if "expired" in m.subject]) == 1


# Leaving the register ----------------------------------------------------------------------


@BOTH_BACKENDS
def test_a_mentee_who_deletes_their_account_withdraws_what_waits_and_each_mentor_is_told(
    app, browser, make_user, make_mentor, send_request, mailbox
):
    _, ada_id = make_mentor(MENTOR)
    _, olu_id = make_mentor("olu@example.org", display_name="Olu Other")
    _, sam_id = make_mentor("sam@example.org", display_name="Sam Answered")
    mentee = make_user(MENTEE, name="Mia Mentee")
    someone_else = make_user("someone@example.org")
    waiting = [send_request(mentee, ada_id), send_request(mentee, olu_id)]
    answered = send_request(mentee, sam_id)
    not_hers = send_request(someone_else, ada_id)
    with app.test_request_context():
        services.decline(db.session.get(IntroRequest, answered),
                         by=db.session.get(User, reload(app, MentorProfile, sam_id).user_id),
                         reason="capacity")
        db.session.commit()
    mailbox.deliver()
    before = len(mailbox.received)

    browser.log_in(MENTEE)
    deleted = browser.post("/account/delete", {"password": "violet-harbour-lantern"})
    assert deleted.status_code == 302

    assert [state_of(app, i) for i in waiting] == ["withdrawn", "withdrawn"]
    assert state_of(app, answered) == "declined"
    assert state_of(app, not_hers) == "pending"
    mailbox.deliver()
    new = mailbox.received[before:]
    told = {m.rcpt_tos[0]: m for m in new if "withdrew" in m.subject}
    assert set(told) == {MENTOR, "olu@example.org"}
    for message in told.values():
        # Told by the name they knew, before it was erased, and without the address.
        assert " ".join(message.subject.split()) == "Mia Mentee withdrew their request"
        assert SUBJECT in message.text and MENTEE not in raw(message)
    assert not [m for m in new if "sam@example.org" in m.rcpt_tos]

    # The mentor's inbox shows the request as withdrawn, with nothing left to answer.
    browser.log_out()
    browser.log_in(MENTOR)
    page = browser.get(f"/requests/{waiting[0]}").get_data(as_text=True)
    assert "withdrawn" in page.lower()
    assert f'action="/requests/{waiting[0]}/accept"' not in page


def test_lower_areas_announce_and_the_areas_above_react():
    """auth and mentors never import introductions (not even inside a function): they send
    the signals in register/signals.py, which the tests above prove are heard."""
    import ast
    import inspect

    from register.auth import services as auth_services
    from register.mentors import services as mentor_services

    def imported(module) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        return names

    def reaches(module, area: str) -> set[str]:
        return {n for n in imported(module) if n == area or n.startswith(area + ".")}

    assert not reaches(auth_services, "register.introductions")
    assert not reaches(auth_services, "register.mentors")
    assert not reaches(mentor_services, "register.introductions")
