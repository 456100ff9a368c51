"""The search page: the whole page, or for htmx only the results."""

from __future__ import annotations

from dataclasses import replace

from flask import current_app, redirect, request, url_for

from register.mentors.services import result_details
from register.search import bp, services, stats
from register.web import is_fragment_request, render


@bp.get("/mentors")
def results():
    """Search mentors. Active search asks for the results region only; the URL follows."""
    params = services.SearchParams.from_args(request.args)
    canonical = url_for("search.results", **params.to_args())
    if not is_fragment_request() and len(request.args.getlist("accepting")) > 1:
        # The form sends a hidden 0 before the box's 1: one address per search, for
        # bookmarks and history.
        return redirect(canonical)
    found = services.search(params)
    stats.note(params, found.total)  # in memory; written after the response, in batches
    # Nothing matched with filters on: would the words alone find someone? Only then is
    # removing the filters worth offering.
    broader_total = None
    if found.total == 0 and (params.filters or params.in_training or params.accepting):
        broader = replace(params, filters={}, in_training=False, accepting=False, page=1)
        broader_total = services.search(broader).total
    response = render("search/results.html", "search/_results.html", results=found,
                      params=params, groups=services.GROUPS, broader_total=broader_total,
                      profiles=_details(found.hits))
    app = current_app._get_current_object()
    response.call_on_close(lambda: stats.flush_after_response(app))
    if is_fragment_request():
        # htmx would push the form's fields as they are (accepting=0&accepting=1).
        response.headers["HX-Push-Url"] = canonical
    return response


def _details(hits) -> dict:
    """Each result's extra details, by profile id: from the index, which keeps them, or
    for an index built before it did, from the database."""
    details = {hit.id: hit.details for hit in hits if hit.details is not None}
    missing = [hit.id for hit in hits if hit.details is None]
    if missing:
        details.update(_details_if_reachable(missing))
    return details


def _details_if_reachable(ids: list[int]) -> dict:
    """The profiles' extra details for the results, or none while the database is away:
    the index alone still answers the search (names, headlines, availability)."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from register.extensions import db
    from register.web import log_outage

    try:
        return result_details(ids)
    except (OperationalError, PoolTimeout) as error:
        db.session.rollback()
        log_outage(error)
        return {}
