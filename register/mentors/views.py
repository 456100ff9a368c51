"""Profile pages. Views parse input, call one service, commit, and choose the response."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from register.auth.guards import verified_required
from register.extensions import db, limiter
from register.mentors import bp, services
from register.mentors import vocabulary as vocab
from register.mentors.forms import PauseForm, ProfileForm, ReportForm
from register.mentors.models import MentorProfile
from register.web import carry_out, render


def load_profile(profile_id: int) -> MentorProfile:
    """The profile, if this visitor may see it: published, or their own, or they are admin."""
    profile = db.get_or_404(MentorProfile, profile_id)
    if profile.state == MentorProfile.PUBLISHED:
        return profile
    if current_user.is_authenticated and (
        current_user.is_admin or profile.user_id == current_user.id
    ):
        return profile
    abort(404)


@bp.get("/mentors/<int:profile_id>")
def profile(profile_id: int):
    """A mentor's public profile. It never shows their email address."""
    from register.introductions.services import describe_response, typical_response

    found = load_profile(profile_id)
    return render("mentors/profile.html", profile=found,
                  availability=services.availability(found),
                  response_time=describe_response(typical_response(found)))


def _reporter() -> str:
    # Reports are limited per account, wherever they are sent from.
    return f"report:{current_user.id}"


@bp.route("/mentors/<int:profile_id>/report", methods=["GET", "POST"])
@verified_required
@limiter.limit("5 per hour;20 per day", key_func=_reporter, methods=["POST"],
               error_message="You have sent several reports in a short time. Wait an hour, "
                             "then try again; the reports you sent are with the coordinators.")
def report(profile_id: int):
    """Tell the coordinators about a problem with a profile (confirmed accounts only)."""
    found = load_profile(profile_id)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            services.report(found, by=current_user, reason=form.reason.data)
        except services.ProfileError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            flash("Thank you. The register's coordinators will look at your report.", "success")
            return redirect(url_for("mentors.profile", profile_id=found.id))
    return render("mentors/report.html", form=form, profile=found,
                  status=422 if form.errors else 200)


# The mentor's own profile ----------------------------------------------------------


@bp.route("/me/profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    """The editor: save as often as you like; submit when the checklist is complete."""
    found = services.profile_of(current_user)
    form = ProfileForm()
    if request.method == "GET":
        if found is not None:
            form.fill_from(found)
        else:
            form.display_name.data = current_user.name
    elif form.validate_on_submit():
        try:
            found = found or services.start_profile(current_user)
            services.update_profile(found, form.to_data(), by=current_user)
        except services.ProfileError as error:
            db.session.rollback()
            error.apply_to_form(form)
        else:
            db.session.commit()
            flash("Your profile has been saved.", "success")
            return redirect(url_for("mentors.edit_profile"))
    return _editor(form, found, status=422 if request.method == "POST" else 200)


def _editor(form, found, status=200):
    shown = found or services.ProfileData(display_name=current_user.name)
    data = _preview_data(form, report=False) if request.method == "POST" else shown
    return render(
        "mentors/edit.html",
        form=form,
        profile=found,
        preview=data,
        missing=services.missing_for_submission(data),
        pause_form=PauseForm(formdata=None),
        availability=services.availability(found) if found else None,
        status=status,
    )


def _preview_data(form, report: bool = True) -> services.ProfileData:
    data = form.to_data()
    try:
        return services.clean(data)
    except services.ProfileError as error:
        if report:
            error.apply_to_form(form)
        # Show what can be shown: the raw values, lists split as they will be saved.
        data.expertise = services.normalise_tags(data.expertise, limit=None)
        data.languages = services.normalise_languages(data.languages)
        return data


@bp.post("/me/profile/preview")
@login_required
def preview_profile():
    """The live preview: the card and checklist for what is typed, and any field errors."""
    form = ProfileForm()
    form.validate()
    data = _preview_data(form)
    return render(
        "mentors/_preview.html",
        "mentors/_preview.html",
        form=form,
        preview=data,
        missing=services.missing_for_submission(data),
        oob=True,
    )


@bp.post("/me/profile/submit")
@verified_required
def submit_profile():
    """Send the profile to the coordinators for vetting."""
    found = services.profile_of(current_user)
    if found is None:
        abort(404)
    carry_out(lambda: services.submit(found, by=current_user),
              "Your profile has been submitted. The coordinators will email you when they have "
              "looked at it.")
    return redirect(url_for("mentors.edit_profile"))


@bp.post("/me/profile/pause")
@login_required
def pause_profile():
    """Stop taking requests, until a date or until resumed."""
    found = services.profile_of(current_user) or abort(404)
    form = PauseForm()
    if form.validate_on_submit():
        carry_out(lambda: services.pause(found, by=current_user, away_until=form.away_until.data),
                  "Your profile is paused: no new requests will arrive.")
    else:
        flash("Enter the date as day, month and year, or leave it empty.", "error")
    return redirect(url_for("mentors.edit_profile"))


@bp.post("/me/profile/resume")
@login_required
def resume_profile():
    """Take requests again."""
    found = services.profile_of(current_user) or abort(404)
    services.resume(found, by=current_user)
    db.session.commit()
    flash("Welcome back: your profile is taking requests again.", "success")
    return redirect(url_for("mentors.edit_profile"))


@bp.app_context_processor
def _vocabulary():
    return {"vocab": vocab}
