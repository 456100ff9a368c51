"""Hostile markup in a request is shown as text everywhere the request is shown.

A mentee can type anything into a request, and a mentor anything into their
answer. Each field carries its own script and image-with-handler, named after
the field, so a failure says which field on which surface became markup. Every
surface a request appears on is visited as its reader would see it: the live
preview beside the form, the preview page, the request page (both people),
the inbox cards (both boxes), the page behind the emailed answer link, and
the HTML part of each email, read from a real SMTP server.

"Shown as text" is checked by parsing the page: no element, handler or URL
came from what was typed, and the typed characters are all in the text.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from register.auth.models import User
from register.extensions import db
from register.introductions import services
from register.introductions.models import IntroRequest
from tests.conftest import Browser
from tests.test_introductions import make_mentor, request_form  # noqa: F401  (a fixture)

MENTOR = "ada.mentor@example.org"
MENTEE = "mia.mentee@example.org"


def hostile(field: str) -> str:
    """Markup that would run if shown as HTML, tagged with the field it was typed into."""
    return (f'<script>alert("{field}")</script><img src=x onerror="alert(\'{field}\')">'
            f'<a href="javascript:alert(1)">{field} link</a> & "quotes" \'too\'')


FIELDS = ("subject", "aspiration", "why_you", "availability")
WRITTEN = {field: f"{hostile(field)} This part is long enough to be a sentence or two."
           for field in FIELDS}
WRITTEN["subject"] = hostile("subject")
MESSAGE = hostile("message") + " Thank you for writing; I cannot take this on now."
NAME = hostile("name")[:100]


class _Page(HTMLParser):
    """The elements, attributes and text of a page, as a browser would build them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.images: list[str] = []
        self.script_urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, f"{name}={value}"))
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.script_urls.append(f"{tag} {name}={value}")
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)


def assert_shown_as_text(html: str, fields: dict[str, str], where: str) -> None:
    """Nothing typed became markup, and each of `fields` is in the text, whole."""
    page = _Page()
    page.feed(html)
    page.close()
    assert not [s for s in page.scripts if "alert" in s], (where, page.scripts)
    assert not page.handlers, (where, page.handlers)
    assert not page.script_urls, (where, page.script_urls)
    assert "x" not in page.images, (where, "an <img src=x> was made from typed text")
    text = " ".join("".join(page.text).split())
    for field, value in fields.items():
        assert " ".join(value.split()) in text, f"{field} is not shown as text on {where}"


@pytest.fixture
def hostile_request(app, make_user, make_mentor, mailbox):  # noqa: F811
    """A mentor, a mentee whose name is markup, and their browsers, before any request."""
    _, profile_id = make_mentor(MENTOR)
    make_user(MENTEE, name=NAME)
    mentee = Browser(app.test_client())
    mentee.log_in(MENTEE)
    mentor = Browser(app.test_client())
    mentor.log_in(MENTOR)
    return profile_id, mentee, mentor


def form(**extra) -> dict:
    return {**request_form(**WRITTEN), **extra}


def test_the_live_preview_and_the_preview_show_the_request_as_text(app, hostile_request):
    profile_id, mentee, _ = hostile_request
    live = mentee.post(f"/mentors/{profile_id}/request/preview", form(),
                       headers={"HX-Request": "true"})
    assert live.status_code == 200
    assert_shown_as_text(live.get_data(as_text=True), {**WRITTEN, "name": NAME},
                         "the live preview")

    preview = mentee.post(f"/mentors/{profile_id}/request", form(step="preview"))
    assert preview.status_code == 200
    assert_shown_as_text(preview.get_data(as_text=True), {**WRITTEN, "name": NAME},
                         "the preview page")

    # A mistake sends the form back with what was typed kept, still as text.
    again = mentee.post(f"/mentors/{profile_id}/request",
                        {**form(step="preview"), "aspiration": hostile("aspiration")[:10]})
    assert again.status_code == 422
    assert_shown_as_text(again.get_data(as_text=True), {"why_you": WRITTEN["why_you"]},
                         "the form sent back with a mistake")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_the_sent_request_its_email_and_its_answer_show_every_field_as_text(
    app, hostile_request, mailbox
):
    profile_id, mentee, mentor = hostile_request
    sent = mentee.post(f"/mentors/{profile_id}/request", form(step="send"))
    assert sent.status_code == 302, sent.get_data(as_text=True)[:400]
    request_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    everything = {**WRITTEN, "name": NAME}

    assert_shown_as_text(mentee.get(f"/requests/{request_id}").get_data(as_text=True),
                         WRITTEN, "the request page (mentee)")
    assert_shown_as_text(mentor.get(f"/requests/{request_id}").get_data(as_text=True),
                         everything, "the request page (mentor)")
    received = mentor.get("/me/requests?box=received").get_data(as_text=True)
    assert_shown_as_text(received, everything, "the mentor's inbox card")
    outgoing = mentee.get("/me/requests?box=sent").get_data(as_text=True)
    assert_shown_as_text(outgoing, {"subject": WRITTEN["subject"]}, "the mentee's sent card")

    email = mailbox.last_to(MENTOR)
    assert_shown_as_text(email.html, everything, "the HTML email to the mentor")
    assert hostile("aspiration") in email.text  # the text part is plain text, as typed
    decline_link = next(path_of(link) for link in email.links()
                        if f"/requests/{request_id}/decline/" in link)

    # The emailed link opens without logging in, on any device.
    stranger = Browser(app.test_client())
    answer_page = stranger.get(decline_link)
    assert answer_page.status_code == 200
    assert_shown_as_text(answer_page.get_data(as_text=True), everything,
                         "the page behind the emailed answer link")

    declined = stranger.post(decline_link, {"reason": "capacity", "message": MESSAGE,
                                            "csrf_token": stranger.csrf_token(decline_link)})
    assert declined.status_code == 200, declined.get_data(as_text=True)[:400]
    with app.app_context():
        assert db.session.get(IntroRequest, request_id).response_message == MESSAGE.strip()

    # The mentor's answer is the mentee's to read, as text too.
    page = mentee.get(f"/requests/{request_id}").get_data(as_text=True)
    assert_shown_as_text(page, {"message": MESSAGE}, "the answered request page (mentee)")
    outgoing = mentee.get("/me/requests?box=sent").get_data(as_text=True)
    assert_shown_as_text(outgoing, {"subject": WRITTEN["subject"]},
                         "the mentee's card once answered")
    told = mailbox.last_to(MENTEE)
    assert_shown_as_text(told.html, {"message": MESSAGE, "subject": WRITTEN["subject"]},
                         "the HTML email telling the mentee")


def test_an_accepted_requests_message_is_text_in_the_email_and_on_the_page(
    app, hostile_request, make_user, mailbox
):
    profile_id, mentee, mentor = hostile_request
    with app.test_request_context():
        request = services.send(db.session.get(User, reload_id(app, MENTEE)),
                                db.session.get(services.MentorProfile, profile_id),
                                services.Draft(**{**request_form(**WRITTEN)}))
        db.session.commit()
        request_id = request.id
    accepted = mentor.post(f"/requests/{request_id}/accept", {"message": MESSAGE},
                           headers={"HX-Request": "true"})
    assert accepted.status_code == 200
    assert_shown_as_text(accepted.get_data(as_text=True), {"name": NAME},
                         "the card swapped in after accepting")
    assert_shown_as_text(mentee.get(f"/requests/{request_id}").get_data(as_text=True),
                         {"message": MESSAGE, **WRITTEN}, "the accepted request page")
    assert_shown_as_text(mailbox.last_to(MENTEE).html, {"message": MESSAGE},
                         "the HTML email saying yes")


def reload_id(app, email: str) -> int:
    with app.app_context():
        return db.session.query(User.id).filter(User.email == email).scalar()
