"""The search page: the whole page, or for htmx only the results."""

from __future__ import annotations

from flask import request

from register.search import bp, services
from register.web import render


@bp.get("/mentors")
def results():
    """Search mentors. Active search asks for the results region only; the URL follows."""
    params = services.SearchParams.from_args(request.args)
    found = services.search(params)
    return render("search/results.html", "search/_results.html", results=found,
                  params=params, groups=services.GROUPS)
