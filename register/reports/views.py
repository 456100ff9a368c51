"""The figures page and its CSV downloads. Coordinators only."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from register.database import utcnow
from register.mentors import vocabulary as vocab
from register.reports import bp, services
from register.web import render


@bp.before_request
def _coordinators_only():
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)


@bp.get("/admin/reports")
def figures():
    """Requests, mentorships, evaluations, supply and demand for a period and a sector."""
    now = utcnow()
    period, problems = services.period_from(request.args, now.date())
    return render("reports/figures.html", figures=services.figures(period, now),
                  period=period, problems=problems, sectors=vocab.SECTORS,
                  describe=services.describe_duration,
                  status=422 if problems else 200)


@bp.get("/admin/reports/<key>.csv")
def download(key: str):
    """One table of the page as CSV, formula-safe, for the same period and sector."""
    now = utcnow()
    period, _ = services.period_from(request.args, now.date())
    table = services.figures(period, now).table(key)
    if table is None:
        abort(404)
    name = f"{key}-{period.start}-to-{period.end}{'-' + period.sector if period.sector else ''}"
    return services.as_csv(table), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}.csv"'}
