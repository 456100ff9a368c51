"""One function per email the register sends. Each queues a text and an HTML body."""

from __future__ import annotations

from register.auth.models import User
from register.mail.links import external_url
from register.mail.outbox import queue_email


def verify_email(user: User, token: str) -> None:
    """Ask a new account holder to confirm their address."""
    url = external_url("auth.verify_email", token=token)
    queue_email(
        "verify-email",
        to=user.email,
        name=user.name,
        subject="Confirm your email address for Mentor Register",
        template="verify_email",
        user=user,
        url=url,
    )


def reset_password(user: User, token: str) -> None:
    """Send the link that lets someone choose a new password."""
    url = external_url("auth.reset_password", token=token)
    queue_email(
        "reset-password",
        to=user.email,
        name=user.name,
        subject="Reset your Mentor Register password",
        template="reset_password",
        user=user,
        url=url,
    )


def confirm_new_email(user: User, new_email: str, token: str) -> None:
    """Ask the person to confirm a new address, sent to that new address."""
    url = external_url("auth.confirm_email_change", token=token)
    queue_email(
        "confirm-new-email",
        to=new_email,
        name=user.name,
        subject="Confirm your new email address for Mentor Register",
        template="confirm_new_email",
        user=user,
        new_email=new_email,
        url=url,
    )


def email_changed(user: User, old_email: str) -> None:
    """Tell the old address that the account now uses another one."""
    queue_email(
        "email-changed",
        to=old_email,
        name=user.name,
        subject="Your Mentor Register email address was changed",
        template="email_changed",
        user=user,
        old_email=old_email,
    )


def password_changed(user: User) -> None:
    """Tell the account holder their password changed, in case it was not them."""
    queue_email(
        "password-changed",
        to=user.email,
        name=user.name,
        subject="Your Mentor Register password was changed",
        template="password_changed",
        user=user,
    )


def account_exists(user: User) -> None:
    """Someone tried to sign up with an address that already has an account.

    Sent instead of an error on the sign-up page, so the page never tells a
    stranger which addresses are registered.
    """
    queue_email(
        "account-exists",
        to=user.email,
        name=user.name,
        subject="You already have a Mentor Register account",
        template="account_exists",
        user=user,
        login_url=external_url("auth.login"),
        reset_url=external_url("auth.forgot_password"),
    )


def _profile_email(kind: str, profile, subject: str, template: str, **context) -> None:
    user = profile.user
    queue_email(
        kind,
        to=user.email,
        name=profile.display_name or user.name,
        subject=subject,
        template=template,
        profile=profile,
        editor_url=external_url("mentors.edit_profile"),
        profile_url=external_url("mentors.profile", profile_id=profile.id),
        **context,
    )


def profile_approved(profile, message: str) -> None:
    """Tell a mentor their profile is now on the register."""
    _profile_email("profile-approved", profile, "Your mentor profile is now on the register",
                   "profile_approved", message=message)


def profile_changes_requested(profile, note: str) -> None:
    """Tell a mentor what the coordinators want changed before publishing."""
    _profile_email("profile-changes-requested", profile,
                   "Changes requested to your mentor profile", "profile_changes_requested",
                   note=note)


def profile_rejected(profile, reason: str) -> None:
    """Tell a mentor their profile will not be published, and why."""
    _profile_email("profile-rejected", profile, "Your mentor profile was not accepted",
                   "profile_rejected", reason=reason)


def profile_suspended(profile, reason: str) -> None:
    """Tell a mentor their profile has been taken off the register, and why."""
    _profile_email("profile-suspended", profile, "Your mentor profile has been suspended",
                   "profile_suspended", reason=reason)


def profile_reinstated(profile, reason: str) -> None:
    """Tell a mentor their profile is back on the register."""
    _profile_email("profile-reinstated", profile, "Your mentor profile is back on the register",
                   "profile_reinstated", reason=reason)


def invitation(user: User, profile, token: str, *, to_complete: list[str] | None = None) -> None:
    """Invite someone whose profile was imported to claim it by choosing a password;
    `to_complete` lists what their draft still needs before mentees can find it."""
    queue_email(
        "invitation",
        to=user.email,
        name=user.name,
        subject="Your mentor profile on Mentor Register: set your password",
        template="invitation",
        profile=profile,
        to_complete=to_complete or [],
        url=external_url("auth.claim_account", token=token),
    )


def _request_context(request) -> dict:
    from register.introductions import vocabulary as ivocab
    from register.mentors import vocabulary as vocab

    return {
        "request": request,
        "ask": vocab.label(ivocab.ASKS, request.ask),
        "kind_label": vocab.label(ivocab.KINDS, request.kind),
        "contexts": [vocab.label(vocab.CONTEXTS, c) for c in request.contexts],
        "knowing": [vocab.label(vocab.KNOWING, c) for c in request.knowing],
        "formats": [vocab.label(ivocab.FORMATS, c) for c in request.formats],
        "request_url": external_url("introductions.show", request_id=request.id),
    }


def _answer_links(request, accept_token: str, decline_token: str) -> dict:
    return {
        f"{action}_url": external_url("introductions.answer_by_email", request_id=request.id,
                                      action=action, token=token)
        for action, token in (("accept", accept_token), ("decline", decline_token))
    }


def request_received(request, *, accept_token: str, decline_token: str) -> None:
    """The mentor receives the whole request, with links to accept or decline it.

    It carries no contact details of the mentee: those are shared on acceptance.
    """
    queue_email(
        "request-received",
        to=request.mentor.email,
        name=request.profile.display_name,
        subject=f"Mentoring request from {request.mentee.name}: {request.subject}",
        template="request_received",
        **_answer_links(request, accept_token, decline_token),
        **_request_context(request),
    )


def request_reminder(request, *, accept_token: str, decline_token: str) -> None:
    """Remind the mentor, after 7 days, that someone is waiting for an answer."""
    queue_email(
        "request-reminder",
        to=request.mentor.email,
        name=request.profile.display_name,
        subject=f"Reminder: {request.mentee.name} is waiting for your answer",
        template="request_reminder",
        **_answer_links(request, accept_token, decline_token),
        **_request_context(request),
    )


def _next_steps(request, suggestions) -> dict:
    # Where a mentee goes when a request ends without a yes: similar mentors, and
    # the search for the same purpose.
    return {
        "suggestions": [(p, external_url("mentors.profile", profile_id=p.id))
                        for p in suggestions],
        "search_url": external_url("search.results", context=list(request.contexts)),
    }


def request_accepted(request) -> None:
    """Tell the mentee the mentor said yes, and how to reach them."""
    queue_email(
        "request-accepted",
        to=request.mentee.email,
        name=request.mentee.name,
        subject=f"{request.profile.display_name} accepted your request",
        template="request_accepted",
        **_request_context(request),
    )


def request_declined(request, *, suggestions) -> None:
    """Tell the mentee kindly, with the reason and other mentors to try."""
    from register.introductions import vocabulary as ivocab
    from register.mentors import vocabulary as vocab

    queue_email(
        "request-declined",
        to=request.mentee.email,
        name=request.mentee.name,
        subject=f"About your request to {request.profile.display_name}",
        template="request_declined",
        reason=vocab.label(ivocab.DECLINE_REASONS, request.decline_reason or "other"),
        **_next_steps(request, suggestions),
        **_request_context(request),
    )


def request_withdrawn(request) -> None:
    """Tell the mentor the mentee no longer needs an answer."""
    queue_email(
        "request-withdrawn",
        to=request.mentor.email,
        name=request.profile.display_name,
        subject=f"{request.mentee.name} withdrew their request",
        template="request_withdrawn",
        **_request_context(request),
    )


def request_expired(request, *, suggestions) -> None:
    """Tell the mentee the request lapsed without an answer, and where to look next."""
    queue_email(
        "request-expired",
        to=request.mentee.email,
        name=request.mentee.name,
        subject=f"Your request to {request.profile.display_name} has expired",
        template="request_expired",
        **_next_steps(request, suggestions),
        **_request_context(request),
    )


def email_change_requested(user: User, new_email: str, cancel_token: str) -> None:
    """Tell the address in use that a change away from it was asked for, with a way to stop it."""
    queue_email(
        "email-change-requested",
        to=user.email,
        name=user.name,
        subject="Someone asked to change your Mentor Register email address",
        template="email_change_requested",
        user=user,
        new_email=new_email,
        url=external_url("auth.cancel_email_change", token=cancel_token),
        reset_url=external_url("auth.forgot_password"),
    )


def match_proposed(request, *, reasons: list[str]) -> None:
    """Tell the mentee which mentor the coordinators proposed for them, and why.

    The mentor receives the proposal as a request (request_received); this is
    the mentee's half.
    """
    queue_email(
        "match-proposed",
        to=request.mentee.email,
        name=request.mentee.name,
        subject=f"The coordinators have proposed a mentor for you: "
                f"{request.profile.display_name}",
        template="match_proposed",
        reasons=reasons,
        profile_url=external_url("mentors.profile", profile_id=request.profile_id),
        **_request_context(request),
    )


# Mentorships -----------------------------------------------------------------------


def _mentorship_context(mentorship, to) -> dict:
    return {
        "mentorship": mentorship,
        "other": mentorship.mentor if to.id == mentorship.mentee_id else mentorship.mentee,
        "mentorship_url": external_url("mentorships.show", mentorship_id=mentorship.id),
    }


def mentorship_agreement_proposed(mentorship, proposal, *, by, to) -> None:
    """Ask the other person to read and agree a proposed agreement."""
    queue_email(
        "mentorship-agreement-proposed",
        to=to.email,
        name=to.name,
        subject=f"{by.name} proposed how you will work together",
        template="mentorship_agreement_proposed",
        proposal=proposal,
        by=by,
        **_mentorship_context(mentorship, to),
    )


def mentorship_agreement_agreed(mentorship, agreement, *, by, to) -> None:
    """Tell the proposer the other person agreed."""
    queue_email(
        "mentorship-agreement-agreed",
        to=to.email,
        name=to.name,
        subject=f"{by.name} agreed how you will work together",
        template="mentorship_agreement_agreed",
        agreement=agreement,
        by=by,
        **_mentorship_context(mentorship, to),
    )


def mentorship_meeting(mentorship, meeting, *, to, other, change: str, when, zone: str,
                       ics: str) -> None:
    """A planned, moved or cancelled meeting, with the calendar event attached."""
    subjects = {"planned": "Meeting planned", "moved": "Meeting moved",
                "cancelled": "Meeting cancelled"}
    queue_email(
        f"mentorship-meeting-{change}",
        to=to.email,
        name=to.name,
        subject=f"{subjects[change]}: {when:%A %-d %B %Y at %H:%M} with {other.name}",
        template="mentorship_meeting",
        attachments=[{"filename": "meeting.ics", "content_type": "text/calendar",
                      "data": ics}],
        meeting=meeting,
        change=change,
        when=when,
        zone=zone,
        ics_url=external_url("mentorships.meeting_ics", meeting_id=meeting.id),
        **_mentorship_context(mentorship, to),
    )


def mentorship_check_in(mentorship, *, to, other, token: str, first: bool, answers) -> None:
    """Ask how it is going, with one-click answers that each confirm on a page."""
    queue_email(
        "mentorship-check-in",
        to=to.email,
        name=to.name,
        subject=f"How is your mentoring with {other.name} going?",
        template="mentorship_check_in",
        first=first,
        answer_links=[(choice.label, external_url("mentorships.check_in", answer=choice.code,
                                                  token=token)) for choice in answers],
        **_mentorship_context(mentorship, to),
    )


def mentorship_stalled(mentorship, *, to, other) -> None:
    """One gentle reminder when nothing has happened for 60 days."""
    queue_email(
        "mentorship-stalled",
        to=to.email,
        name=to.name,
        subject=f"It has been a while: your mentoring with {other.name}",
        template="mentorship_stalled",
        **_mentorship_context(mentorship, to),
    )


def mentorship_not_working(mentorship, *, by, to) -> None:
    """Tell a coordinator that one person said the mentorship is not working."""
    queue_email(
        "mentorship-not-working",
        to=to.email,
        name=to.name,
        subject=f"A mentorship is not working: {mentorship.mentor.name} and "
                f"{mentorship.mentee.name}",
        template="mentorship_not_working",
        by=by,
        mentorship=mentorship,
        mentorship_url=external_url("mentorships.show", mentorship_id=mentorship.id),
    )


def mentorship_closed(mentorship, *, to, by, reason: str, evaluation_token: str) -> None:
    """The mentorship ended: the record stays; reflect, and evaluate from the link."""
    queue_email(
        "mentorship-closed",
        to=to.email,
        name=to.name,
        subject="Your mentorship has been closed: a few minutes to reflect",
        template="mentorship_closed",
        by=by,
        reason=reason,
        evaluation_url=external_url("mentorships.evaluate_by_link", token=evaluation_token),
        search_url=external_url("search.results"),
        **_mentorship_context(mentorship, to),
    )


def mentorship_evaluation_reminder(mentorship, *, to, evaluation_token: str) -> None:
    """Remind once, after closing, that the evaluation is waiting."""
    queue_email(
        "mentorship-evaluation-reminder",
        to=to.email,
        name=to.name,
        subject="Two minutes to help the mentoring scheme: your evaluation",
        template="mentorship_evaluation_reminder",
        evaluation_url=external_url("mentorships.evaluate_by_link", token=evaluation_token),
        **_mentorship_context(mentorship, to),
    )
