"""Pages every visitor sees: landing, error pages (page or htmx fragment), headers.

Liveness and readiness are in test_health.py.
"""

from __future__ import annotations

from flask.testing import FlaskClient


def test_landing_page_renders_with_vendored_htmx(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Long videos in. Vertical clips out." in html
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower()
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200


def test_security_headers_forbid_inline_script_and_framing(client: FlaskClient) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # local stack: no HSTS


def test_pages_have_no_inline_script(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html
    assert "onclick=" not in html


def test_unknown_page_is_a_friendly_404_page(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "<html" in html


def test_unknown_page_for_htmx_is_a_fragment(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "<html" not in html
