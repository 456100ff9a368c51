"""Mentor profiles: the rules, the editor and the public page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from register.admin.models import AuditEntry
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mentors import services
from register.mentors.models import MentorProfile
from register.mentorships.models import Mentorship
from tests.conftest import reload

BIO = ("I have led quality improvement programmes in three hospitals and supervised "
       "doctoral students in statistics.\n\nI enjoy helping people new in post.")


def full_data(**overrides) -> services.ProfileData:
    values = dict(
        display_name="Dr Ada Okoro", headline="Consultant nurse, critical care",
        organisation="Leeds Teaching Hospitals", sector="nhs", location="Leeds", bio=BIO,
        expertise=["Quality Improvement", " statistics ", "quality improvement"],
        knowing=["how", "why"], contexts=["career", "skills"], formats=["video", "telephone"],
        languages=["english", "Welsh"], kind="both", time_commitment="One hour a month",
        capacity=2,
    )
    values.update(overrides)
    return services.ProfileData(**values)


@pytest.fixture
def make_profile(app, make_user):
    """make_profile(state="published", capacity=2, **fields) -> (user, profile id)."""

    def make(state=MentorProfile.PUBLISHED, email=None, **overrides):
        user = make_user(email)
        with app.test_request_context():
            person = db.session.get(User, user.id)
            profile = services.start_profile(person)
            services.update_profile(profile, full_data(**overrides), by=person)
            profile.state = state
            if state == MentorProfile.PUBLISHED:
                profile.published_at = utcnow()
            db.session.commit()
            return user, profile.id

    return make


# The rules, directly ------------------------------------------------------------


def test_cleaning_normalises_what_people_type():
    data = services.clean(full_data(bio="  First   line.\r\n\r\n\r\n  Second\tpara.  "))
    assert data.expertise == ["quality improvement", "statistics"]
    assert data.languages == ["English", "Welsh"]
    assert data.knowing == ["why", "how"]  # vocabulary order, whatever order was ticked
    assert data.bio == "First line.\n\nSecond para."


def test_at_most_fifteen_areas_of_expertise():
    with pytest.raises(services.ProfileError) as error:
        services.clean(full_data(expertise=[f"topic {n}" for n in range(16)]))
    assert error.value.field == "expertise"


@pytest.mark.parametrize("url", ["https://www.linkedin.com/in/ada-okoro/",
                                 "linkedin.com/in/ada-okoro", "https://uk.linkedin.com/in/ada"])
def test_linkedin_addresses_are_accepted_and_tidied(url):
    cleaned = services.clean(full_data(linkedin_url=url)).linkedin_url
    assert cleaned.startswith("https://") and "linkedin.com/in/" in cleaned
    assert not cleaned.endswith("/")


@pytest.mark.parametrize("url", ["https://evil.example/in/ada", "javascript:alert(1)",
                                 "https://linkedin.com.evil.example/in/x",
                                 "https://www.linkedin.com/company/acme"])
def test_other_addresses_are_not_linkedin(url):
    with pytest.raises(services.ProfileError) as error:
        services.clean(full_data(linkedin_url=url))
    assert error.value.field == "linkedin_url"


def test_bio_has_a_length_limit():
    with pytest.raises(services.ProfileError) as error:
        services.clean(full_data(bio="x" * (services.MAX_BIO + 1)))
    assert error.value.field == "bio"


def test_training_needs_the_accrediting_body():
    with pytest.raises(services.ProfileError) as error:
        services.clean(full_data(in_training=True))
    assert error.value.field == "training_body"
    assert services.clean(full_data(in_training=True, training_body="the EMCC")).in_training


def test_checklist_lists_what_is_missing():
    missing = dict(services.missing_for_submission(services.ProfileData(display_name="Ada")))
    assert set(missing) == {"headline", "sector", "bio", "expertise", "knowing", "contexts",
                            "kind", "formats"}
    assert services.missing_for_submission(full_data()) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_lifecycle_transitions_and_the_refused_ones(app, make_user, mailbox):
    user = make_user("mentor@example.org")
    admin = make_user("lead@example.org", admin=True)
    with app.test_request_context():
        person, coordinator = db.session.get(User, user.id), db.session.get(User, admin.id)
        profile = services.start_profile(person)
        with pytest.raises(services.ProfileError, match="still needs"):
            services.submit(profile, by=person)
        services.update_profile(profile, full_data(), by=person)
        with pytest.raises(services.ProfileError):
            services.approve(profile, by=coordinator)  # a draft cannot be approved
        services.submit(profile, by=person)
        assert profile.state == "submitted" and profile.submitted_at is not None
        with pytest.raises(services.ProfileError):
            services.submit(profile, by=person)  # not twice
        with pytest.raises(services.ProfileError, match="Write what should change"):
            services.request_changes(profile, by=coordinator, note="  ")
        services.request_changes(profile, by=coordinator, note="Add your organisation.")
        assert profile.state == "draft" and profile.moderation_note == "Add your organisation."
        services.submit(profile, by=person)
        services.approve(profile, by=coordinator, message="Welcome!")
        assert profile.state == "published" and profile.moderation_note is None
        with pytest.raises(services.ProfileError):
            services.reject(profile, by=coordinator, reason="No")  # only submitted ones
        with pytest.raises(services.ProfileError):
            services.suspend(profile, by=coordinator, reason="")
        services.suspend(profile, by=coordinator, reason="Reported as out of date.")
        assert profile.state == "suspended"
        with pytest.raises(services.ProfileError):
            services.update_profile(profile, full_data(), by=person)
        services.reinstate(profile, by=coordinator, reason="Updated by phone.")
        # The suspension's reason no longer stands as the last word to the mentor.
        assert profile.state == "published" and profile.moderation_note is None
        db.session.commit()
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == profile.id)
            .order_by(AuditEntry.id)).all()
    assert actions == ["profile.submitted", "profile.changes_requested", "profile.submitted",
                       "profile.approved", "profile.suspended", "profile.reinstated"]
    mailbox.deliver()
    subjects = [m.subject for m in mailbox.to("mentor@example.org")]
    assert subjects == ["Changes requested to your mentor profile",
                        "Your mentor profile is now on the register",
                        "Your mentor profile has been suspended",
                        "Your mentor profile is back on the register"]


def test_rejection_needs_a_reason_and_ends_the_road(app, make_user, make_profile):
    admin = make_user("lead@example.org", admin=True)
    _, profile_id = make_profile(state=MentorProfile.SUBMITTED)
    with app.test_request_context():
        profile = db.session.get(MentorProfile, profile_id)
        coordinator = db.session.get(User, admin.id)
        with pytest.raises(services.ProfileError):
            services.reject(profile, by=coordinator, reason="")
        services.reject(profile, by=coordinator, reason="Not a member of the body.")
        assert profile.state == "rejected"
        with pytest.raises(services.ProfileError):
            services.submit(profile, by=profile.user)


def test_unverified_accounts_cannot_submit(app, make_user):
    user = make_user(verified=False)
    with app.test_request_context():
        person = db.session.get(User, user.id)
        profile = services.start_profile(person)
        services.update_profile(profile, full_data(), by=person)
        with pytest.raises(services.ProfileError, match="Confirm your email"):
            services.submit(profile, by=person)
        assert profile.state == "draft"


def test_editing_a_published_profile_keeps_it_published_and_flags_it(app, make_profile):
    user, profile_id = make_profile()
    with app.test_request_context():
        profile = db.session.get(MentorProfile, profile_id)
        services.update_profile(profile, full_data(headline="Director of nursing"), by=profile.user)
        db.session.commit()
    profile = reload(app, MentorProfile, profile_id)
    assert profile.state == "published" and profile.edited_since_review
    assert profile.headline == "Director of nursing"


def test_availability_pause_away_and_full(app, make_profile, make_user):
    user, profile_id = make_profile(capacity=1)
    mentee = make_user()
    with app.test_request_context():
        profile = db.session.get(MentorProfile, profile_id)
        assert services.availability(profile).taking_requests
        back = utcnow().date() + timedelta(days=10)
        services.pause(profile, by=profile.user, away_until=back)
        now = services.availability(profile)
        assert not now.taking_requests and "Away until" in now.reason
        # The pause lifts by itself on the return date.
        assert services.availability(profile, today=back).taking_requests
        with pytest.raises(services.ProfileError):
            services.pause(profile, by=profile.user, away_until=utcnow().date())
        services.resume(profile, by=profile.user)
        db.session.add(Mentorship(mentor_id=profile.user_id, mentee_id=mentee.id))
        db.session.flush()
        full = services.availability(profile)
        assert not full.taking_requests and full.reason.startswith("Full")


def test_a_pause_lifts_on_the_return_date_not_a_day_later(app, browser, make_profile):
    today = utcnow().date()
    _, back_today = make_profile(email="today@example.org", display_name="Back Today")
    _, back_tomorrow = make_profile(email="tomorrow@example.org", display_name="Back Tomorrow")
    _, no_date = make_profile(email="paused@example.org", display_name="Paused Still")
    with app.test_request_context():
        for profile_id, days in ((back_today, 1), (back_tomorrow, 2), (no_date, None)):
            profile = db.session.get(MentorProfile, profile_id)
            services.pause(profile, by=profile.user,
                           away_until=today + timedelta(days=days) if days else None)
        db.session.commit()
    # A day passes: the first mentor's return date is today.
    with app.app_context():
        for profile_id in (back_today, back_tomorrow):
            db.session.get(MentorProfile, profile_id).away_until -= timedelta(days=1)
        db.session.commit()

    with app.test_request_context():
        assert services.resume_returned_mentors(today=today) == 1
        db.session.commit()
        assert services.resume_returned_mentors(today=today) == 0  # once is enough

    assert reload(app, MentorProfile, back_today).paused is False
    assert "Taking requests now" in browser.get(f"/mentors/{back_today}").get_data(as_text=True)
    tomorrow = browser.get(f"/mentors/{back_tomorrow}").get_data(as_text=True)
    assert "Away until" in tomorrow and reload(app, MentorProfile, back_tomorrow).paused
    assert reload(app, MentorProfile, no_date).paused


# The editor ------------------------------------------------------------------------


def editor_form(**overrides):
    form = {
        "display_name": "Dr Ada Okoro", "headline": "Consultant nurse", "organisation": "Leeds",
        "sector": "nhs", "location": "Leeds", "bio": BIO, "expertise": "statistics, QI",
        "knowing": ["why", "how"], "contexts": ["career"], "kind": "informal",
        "formats": ["video"], "time_commitment": "An hour a month", "capacity": "2",
        "languages": "English", "linkedin_url": "",
    }
    form.update(overrides)
    return form


def test_editor_saves_a_draft_and_shows_the_checklist(app, browser, make_user):
    make_user("mentor@example.org")
    browser.log_in("mentor@example.org")
    empty = browser.get("/me/profile").get_data(as_text=True)
    assert "Still needed before you can submit" in empty
    assert "At least one form of knowing you can support" in empty
    response = browser.post("/me/profile", editor_form())
    assert response.status_code == 302
    page = browser.get("/me/profile").get_data(as_text=True)
    assert "Everything needed is there." in page and "Submit for checking" in page
    assert "Values, motivation" in page  # each form of knowing is explained beside its box
    with app.test_request_context():
        profile = db.session.scalar(select(MentorProfile))
        assert profile.state == "draft" and profile.expertise == ["statistics", "qi"]


def test_editor_shows_errors_next_to_fields_and_keeps_the_input(app, browser, make_user):
    make_user("mentor@example.org")
    browser.log_in("mentor@example.org")
    response = browser.post("/me/profile", editor_form(linkedin_url="https://evil.example/x",
                                                       headline="Keep this headline"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="linkedin_url-error"' in html and "address of a LinkedIn profile" in html
    assert 'value="Keep this headline"' in html
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(MentorProfile)) == 0


def test_live_preview_is_a_fragment_with_card_checklist_and_errors(app, browser, make_user):
    make_user("mentor@example.org")
    browser.log_in("mentor@example.org")
    token = browser.csrf_token()
    response = browser.client.post(
        "/me/profile/preview",
        data=editor_form(display_name="Preview Person", bio="short", linkedin_url="nope"),
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Preview Person" in html
    assert "Your experience, in at least" in html  # the checklist
    assert 'id="linkedin_url-error"' in html and 'hx-swap-oob="innerHTML"' in html
    assert "HX-Request" in response.headers["Vary"]
    with app.test_request_context():  # previewing saves nothing
        assert db.session.scalar(select(func.count()).select_from(MentorProfile)) == 0


def test_submit_from_the_editor(app, browser, make_user):
    make_user("mentor@example.org")
    browser.log_in("mentor@example.org")
    browser.post("/me/profile", editor_form())
    response = browser.post("/me/profile/submit")
    assert response.status_code == 302
    page = browser.get("/me/profile").get_data(as_text=True)
    assert "waiting for the coordinators" in page


def test_unverified_mentor_is_told_to_confirm_before_submitting(app, browser, make_user):
    make_user("mentor@example.org", verified=False)
    browser.log_in("mentor@example.org")
    browser.post("/me/profile", editor_form())
    assert "Confirm your email address before submitting" in browser.get(
        "/me/profile").get_data(as_text=True)
    assert browser.post("/me/profile/submit").status_code == 403


def test_pause_and_resume_from_the_editor(app, browser, make_profile):
    make_profile(email="mentor@example.org")
    browser.log_in("mentor@example.org")
    back = (utcnow().date() + timedelta(days=20)).isoformat()
    assert browser.post("/me/profile/pause", {"away_until": back}).status_code == 302
    page = browser.get("/me/profile").get_data(as_text=True)
    assert "Away until" in page and "Take requests again" in page
    browser.post("/me/profile/resume")
    assert "Pause my profile" in browser.get("/me/profile").get_data(as_text=True)


# The public page and who sees what -----------------------------------------------


def test_public_profile_says_whether_taking_requests_and_hides_the_email(
    app, browser, make_profile
):
    _, profile_id = make_profile(email="secret.mentor@example.org")
    html = browser.get(f"/mentors/{profile_id}").get_data(as_text=True)
    assert "Dr Ada Okoro" in html and "Taking requests now." in html
    assert "secret.mentor@example.org" not in html
    assert "Knowing why" in html and "Video call" in html


@pytest.mark.parametrize("state", ["draft", "submitted", "rejected", "suspended"])
def test_unpublished_profiles_are_hidden_from_others(app, browser, make_profile, make_user,
                                                     state):
    _, profile_id = make_profile(state=state, email="mentor@example.org")
    assert browser.get(f"/mentors/{profile_id}").status_code == 404
    make_user("someone@example.org")
    browser.log_in("someone@example.org")
    assert browser.get(f"/mentors/{profile_id}").status_code == 404
    browser.log_out()
    browser.log_in("mentor@example.org")
    own = browser.get(f"/mentors/{profile_id}")
    assert own.status_code == 200 and "Only you" in own.get_data(as_text=True)


def test_a_mentor_cannot_edit_anothers_profile(app, browser, make_profile, make_user):
    _, other_id = make_profile(email="other@example.org", headline="Original headline")
    make_user("me@example.org")
    browser.log_in("me@example.org")
    browser.post("/me/profile", editor_form(headline="Hijacked"))
    assert reload(app, MentorProfile, other_id).headline == "Original headline"
    with app.test_request_context():
        mine = db.session.scalar(select(MentorProfile).join(User).where(
            User.email == "me@example.org"))
        assert mine.headline == "Hijacked" and mine.id != other_id


def test_listing_shows_only_published_profiles(app, browser, make_profile):
    make_profile(email="a@example.org", display_name="Published Person")
    make_profile(state="draft", email="b@example.org", display_name="Draft Person")
    make_profile(state="suspended", email="c@example.org", display_name="Suspended Person")
    html = browser.get("/mentors").get_data(as_text=True)
    assert "Published Person" in html
    assert "Draft Person" not in html and "Suspended Person" not in html


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_and_script_in_every_field_is_shown_as_text(app, browser, make_profile):
    _, profile_id = make_profile(
        email="x@example.org", display_name=HOSTILE[:100], headline=HOSTILE,
        organisation=HOSTILE, location=HOSTILE[:100], bio=BIO + "\n\n" + HOSTILE,
        expertise=[HOSTILE[:60]], languages=[HOSTILE[:60]], time_commitment=HOSTILE[:100],
        in_training=True, training_body=HOSTILE,
    )
    for path in (f"/mentors/{profile_id}", "/mentors"):
        html = browser.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html, path


def test_a_mentor_who_deletes_their_account_leaves_no_trace_for_mentees(
    app, browser, make_profile, make_user, mailbox
):
    from register.introductions import services as introductions
    from register.introductions.models import IntroRequest

    _, profile_id = make_profile(email="leaving@example.org", display_name="Lee Leaving")
    mentee = make_user("waiting@example.org")
    with app.test_request_context(method="POST"):
        profile = db.session.get(MentorProfile, profile_id)
        waiting = introductions.send(
            db.session.get(User, mentee.id), profile,
            introductions.Draft(subject="15 minutes?", aspiration="To lead a ward in two years.",
                                why_you="You led critical care teams for a decade.",
                                contexts=["career"], knowing=["how"], formats=["video"]))
        db.session.add(Mentorship(mentor_id=profile.user_id, mentee_id=mentee.id))
        db.session.commit()
        request_id = waiting.id
    browser.log_in("leaving@example.org")
    deleted = browser.post("/account/delete", {"password": "violet-harbour-lantern"})
    assert deleted.status_code == 302
    assert browser.get(f"/mentors/{profile_id}").status_code == 404
    emptied = reload(app, MentorProfile, profile_id)
    assert emptied.state == "deleted" and "Lee" not in emptied.display_name and emptied.bio == ""
    assert reload(app, IntroRequest, request_id).state == "declined"
    with app.app_context():
        assert db.session.scalar(select(Mentorship.status)) == "closed"
    mailbox.deliver()
    told = [m for m in mailbox.to("waiting@example.org") if "About your request" in m.subject]
    assert told and "left the register" in told[-1].text
