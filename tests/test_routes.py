"""Every POST route refuses a form sent without this visitor's CSRF token.

The routes are read from the app's own URL map when the tests are collected,
so a route added tomorrow is covered without anyone remembering to list it
here; exempting one from CSRF (or adding a form-less POST that skips the
app-wide check) makes its case fail.
"""

from __future__ import annotations

import re
import uuid

import pytest
from werkzeug.routing import Rule
from werkzeug.routing.converters import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    UUIDConverter,
)

from register import create_app
from tests.conftest import TEST_PASSWORD

REFUSED = "This form had expired or came from another site, so it was not sent."


def _post_rules() -> list[Rule]:
    # An app built only to read its URL map: it never touches a database.
    app = create_app({"TESTING": True, "SECRET_KEY": "routes-" + "k" * 40,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rules = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())]
    return sorted(rules, key=lambda rule: rule.rule)


POST_RULES = _post_rules()


def example_path(rule: Rule) -> str:
    """A path this rule matches: 1 for numbers, the first choice for `any(...)`, else text.

    The ids need not exist: the CSRF check comes before any view looks anything up.
    """
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, UUIDConverter):
            values[name] = uuid.UUID(int=1)
        elif isinstance(converter, (IntegerConverter, FloatConverter)):
            values[name] = 1
        else:
            values[name] = "x" * 20
    _, path = rule.build(values, append_unknown=False)
    return path


def token_from(client, path: str = "/auth/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def test_the_map_has_the_form_less_posts_the_issue_names():
    """A guard against the generator finding nothing: the routes it must cover are there."""
    paths = {rule.rule for rule in POST_RULES}
    assert {"/me/profile/submit", "/me/profile/resume", "/me/profile/pause",
            "/requests/<int:request_id>/withdraw", "/auth/login"} <= paths
    assert len(POST_RULES) >= 20


@pytest.fixture
def signed_in(app, client, make_user):
    """An administrator, logged in: nothing but the CSRF check stands in the way."""
    make_user("routes-admin@example.org", admin=True)
    response = client.post("/auth/login", data={
        "email": "routes-admin@example.org", "password": TEST_PASSWORD,
        "csrf_token": token_from(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.mark.parametrize("rule", POST_RULES, ids=lambda rule: rule.endpoint)
def test_a_post_without_this_visitors_csrf_token_is_refused(app, signed_in, rule):
    path = example_path(rule)
    # The shape of a cross-site form: fields, but no token of this visitor's.
    plain = signed_in.post(path, data={"message": "hello", "reason": "other"})
    assert plain.status_code == 400, (path, plain.status_code)
    assert REFUSED in plain.get_data(as_text=True), path
    fragment = signed_in.post(path, data={"message": "hello"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and REFUSED in fragment.get_data(as_text=True), path
    # A token is no use away from the session it was made for.
    foreign = token_from(app.test_client())
    stolen = signed_in.post(path, data={"csrf_token": foreign, "message": "hello"})
    assert stolen.status_code == 400 and REFUSED in stolen.get_data(as_text=True), path
    # The visitor's own token gets past the check (whatever the page then says), so the
    # refusals above were the token's doing.
    own = signed_in.post(path, data={"csrf_token": token_from(signed_in, "/"),
                                     "message": "hello"})
    assert REFUSED not in own.get_data(as_text=True), path
