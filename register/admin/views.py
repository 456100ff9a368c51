"""Administration pages. Every page needs an administrator; every action is a POST."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from register.admin import bp
from register.admin.forms import ImportForm
from register.admin.models import AuditEntry, ImportBatch
from register.auth.models import User
from register.database import utcnow
from register.extensions import db
from register.mentors import importing, services
from register.mentors.forms import ModerationForm
from register.mentors.models import MentorProfile, ProfileReport
from register.web import carry_out, render

PAGE_SIZE = 50
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@bp.before_request
def _administrators_only():
    # Everyone else is refused, logged in or not; the 403 page offers a way to log in.
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


@bp.get("/")
def dashboard():
    """What needs attention, and the register in figures."""
    by_state = dict(db.session.execute(
        select(MentorProfile.state, func.count()).group_by(MentorProfile.state)
    ).all())
    return render(
        "admin/dashboard.html",
        by_state=by_state,
        waiting=by_state.get(MentorProfile.SUBMITTED, 0),
        edited=_count(select(MentorProfile.id).where(MentorProfile.edited_since_review)),
        open_reports=_count(select(ProfileReport.id).where(ProfileReport.resolved_at.is_(None))),
        accounts=_count(select(User.id).where(User.deleted_at.is_(None))),
    )


@bp.get("/queue")
def queue():
    """Submitted profiles, oldest first, each with its decision form."""
    profiles = db.session.scalars(
        select(MentorProfile).where(MentorProfile.state == MentorProfile.SUBMITTED)
        .order_by(MentorProfile.submitted_at, MentorProfile.id)
    ).all()
    return render("admin/queue.html", profiles=profiles, form=ModerationForm(formdata=None))


DECISIONS = {
    "approve": (services.approve, "message", "Approved and published."),
    "changes": (services.request_changes, "note", "Sent back to the mentor with your note."),
    "reject": (services.reject, "reason", "Rejected; the mentor has been told why."),
}


@bp.post("/profiles/<int:profile_id>/decide")
def decide(profile_id: int):
    """Approve, request changes or reject a submitted profile."""
    profile = db.get_or_404(MentorProfile, profile_id)
    form = ModerationForm()
    decision = request.form.get("decision", "")
    if decision not in DECISIONS:
        abort(400, "Choose approve, request changes or reject.")
    if not form.validate_on_submit():
        flash("The message is too long; keep it under 4,000 characters.", "error")
        return redirect(url_for("admin.queue"))
    action, argument, done = DECISIONS[decision]
    carry_out(lambda: action(profile, by=current_user, **{argument: form.message.data or ""}),
              f"{profile.display_name}: {done}", about=profile.display_name)
    if request.form.get("back") == "profile":
        return redirect(url_for("admin.profile", profile_id=profile.id))
    return redirect(url_for("admin.queue"))


@bp.get("/profiles")
def profiles():
    """Every profile, filtered by state and searched by name, email or organisation."""
    state = request.args.get("state", "")
    text = request.args.get("q", "").strip()
    # Clamped: a huge page number would overflow the database's OFFSET into a 500.
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    query = select(MentorProfile).join(User, MentorProfile.user_id == User.id)
    if state in MentorProfile.STATES:
        query = query.where(MentorProfile.state == state)
    elif state == "edited":
        query = query.where(MentorProfile.edited_since_review)
    if text:
        # What was typed, as typed: % and _ are characters here, not LIKE's wildcards.
        query = query.where(or_(*(func.lower(column).contains(text.lower(), autoescape=True)
                                  for column in (MentorProfile.display_name, User.email,
                                                 MentorProfile.organisation))))
    total = _count(query)
    found = db.session.scalars(
        query.order_by(MentorProfile.updated_at.desc(), MentorProfile.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return render("admin/profiles.html", profiles=found, total=total, state=state, q=text,
                  page=page, pages=max(1, -(-total // PAGE_SIZE)), states=MentorProfile.STATES)


@bp.get("/profiles/<int:profile_id>")
def profile(profile_id: int):
    """One profile with its history, reports and the actions its state allows."""
    found = db.get_or_404(MentorProfile, profile_id)
    history = db.session.scalars(
        select(AuditEntry).where(AuditEntry.subject_type == "mentor_profile",
                                 AuditEntry.subject_id == found.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    ).all()
    reports = db.session.scalars(
        select(ProfileReport).where(ProfileReport.profile_id == found.id)
        .order_by(ProfileReport.created_at.desc())
    ).all()
    return render("admin/profile.html", profile=found, history=history, reports=reports,
                  form=ModerationForm(formdata=None),
                  availability=services.availability(found))


MODERATION = {
    "suspend": (services.suspend, "Suspended; the mentor has been told why."),
    "reinstate": (services.reinstate, "Reinstated; the mentor has been told."),
}


@bp.post("/profiles/<int:profile_id>/<any(suspend, reinstate):action>")
def moderate(profile_id: int, action: str):
    """Suspend or reinstate a profile, with the reason."""
    found = db.get_or_404(MentorProfile, profile_id)
    form = ModerationForm()
    change, done = MODERATION[action]
    if form.validate_on_submit():
        carry_out(lambda: change(found, by=current_user, reason=form.message.data or ""), done)
    else:
        flash("The reason is too long; keep it under 4,000 characters.", "error")
    return redirect(url_for("admin.profile", profile_id=found.id))


@bp.post("/profiles/<int:profile_id>/reviewed")
def mark_reviewed(profile_id: int):
    """Clear the 'edited since approval' flag once the edits have been read."""
    found = db.get_or_404(MentorProfile, profile_id)
    form = ModerationForm()
    if form.validate_on_submit():
        carry_out(lambda: services.mark_reviewed(found, by=current_user), "Marked as reviewed.")
    return redirect(url_for("admin.profile", profile_id=found.id))


@bp.get("/moderation")
def moderation():
    """Reports about profiles: open ones first, oldest first; then the most recently resolved.

    (The figures live at /admin/reports, in register.reports.)"""
    show_resolved = request.args.get("show") == "resolved"
    query = select(ProfileReport)
    if show_resolved:
        query = query.where(ProfileReport.resolved_at.is_not(None)).order_by(
            ProfileReport.resolved_at.desc()).limit(PAGE_SIZE)
    else:
        query = query.where(ProfileReport.resolved_at.is_(None)).order_by(ProfileReport.created_at)
    return render("admin/reports.html", reports=db.session.scalars(query).all(),
                  show_resolved=show_resolved, form=ModerationForm(formdata=None))


@bp.post("/moderation/<int:report_id>/resolve")
def resolve_report(report_id: int):
    """Close a report with a note of what was done."""
    found = db.get_or_404(ProfileReport, report_id)
    form = ModerationForm()
    if form.validate_on_submit():
        carry_out(lambda: services.resolve_report(found, by=current_user,
                                                  note=form.message.data or ""),
                  "Report resolved.")
    else:
        # Without this the page would come back unchanged, as if the click had been lost.
        flash("The note is too long; keep it under 4,000 characters.", "error")
    return redirect(url_for("admin.moderation"))


@bp.get("/audit")
def audit_log():
    """Every recorded action, newest first. There is no way to change an entry."""
    # Clamped: a huge page number would overflow the database's OFFSET into a 500.
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    query = select(AuditEntry)
    total = _count(query)
    entries = db.session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return render("admin/audit.html", entries=entries, page=page,
                  pages=max(1, -(-total // PAGE_SIZE)), total=total)


# Import ------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
def import_upload():
    """Upload a CSV of mentors; nothing is written until the preview is confirmed."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            form.file.errors = ["The file is larger than 2 MB. Split it into smaller files."]
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.file.errors = ["Save the file as CSV UTF-8 and upload it again."]
            else:
                batch = ImportBatch(created_by_id=current_user.id, content=text,
                                    filename=(upload.filename or "")[:255],
                                    publish=form.publish.data)
                db.session.add(batch)
                db.session.commit()
                return redirect(url_for("admin.import_preview", batch_id=batch.id))
    return render("admin/import.html", form=form, columns=importing.COLUMNS,
                  status=422 if form.errors else 200)


@bp.get("/import/<int:batch_id>")
def import_preview(batch_id: int):
    """What the upload would do, row by row, or every problem to fix first."""
    batch = db.get_or_404(ImportBatch, batch_id)
    result = importing.plan(batch.content, publish=batch.publish)
    return render("admin/import_preview.html", batch=batch, plan=result)


@bp.post("/import/<int:batch_id>/confirm")
def import_confirm(batch_id: int):
    """Apply a previewed upload. It is checked again: the register may have changed."""
    # Locked, so that of two confirms sent together (a double click) the second waits for
    # the first to commit and then finds the batch applied, instead of importing it again.
    batch = db.session.get(ImportBatch, batch_id, with_for_update=True) or abort(404)
    form = ModerationForm()
    if not form.validate_on_submit():
        abort(400)
    if batch.applied_at is not None:
        flash("This file was already imported.", "info")
        return redirect(url_for("admin.import_preview", batch_id=batch.id))
    result = importing.plan(batch.content, publish=batch.publish)
    if not result.ok:
        flash("The file has problems; nothing was imported.", "error")
        return redirect(url_for("admin.import_preview", batch_id=batch.id))
    outcome = importing.apply(result, publish=batch.publish, by=current_user)
    batch.applied_at = utcnow()
    batch.summary = str(outcome)
    db.session.commit()
    flash(f"Imported: {outcome}", "success")
    return redirect(url_for("admin.profiles"))
