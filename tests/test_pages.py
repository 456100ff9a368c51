"""The shared page furniture: layout, security headers, error pages, htmx fragments."""

import pytest


def test_landing_page_explains_the_register_and_offers_sign_up(browser):
    page = browser.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Find a mentor who fits" in html
    assert 'href="/auth/register"' in html
    assert 'class="skip-link" href="#main"' in html
    assert 'role="status" aria-live="polite"' in html


def test_every_response_carries_the_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_hsts_is_sent_over_https(client):
    response = client.get("/", base_url="https://register.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_use_no_inline_scripts(client):
    html = client.get("/auth/register").get_data(as_text=True)
    assert "<script>" not in html and "onclick" not in html and "javascript:" not in html
    assert '<script src="/static/vendor/htmx.min.js"' in html


def test_htmx_is_served_locally(client):
    with client.get("/static/vendor/htmx.min.js") as response:
        assert response.status_code == 200
        assert b"htmx" in response.data[:2000]


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("get", "/no-such-page", 404, "Page not found"),
        ("put", "/auth/login", 405, "not available here"),
        ("post", "/auth/login", 400, "form had expired"),
    ],
)
def test_error_pages_say_what_to_do(client, method, path, status, words):
    response = getattr(client, method)(path)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert words in html
    assert "Go to the home page" in html


def test_error_for_htmx_is_a_fragment_aimed_at_the_message_area(client):
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Page not found" in html
    assert response.headers["HX-Retarget"] == "#messages"
    assert "HX-Request" in response.headers["Vary"]


def test_too_large_request_gets_413_page(client):
    response = client.post("/auth/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
