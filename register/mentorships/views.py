"""The mentorship pages: the shared page, meetings, closing, reflection, evaluation,
check-in and evaluation links, the mentee's portfolio and the mentor's record."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from register.auth.guards import admin_required
from register.extensions import db, limiter, per_account
from register.mentors import vocabulary as vocab
from register.mentorships import bp, services
from register.mentorships import vocabulary as mvocab
from register.mentorships.forms import (
    AgreementForm,
    CloseForm,
    ConfirmForm,
    EvaluationForm,
    MeetingForm,
    NoteForm,
    RecordForm,
    ReflectionForm,
    SettingsForm,
)
from register.mentorships.models import Agreement, Meeting, Mentorship, PersonalLink
from register.web import carry_out, is_fragment_request, render, save_form

# A third person gets the same 404 as for any mentorship they may not see; the words help
# the one case that happens honestly: a shared computer still logged in as someone else.
SOMEONE_ELSES_LINK = ("There is nothing here for the account you are logged in with. If this "
                      "link was emailed to someone else using this computer, they should log "
                      "out of your account (or you of theirs) and open it again.")


# Each of these emails the other person: one allowance for them all, per person, so nobody
# can use the register to flood someone with invitations or proposals.
_emails_the_other = limiter.shared_limit(
    "10 per hour;30 per day", scope="mentorship-email", key_func=per_account, methods=["POST"],
    error_message="You have sent invitations or proposals too often in a short time. Wait an "
                  "hour, then try again; what you sent already has been emailed.")


def load_mentorship(mentorship_id: int) -> Mentorship:
    """The mentorship, for its two people and administrators; 404 for everyone else."""
    found = db.get_or_404(Mentorship, mentorship_id)
    if not services.visible_to(found, current_user):
        abort(404)
    return found


def load_meeting(mentorship: Mentorship, meeting_id: int) -> Meeting:
    """A meeting of this mentorship, or 404."""
    meeting = db.get_or_404(Meeting, meeting_id)
    if meeting.mentorship_id != mentorship.id:
        abort(404)
    return meeting


def _status(form) -> int:
    return 422 if form.errors or form.form_errors else 200


def _labels() -> dict:
    return {"vocab": vocab, "mvocab": mvocab, "label": vocab.label}


def _back(mentorship: Mentorship, anchor: str = ""):
    return redirect(url_for("mentorships.show", mentorship_id=mentorship.id) + anchor)


@bp.app_template_global()
def mentorship_for_request(request_item):
    """For the requests' pages (a lower area, which must not import this one): the
    mentorship an accepted request started, to link to it."""
    return services.mentorship_for_request(request_item)


# Lists ------------------------------------------------------------------------------


@bp.get("/me/mentorships")
@login_required
def mine():
    """One's mentorships as mentor and as mentee, active first."""
    mentorships = services.for_user(current_user)
    return render("mentorships/mine.html", mentorships=mentorships,
                  stalled={m.id for m in mentorships if services.is_stalled(m)},
                  to_agree={m.id for m in mentorships if services.agreement_awaited(m)})


@bp.get("/me/mentors")
@login_required
def portfolio():
    """The mentee's portfolio: mentors, what each helps with, and the gaps."""
    return render("mentorships/portfolio.html", portfolio=services.portfolio(current_user),
                  **_labels())


@bp.get("/me/mentoring-record")
@login_required
def record():
    """A mentor's record of mentoring, printable on A4."""
    return render("mentorships/record.html", record=services.mentoring_record(current_user),
                  min_answers=services.MIN_ANSWERS_FOR_AGGREGATES)


@bp.get("/me/mentoring-record.csv")
@login_required
def record_csv():
    """The same record as a spreadsheet."""
    found = services.mentoring_record(current_user)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["mentee", "started", "ended", "status", "meetings held", "hours"])
    for row in found.rows:
        writer.writerow([_cell(row.mentee_name), row.started.isoformat(),
                         row.ended.isoformat() if row.ended else "", row.status,
                         row.meetings_held, f"{row.hours:g}"])
    writer.writerow(["total", "", "", "", found.meetings_held, f"{found.hours:g}"])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=mentoring-record.csv"})


def _cell(text: str) -> str:
    # A name starting with = + - @ (or a tab or carriage return, which some spreadsheets
    # skip before reading the formula) would run as a formula when the file is opened;
    # spreadsheets that trim spaces on import read " =..." as a formula too.
    starts = text.lstrip(" \t\r\n")[:1]
    return "'" + text if starts in ("=", "+", "-", "@") or text[:1] in ("\t", "\r") else text


# The mentorship page ----------------------------------------------------------------


@bp.get("/mentorships/<int:mentorship_id>")
@login_required
def show(mentorship_id: int):
    """Both people, the request, the agreement, meetings and what to do next."""
    return render("mentorships/show.html", **_page_context(load_mentorship(mentorship_id)))


def _page_context(found: Mentorship) -> dict:
    """Everything the mentorship page draws, for the page and for its swapped parts."""
    party = found.party(current_user)
    return dict(
        item=found, party=party,
        request_item=services.original_request(found),
        agreement=services.current_agreement(found),
        proposal=services.pending_proposal(found), formal=services.is_formal(found),
        meetings=services.meetings(found), steps=services.next_steps(found),
        notes=services.private_notes(found, current_user),
        reflection=services.reflection_of(found, current_user),
        evaluated=party is not None and services.evaluation_of(found, current_user) is not None,
        close_reason=services.close_reason_label(found) if found.closed_at else "",
        stalled=services.is_stalled(found),
        offer_to_close=(party == "mentee" and found.is_active
                        and services.said_not_working(found, current_user)),
        # The check-in email promises each person that only the coordinators see answers.
        check_ins=services.check_in_answers(found) if party is None else [],
        hours=services.mentoring_minutes(found) / 60,
        now=services.utcnow(), local_time=services.local_time, zone=str(services.local_zone()),
        confirm_form=ConfirmForm(formdata=None), note_form=NoteForm(formdata=None),
        **_labels())


@bp.route("/mentorships/<int:mentorship_id>/agreement", methods=["GET", "POST"])
@login_required
@_emails_the_other
def agreement(mentorship_id: int):
    """Propose an agreement, or a change to the agreed one."""
    found = load_mentorship(mentorship_id)
    if found.party(current_user) is None:
        abort(403, "Only the mentor and the mentee can propose an agreement.")
    form = AgreementForm()
    if request.method == "GET":
        form.fill(services.starting_draft(found))
    elif form.validate_on_submit():
        try:
            services.propose_agreement(found, by=current_user, draft=form.to_draft())
        except services.MentorshipError as error:
            db.session.rollback()
            if error.field == "goals":  # the goals are five fields; the first is required
                error.field = "goal_1"
            error.apply_to_form(form)
        else:
            db.session.commit()
            flash(f"Your proposal has been sent to {found.other(current_user).name}, who "
                  "can agree it on this page.", "success")
            return _back(found, "#agreement")
    return render("mentorships/agreement.html", item=found, form=form,
                  agreed=services.current_agreement(found), status=_status(form), **_labels())


@bp.post("/mentorships/<int:mentorship_id>/agreement/<int:agreement_id>/agree")
@login_required
def agree(mentorship_id: int, agreement_id: int):
    """Agree the other person's proposal."""
    found = load_mentorship(mentorship_id)
    proposal = db.get_or_404(Agreement, agreement_id)
    if proposal.mentorship_id != found.id or not ConfirmForm().validate_on_submit():
        abort(404 if proposal.mentorship_id != found.id else 400)
    carry_out(lambda: services.agree(proposal, by=current_user),
              "You agreed how you will work together.")
    return _back(found, "#agreement")


# Meetings ---------------------------------------------------------------------------


def _meeting_form(found: Mentorship, meeting: Meeting | None = None) -> MeetingForm:
    form = MeetingForm()
    agreed = services.current_agreement(found)
    form.agenda_goals.choices = [SelectChoice(g, g) for g in (agreed.goals if agreed else [])]
    if request.method == "GET":
        if meeting is not None:
            local = services.local_time(meeting.starts_at)
            form.day.data, form.at.data = local.date(), local.time()
            form.minutes.data, form.format.data = meeting.minutes, meeting.format
            form.place.data, form.agenda.data = meeting.place, meeting.agenda
            form.agenda_goals.data = list(meeting.agenda_goals)
        elif agreed is not None:
            form.minutes.data = agreed.meeting_minutes
            form.format.data = agreed.formats[0] if agreed.formats else "video"
    return form


@bp.route("/mentorships/<int:mentorship_id>/meetings/new", methods=["GET", "POST"])
@login_required
@_emails_the_other
def plan(mentorship_id: int):
    """Plan a meeting: both people get an invitation for their calendars."""
    found = load_mentorship(mentorship_id)
    if found.party(current_user) is None:
        abort(403, "Only the mentor and the mentee can plan meetings.")
    form = _meeting_form(found)
    if save_form(form, lambda: services.plan_meeting(found, by=current_user,
                                                     draft=form.to_draft()),
                 "The meeting is planned. You both have an email with a calendar "
                 "invitation."):
        return _back(found, "#meetings")
    return render("mentorships/meeting_form.html", item=found, form=form, meeting=None,
                  zone=str(services.local_zone()), status=_status(form))


@bp.route("/mentorships/<int:mentorship_id>/meetings/<int:meeting_id>/move",
          methods=["GET", "POST"])
@login_required
@_emails_the_other
def move(mentorship_id: int, meeting_id: int):
    """Change a planned meeting; calendars update the same event."""
    found = load_mentorship(mentorship_id)
    meeting = load_meeting(found, meeting_id)
    if found.party(current_user) is None:
        abort(403, "Only the mentor and the mentee can change meetings.")
    form = _meeting_form(found, meeting)
    if save_form(form, lambda: services.move_meeting(meeting, by=current_user,
                                                     draft=form.to_draft()),
                 "The meeting has been changed; you both have an updated invitation."):
        return _back(found, "#meetings")
    return render("mentorships/meeting_form.html", item=found, form=form, meeting=meeting,
                  zone=str(services.local_zone()), status=_status(form))


@bp.post("/mentorships/<int:mentorship_id>/meetings/<int:meeting_id>/cancel")
@login_required
@_emails_the_other
def cancel(mentorship_id: int, meeting_id: int):
    """Cancel a planned meeting; calendars remove it."""
    found = load_mentorship(mentorship_id)
    meeting = load_meeting(found, meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    carry_out(lambda: services.cancel_meeting(meeting, by=current_user),
              "The meeting is cancelled; you both have an email that removes it from your "
              "calendars.")
    return _back(found, "#meetings")


@bp.route("/mentorships/<int:mentorship_id>/meetings/<int:meeting_id>/record",
          methods=["GET", "POST"])
@login_required
def record_meeting(mentorship_id: int, meeting_id: int):
    """Record whether a meeting took place, with shared notes and action points.

    With htmx the form opens in place of the meeting on the mentorship page, and the
    recorded meeting (with the hours and the checklist) comes back in its place."""
    found = load_mentorship(mentorship_id)
    meeting = load_meeting(found, meeting_id)
    if found.party(current_user) is None:
        abort(403, "Only the mentor and the mentee can record meetings.")
    form = RecordForm()
    if form.validate_on_submit():
        try:
            if form.held.data not in ("yes", "no"):
                raise services.MentorshipError("Say whether the meeting took place.",
                                               field="held")
            services.record_meeting(meeting, by=current_user, held=form.held.data == "yes",
                                    notes=form.notes.data or "",
                                    actions=form.actions.data or "")
        except services.MentorshipError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            flash("The meeting is recorded.", "success")
            if is_fragment_request():
                return render("mentorships/show.html", "mentorships/_meeting.html",
                              meeting=meeting, **_page_context(found))
            return _back(found, "#meetings")
    return render("mentorships/record_meeting.html", "mentorships/_record_meeting.html",
                  item=found, meeting=meeting, form=form,
                  when=services.local_time(meeting.starts_at), zone=str(services.local_zone()),
                  status=_status(form))


@bp.get("/meetings/<int:meeting_id>.ics")
@login_required
def meeting_ics(meeting_id: int):
    """The meeting for a calendar, the same event the emails carry."""
    meeting = db.get_or_404(Meeting, meeting_id)
    if not services.visible_to(meeting.mentorship, current_user):
        abort(404)
    return Response(services.ics_for(meeting), mimetype="text/calendar", headers={
        "Content-Disposition": f"attachment; filename=meeting-{meeting.id}.ics"})


@bp.post("/mentorships/<int:mentorship_id>/notes")
@login_required
def add_note(mentorship_id: int):
    """Keep a private note."""
    found = load_mentorship(mentorship_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    carry_out(lambda: services.add_private_note(found, by=current_user,
                                                body=form.body.data or ""),
              "Your private note is saved. Only you can see it.")
    return _back(found, "#notes")


# Closing, reflection, evaluation ------------------------------------------------------


@bp.route("/mentorships/<int:mentorship_id>/close", methods=["GET", "POST"])
@login_required
def close(mentorship_id: int):
    """Close with a reason; the record stays."""
    found = load_mentorship(mentorship_id)
    if found.party(current_user) is None:
        abort(403, "Only the mentor and the mentee can close a mentorship.")
    form = CloseForm()
    if save_form(form, lambda: services.close(found, by=current_user,
                                              reason=form.reason.data or "",
                                              note=form.note.data or ""),
                 "The mentorship is closed. Its record stays here for you both. Take a "
                 "few minutes to reflect and to evaluate it."):
        return _back(found, "#after")
    return render("mentorships/close.html", item=found, form=form, status=_status(form))


@bp.route("/mentorships/<int:mentorship_id>/reflection", methods=["GET", "POST"])
@login_required
def reflection(mentorship_id: int):
    """One's private reflection after closing."""
    found = load_mentorship(mentorship_id)
    if found.party(current_user) is None:
        abort(404)
    if found.is_active:
        flash("Reflection comes once the mentorship is closed; until then, keep private notes "
              "on the mentorship page.", "info")
        return _back(found, "#notes")
    existing = services.reflection_of(found, current_user)
    form = ReflectionForm(obj=existing) if request.method == "GET" else ReflectionForm()
    if save_form(form, lambda: services.save_reflection(found, by=current_user,
                                                        draft=form.to_draft()),
                 "Your reflection is saved. Only you can see it."):
        return _back(found, "#after")
    return render("mentorships/reflection.html", item=found, form=form, status=_status(form))


def _evaluation_page(found: Mentorship, person, form: EvaluationForm, *, by_link: bool):
    return render("mentorships/evaluation.html", item=found, form=form,
                  role=found.party(person) or ("mentor" if person.id == found.mentor_id
                                               else "mentee"),
                  other=found.other(person), by_link=by_link, status=_status(form))


@bp.route("/mentorships/<int:mentorship_id>/evaluation", methods=["GET", "POST"])
@login_required
def evaluation(mentorship_id: int):
    """The evaluation, for a logged-in person."""
    found = load_mentorship(mentorship_id)
    if found.party(current_user) is None:
        abort(404)
    if found.is_active:
        flash("The evaluation opens once the mentorship is closed.", "info")
        return _back(found, "#after")
    if services.evaluation_of(found, current_user) is not None:
        flash("You have already sent your evaluation. Thank you.", "info")
        return _back(found, "#after")
    form = EvaluationForm()
    if save_form(form, lambda: services.submit_evaluation(found, by=current_user,
                                                          draft=form.to_draft())):
        return render("mentorships/evaluated.html", item=found)
    return _evaluation_page(found, current_user, form, by_link=False)


@bp.route("/mentorships/evaluation/<token>", methods=["GET", "POST"])
def evaluate_by_link(token: str):
    """The evaluation from the emailed link: signed, single-use, no login needed."""
    try:
        link = services.link_from_token(token, PersonalLink.EVALUATION)
    except services.MentorshipError as error:
        return render("mentorships/link_problem.html", message=error.message, status=400)
    if current_user.is_authenticated and current_user.id != link.user_id:
        abort(404, SOMEONE_ELSES_LINK)
    found = link.mentorship
    form = EvaluationForm()
    if save_form(form, lambda: services.evaluate_by_link(link, form.to_draft())):
        return render("mentorships/evaluated.html", item=found)
    return _evaluation_page(found, link.user, form, by_link=True)


@bp.route("/mentorships/check-in/<any(met, not_yet, not_working):answer>/<token>",
          methods=["GET", "POST"])
def check_in(answer: str, token: str):
    """A one-click answer from the check-in email: GET asks to confirm, POST records."""
    try:
        link = services.link_from_token(token, PersonalLink.CHECKIN)
    except services.MentorshipError as error:
        return render("mentorships/link_problem.html", message=error.message, status=400)
    if current_user.is_authenticated and current_user.id != link.user_id:
        abort(404, SOMEONE_ELSES_LINK)
    try:
        services.must_be_open_for_check_in(link)
    except services.MentorshipError as error:
        return render("mentorships/link_problem.html", message=error.message, status=409,
                      title="This mentorship has ended")
    found = link.mentorship
    form = ConfirmForm()
    label = vocab.label(mvocab.CHECKIN_ANSWERS, answer)
    role = "mentor" if link.user_id == found.mentor_id else "mentee"
    if form.validate_on_submit():
        try:
            services.answer_check_in(link, answer)
        except services.MentorshipError as error:
            db.session.rollback()
            return render("mentorships/link_problem.html", message=error.message, status=409)
        db.session.commit()
        return render("mentorships/checked_in.html", item=found, answer=answer, label=label,
                      role=role, other=found.other(link.user))
    return render("mentorships/check_in.html", item=found, answer=answer, label=label,
                  other=found.other(link.user), form=form)


# Administration -----------------------------------------------------------------------


@bp.route("/admin/mentorships/settings", methods=["GET", "POST"])
@admin_required
def settings():
    """The default wording of the agreement's confidentiality section."""
    form = SettingsForm()
    if request.method == "GET":
        form.confidentiality.data = services.default_confidentiality()
    elif save_form(form, lambda: services.set_confidentiality_default(
            form.confidentiality.data or "", by=current_user),
            "New agreements will start from this wording."):
        return redirect(url_for("mentorships.settings"))
    return render("mentorships/settings.html", form=form, status=_status(form))
