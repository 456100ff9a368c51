"""Every route the limiter guards answers 429 once its limit is spent, and only then.

The limited routes are read from the limiter itself when the tests are
collected, so a limit added tomorrow is exercised without being listed here.
The routes the register promises to limit (every page that sends email on a
visitor's say-so, and reports) are written out below as well: removing one
of their limits makes `test_the_promised_routes_are_limited` fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask_limiter.util import get_qualified_name
from werkzeug.routing import Rule

from register import create_app
from register.extensions import limiter
from tests.conftest import Browser
from tests.test_routes import example_path

# What the register promises to limit, by endpoint: written here, not read from the code.
PROMISED = {
    "auth.register",             # sign-up sends a verification email
    "auth.forgot_password",      # sends a reset link
    "auth.resend_verification",  # sends a verification link again
    "auth.change_email",         # sends a confirmation to a new address
    "mentors.report",            # notifies the coordinators
}


@dataclass(frozen=True)
class Limited:
    """One limited route: where it is, which method counts, and its tightest allowance."""

    endpoint: str
    rule: Rule
    method: str
    allowance: int
    window_seconds: int

    def __str__(self) -> str:
        return f"{self.endpoint}-{self.method}"


def limited_routes() -> list[Limited]:
    """Every (route, method) the limiter guards, from the limiter's own records."""
    app = create_app({"TESTING": True, "SECRET_KEY": "limits-" + "k" * 40,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        tightest: dict[str, tuple[int, int]] = {}
        for runtime in limiter.limit_manager.decorated_limits(get_qualified_name(view)):
            methods = runtime.methods or sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            for method in methods:
                allowance = (runtime.limit.amount, runtime.limit.get_expiry())
                tightest[method.upper()] = min(tightest.get(method.upper(), allowance),
                                               allowance)
        for method, (amount, window) in sorted(tightest.items()):
            found.append(Limited(rule.endpoint, rule, method, amount, window))
    return found


LIMITED = limited_routes()


def test_the_promised_routes_are_limited():
    assert {item.endpoint for item in LIMITED if item.method == "POST"} >= PROMISED


@pytest.fixture
def app_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    app_config["RATELIMIT_STORAGE_URI"] = "memory://"
    return app_config


@pytest.fixture
def fresh_limits(app):
    """The limiter's counts live beside the app; no test inherits another's."""
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


def visitor(app, make_user, email: str, address: str) -> Browser:
    """A verified person, logged in, browsing from `address`."""
    make_user(email)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    person = Browser(client)
    assert person.log_in(email).status_code == 302
    return person


def send(person: Browser, item: Limited, path: str):
    if item.method == "GET":
        return person.get(path)
    # A real token, so the refusal can only be the limiter's.
    return person.post(path, {"message": "Out of date and misleading, please check it.",
                              "reason": "Out of date and misleading, please check it.",
                              "email": "someone@example.org"})


@pytest.mark.parametrize("item", LIMITED, ids=str)
def test_a_limited_route_refuses_once_its_allowance_is_spent(app, make_user, fresh_limits,
                                                             item):
    path = example_path(item.rule)
    first = visitor(app, make_user, "first@example.org", "198.51.100.7")
    statuses = [send(first, item, path).status_code for _ in range(item.allowance)]
    assert 429 not in statuses, (path, statuses)

    refused = send(first, item, path)
    assert refused.status_code == 429, (path, refused.status_code)
    page = refused.get_data(as_text=True)
    assert re.search(r"too often|Too many attempts", page), page[:300]
    assert 0 < int(refused.headers["Retry-After"]) <= item.window_seconds

    # Someone else, from elsewhere, is not held back by the first visitor's attempts.
    other = visitor(app, make_user, "other@example.org", "203.0.113.50")
    assert send(other, item, path).status_code != 429, path
