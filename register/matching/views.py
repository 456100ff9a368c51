"""A mentee's objectives and suggested mentors; the coordinators' matching pages."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from register.extensions import db, limiter, per_account
from register.introductions.models import IntroRequest
from register.matching import bp, ranking, services
from register.matching import vocabulary as mvocab
from register.matching.forms import ObjectivesForm, ProposeForm
from register.matching.models import MenteeObjectives
from register.mentors import vocabulary as vocab
from register.mentors.models import MentorProfile
from register.web import carry_out, render


def _labels(wants: MenteeObjectives | None) -> dict:
    if wants is None:
        return {}
    return {
        "knowing_labels": [vocab.label(vocab.KNOWING, c) for c in wants.knowing],
        "context_labels": [vocab.label(vocab.CONTEXTS, c) for c in wants.contexts],
        "area_labels": [vocab.label(mvocab.DEVELOPMENT_AREAS, c)
                        for c in wants.development_areas],
        "format_labels": [vocab.label(vocab.FORMATS, c) for c in wants.formats],
        "sector_label": vocab.label(vocab.SECTORS, wants.sector) if wants.sector else "",
    }


def request_link(wants: MenteeObjectives, profile: MentorProfile) -> str:
    """The request form for `profile`, filled in from the mentee's objectives."""
    return url_for(
        "introductions.compose", profile_id=profile.id,
        aspiration="What I want from mentoring: " + "; ".join(wants.objectives),
        contexts=list(wants.contexts), knowing=list(wants.knowing),
        formats=[f for f in wants.formats if f in ("telephone", "video", "in_person")])


# The mentee's side -------------------------------------------------------------------


@bp.route("/me/objectives", methods=["GET", "POST"])
@login_required
def objectives():
    """'What I want from mentoring': objectives in the mentee's words, and how to match."""
    wants = services.objectives_of(current_user)
    form = ObjectivesForm()
    if request.method == "GET" and wants is not None:
        form.fill_from(wants)
    if form.validate_on_submit():
        try:
            saved = services.save_objectives(current_user, form.to_draft())
        except services.MatchingError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            if saved.facilitated:
                flash("Saved. You are in the coordinators' queue: they will propose a mentor "
                      "and email you who and why.", "success")
            else:
                flash("Saved. Here are the mentors who fit best.", "success")
            return redirect(url_for("matching.suggested"))
    return render("matching/objectives.html", form=form, wants=wants,
                  area_choices=mvocab.DEVELOPMENT_AREAS,
                  status=422 if form.errors or form.form_errors else 200)


@bp.get("/mentors/suggested")
@login_required
def suggested():
    """'Mentors for you': the 10 best fits taking requests now, each with its reasons."""
    wants = services.objectives_of(current_user)
    suggestions = services.suggestions_for(current_user) if wants else []
    return render("matching/suggested.html", wants=wants, suggestions=suggestions,
                  request_link=request_link, **_labels(wants))


# The coordinators' side -----------------------------------------------------------------


def _coordinators_only() -> None:
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)


def _waiting_or_404(user_id: int) -> MenteeObjectives:
    wants = db.session.scalar(select(MenteeObjectives).where(MenteeObjectives.user_id == user_id))
    if wants is None or not wants.facilitated:
        abort(404)
    return wants


@bp.get("/admin/matching")
def queue():
    """Mentees waiting for facilitated matching, oldest first, each with a shortlist."""
    _coordinators_only()
    return render("matching/queue.html", entries=services.queue(),
                  waiting=services.count_waiting(),
                  proposals=services.recent_proposals(), form=ProposeForm(formdata=None),
                  request_link=request_link, labels=_labels)


@bp.get("/admin/matching/<int:user_id>")
def mentee(user_id: int):
    """One waiting mentee: their objectives, the shortlist, and a search for others."""
    _coordinators_only()
    wants = _waiting_or_404(user_id)
    text = " ".join(request.args.get("q", "").split())[:200]
    found = services.search_for(wants, text) if text else []
    return render("matching/mentee.html", wants=wants, q=text, found=found,
                  shortlist=ranking.rank(wants, limit=services.SHORTLIST),
                  form=ProposeForm(formdata=None), **_labels(wants))


@bp.post("/admin/matching/<int:user_id>/propose")
@limiter.limit("60 per hour;200 per day", key_func=per_account,
               error_message="Proposals have been sent too often in a short time; wait an "
                             "hour. The ones sent already have been emailed.")
def propose(user_id: int):
    """Propose one mentor to a waiting mentee, with a note."""
    _coordinators_only()
    wants = _waiting_or_404(user_id)
    form = ProposeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        profile_id = int(form.profile_id.data or "")
    except ValueError:
        abort(400, "Choose a mentor to propose.")
    profile = db.get_or_404(MentorProfile, profile_id)
    carry_out(lambda: services.propose(wants, profile, by=current_user,
                                       note=form.note.data or ""),
              f"Proposed {profile.display_name} to {wants.user.name}. Both have been emailed; "
              "you will see the outcome here.", about=wants.user.name)
    return redirect(url_for("matching.queue"))


@bp.get("/admin/matching/pairings")
def pairings():
    """A draft pairing for everyone waiting, to review; nothing is sent from here."""
    _coordinators_only()
    return render("matching/pairings.html", drafted=services.draft_pairings(),
                  form=ProposeForm(formdata=None))


@bp.post("/admin/matching/pairings")
@limiter.limit("10 per hour;30 per day", key_func=per_account,
               error_message="Proposals have been sent too often in a short time; wait an "
                             "hour. The ones sent already have been emailed.")
def send_pairings():
    """Send the drafted pairs the coordinator ticked, each as a proposed match."""
    _coordinators_only()
    form = ProposeForm()
    if not form.validate_on_submit():
        abort(400)
    pairs = []
    for value in request.form.getlist("pair"):
        try:
            user_id, profile_id = (int(part) for part in value.split(":", 1))
        except ValueError:
            abort(400)
        pairs.append((user_id, profile_id))
    sent, problems = services.send_pairs(pairs, by=current_user, note=form.note.data or "")
    db.session.commit()
    if sent:
        flash(f"Sent {sent} proposed match{'es' if sent != 1 else ''}.", "success")
    elif not problems:
        flash("Tick the pairs to send.", "error")
    for problem in problems:
        flash(problem, "error")
    return redirect(url_for("matching.queue"))


def proposal_outcome(item: IntroRequest) -> str:
    """What became of a proposed match, in words."""
    return {"pending": "Waiting for the mentor", "accepted": "Accepted: mentorship started",
            "declined": "Declined", "withdrawn": "Withdrawn by the mentee",
            "expired": "Expired without an answer"}.get(item.state, item.state)


@bp.app_template_filter("proposal_outcome")
def _proposal_outcome_filter(item: IntroRequest) -> str:
    return proposal_outcome(item)


@bp.app_context_processor
def _mentors_for_you():
    """`mentors_for_you(limit)` for pages of areas below this one (the mentee's portfolio):
    computed only when a template asks, for the person logged in."""

    def mentors_for_you(limit: int = 3):
        if not current_user.is_authenticated:
            return None, []
        wants = services.objectives_of(current_user)
        return wants, (services.suggestions_for(current_user, limit=limit) if wants else [])

    return {"mentors_for_you": mentors_for_you, "request_link": request_link}
