"""Composing, answering and following introductory requests."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from register.extensions import db
from register.introductions import bp, services
from register.introductions import vocabulary as ivocab
from register.introductions.forms import AcceptForm, DeclineForm, RequestForm
from register.introductions.models import IntroRequest
from register.mentors.services import profile_of
from register.mentors.views import load_profile
from register.web import carry_out, is_fragment_request, render


def load_request(request_id: int) -> IntroRequest:
    """The request, for its two people and administrators; 404 for everyone else."""
    found = db.get_or_404(IntroRequest, request_id)
    if not services.visible_to(found, current_user):
        abort(404)
    return found


# Composing --------------------------------------------------------------------------


@bp.route("/mentors/<int:profile_id>/request", methods=["GET", "POST"])
@login_required
def compose(profile_id: int):
    """Write a request; preview exactly what the mentor will receive; send it."""
    profile = load_profile(profile_id)
    refusal = services.refusal(current_user, profile)
    form = RequestForm()
    if request.method == "GET":
        form.subject.data = services.suggested_subject(profile)
        form.formats.data = [f for f in ("telephone", "video") if f in profile.formats] or [
            "video"]
        _prefill(form, request.args)
    step = request.form.get("step", "write")
    if request.method == "POST" and not refusal and form.validate_on_submit():
        try:
            draft = services.clean(form.to_draft())
        except services.RequestError as error:
            error.apply_to_form(form)
        else:
            if step == "send":
                try:
                    sent = services.send(current_user, profile, draft)
                except services.RequestError as error:
                    db.session.rollback()
                    error.apply_to_form(form)
                else:
                    db.session.commit()
                    flash(f"Your request has been sent to {profile.display_name}. We will "
                          "email you when they answer.", "success")
                    return redirect(url_for("introductions.show", request_id=sent.id))
            elif step == "preview":
                return render("introductions/preview.html", form=form, profile=profile,
                              draft=draft, **_labels(draft))
    # "Change it" on the preview posts back with nothing wrong: only errors make a 422.
    if refusal:
        status = 409
    elif form.errors or form.form_errors:
        status = 422
    else:
        status = 200
    # The preview beside the form starts from what the form holds (the suggested subject, at
    # first), never empty.
    draft = form.to_draft()
    return render("introductions/compose.html", form=form, profile=profile, refusal=refusal,
                  ask_choices=ivocab.ASKS,
                  response_time=services.describe_response(services.typical_response(profile)),
                  draft=draft, sender=current_user, problem=None, **_labels(draft),
                  status=status)


@bp.post("/mentors/<int:profile_id>/request/preview")
@login_required
def live_preview(profile_id: int):
    """The htmx preview beside the form: the request as the mentor will read it."""
    profile = load_profile(profile_id)
    form = RequestForm()
    form.validate()
    draft = form.to_draft()
    try:
        draft = services.clean(draft)
        problem = None
    except services.RequestError as error:
        problem = error.message
    return render("introductions/_letter.html", "introductions/_letter.html", profile=profile,
                  draft=draft, sender=current_user, problem=problem, **_labels(draft))


def _labels(draft) -> dict:
    from register.mentors import vocabulary as vocab

    return {
        "ask_label": vocab.label(ivocab.ASKS, draft.ask),
        "kind_label": vocab.label(ivocab.KINDS, draft.kind),
        "context_labels": [vocab.label(vocab.CONTEXTS, c) for c in draft.contexts],
        "knowing_labels": [vocab.label(vocab.KNOWING, c) for c in draft.knowing],
        "format_labels": [vocab.label(ivocab.FORMATS, c) for c in draft.formats],
    }


# Following and answering --------------------------------------------------------------


@bp.get("/me/requests")
@login_required
def inbox():
    """Requests received and sent: waiting ones first, oldest first."""
    box = request.args.get("box", "")
    if box not in ("received", "sent"):
        # A mentee who has never written a profile receives nothing: show what they sent.
        box = "received" if profile_of(current_user) else "sent"
    return render("introductions/inbox.html", box=box,
                  requests=services.for_user(current_user, box),
                  decline_reasons=ivocab.DECLINE_REASONS,
                  accept_form=AcceptForm(formdata=None), decline_form=DeclineForm(formdata=None))


@bp.get("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    """One request. Contact details appear only once it has been accepted."""
    found = load_request(request_id)
    from register.mentors import vocabulary as vocab

    return render("introductions/request.html", item=found, party=found.party(current_user),
                  decline_reasons=ivocab.DECLINE_REASONS,
                  decline_label=vocab.label(ivocab.DECLINE_REASONS, found.decline_reason or ""),
                  **_labels(found))


def _card_or_redirect(found: IntroRequest, box: str, status: int = 200):
    """htmx gets the request's card back in place (with the message, out of band); a plain
    form post goes back to the page it came from, where the message is shown."""
    if is_fragment_request():
        response = render("introductions/inbox.html", "introductions/_card.html", box=box,
                          item=found, decline_reasons=ivocab.DECLINE_REASONS,
                          requests=services.for_user(current_user, box),
                          accept_form=AcceptForm(formdata=None),
                          decline_form=DeclineForm(formdata=None), status=status)
        if status == 200:
            response.headers["HX-Trigger"] = f"request-{found.state}"
        return response
    if request.form.get("next") == "request":
        return redirect(url_for("introductions.show", request_id=found.id))
    return redirect(url_for("introductions.inbox", box=box))


@bp.post("/requests/<int:request_id>/accept")
@login_required
def accept(request_id: int):
    """The mentor accepts, from the inbox or the request page."""
    found = load_request(request_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    done = carry_out(
        lambda: services.accept(found, by=current_user, message=form.message.data or ""),
        f"You accepted {found.mentee.name}'s request. You can now see their email address, "
        "and they can see yours.")
    return _card_or_redirect(found, "received", status=200 if done else 409)


@bp.post("/requests/<int:request_id>/decline")
@login_required
def decline(request_id: int):
    """The mentor declines with a reason."""
    found = load_request(request_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        abort(400)
    done = carry_out(
        lambda: services.decline(found, by=current_user, reason=form.reason.data or "",
                                 message=form.message.data or ""),
        f"You declined {found.mentee.name}'s request. They have been told kindly, with "
        "suggestions of other mentors.")
    return _card_or_redirect(found, "received", status=200 if done else 409)


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int):
    """The mentee takes back a request that is still waiting."""
    found = load_request(request_id)
    form = AcceptForm()  # only its CSRF token is used
    if not form.validate_on_submit():
        abort(400)
    done = carry_out(lambda: services.withdraw(found, by=current_user),
                     "Your request has been withdrawn; the mentor has been told.")
    return _card_or_redirect(found, "sent", status=200 if done else 409)


@bp.route("/requests/<int:request_id>/<any(accept, decline):action>/<token>",
          methods=["GET", "POST"])
def answer_by_email(request_id: int, action: str, token: str):
    """The accept and decline links in the mentor's email: a page that asks to confirm.

    The signed link stands for the mentor, so it works without logging in; if
    someone else is logged in, it is refused.
    """
    try:
        found = services.from_token(token, action)
    except services.RequestError as error:
        return render("introductions/link_problem.html", message=error.message, status=400)
    if found.id != request_id:
        abort(404)
    if current_user.is_authenticated and current_user.id != found.mentor_id:
        abort(403, "This link is for the mentor the request was sent to. Log out first if "
                   "you are answering for yourself on a shared computer.")
    form = AcceptForm() if action == "accept" else DeclineForm()
    if form.validate_on_submit():
        try:
            if action == "accept":
                services.accept(found, by=found.mentor, message=form.message.data or "")
            else:
                services.decline(found, by=found.mentor, reason=form.reason.data or "",
                                 message=form.message.data or "")
        except services.RequestError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            return render("introductions/answered.html", item=found, action=action)
    return render("introductions/answer.html", item=found, action=action, form=form,
                  status=422 if form.errors or form.form_errors else 200, **_labels(found))


def _prefill(form: RequestForm, args) -> None:
    """Start the form from a suggestion's link ("Mentors for you" passes the mentee's
    objectives); only the fields a mentee writes anyway, and only on a GET."""
    if args.get("aspiration"):
        form.aspiration.data = args["aspiration"][:services.LIMITS["aspiration"]]
    for name in ("contexts", "knowing", "formats"):
        if args.getlist(name):
            getattr(form, name).data = args.getlist(name)


@bp.app_context_processor
def _request_vocabulary():
    # The request's own choices (asks, kinds, ways to meet), for every template that shows one.
    return {"ivocab": ivocab}
