"""The sign-in pages and the dashboard: what a creator sees, security headers, the outbox."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from tests.support.app import AuthActions, SignInHelper


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def test_every_input_on_the_sign_in_pages_has_a_label(
    client: FlaskClient, auth: AuthActions
) -> None:
    pages = [client.get("/login"), client.get("/login/link/unknown")]
    auth.login()
    pages.append(client.get("/dashboard"))
    for page in pages:
        body = page.get_data(as_text=True)
        for input_id in re.findall(r'<input[^>]*\bid="([^"]+)"', body):
            assert f'<label for="{input_id}">' in body
        visible = [i for i in re.findall(r"<input[^>]*>", body) if 'type="hidden"' not in i]
        assert all(' id="' in tag for tag in visible)


def test_dashboard_shows_name_and_email(client: FlaskClient, auth: AuthActions) -> None:
    auth.login("ada@example.com")
    body = _text(client.get("/dashboard"))
    assert "ada@example.com" in body
    assert "Sign out everywhere" in body and "Save display name" in body


def test_rename_with_htmx_swaps_the_fragment(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    csrf = SignInHelper.csrf(client, "/dashboard")
    headers = {"HX-Request": "true", "X-CSRFToken": csrf}
    response = client.post("/dashboard/name", data={"name": "  Ada   Lovelace "}, headers=headers)
    body = _text(response)
    assert body.lstrip().startswith('<form id="name-form"')
    assert "Your display name is now Ada Lovelace" in body


def test_rename_refuses_empty_and_too_long_names(client: FlaskClient, auth: AuthActions) -> None:
    auth.login("ada@example.com")
    csrf = SignInHelper.csrf(client, "/dashboard")
    headers = {"HX-Request": "true", "X-CSRFToken": csrf}
    empty = _text(client.post("/dashboard/name", data={"name": "   "}, headers=headers))
    assert "Enter a display name" in empty
    long = client.post("/dashboard/name", data={"name": "x" * 61, "csrf_token": csrf})
    assert long.status_code == 400 and "at most 60 characters" in _text(long)
    assert (
        client.post("/dashboard/name", data={"name": "x" * 60, "csrf_token": csrf}).status_code
        == 303
    )
    assert "x" * 60 in _text(client.get("/dashboard"))


def test_security_headers_on_sign_in_pages(client: FlaskClient) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "<script>" not in response.get_data(as_text=True)
    assert '"selfRequestsOnly": true' in response.get_data(as_text=True)


def test_outbox_lists_the_link_on_the_local_stack(
    client: FlaskClient, signin: SignInHelper
) -> None:
    signin.request_link(client, "ada@example.com")
    page = client.get("/dev/outbox")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "ada@example.com" in body
    assert re.search(r'<a href="http://localhost/login/link/[^"]+"', body)


def test_sent_page_points_to_the_outbox_locally(client: FlaskClient, signin: SignInHelper) -> None:
    response = signin.request_link(client, "ada@example.com")
    assert "dev outbox" in _text(client.get(response.headers["Location"]))


def test_sign_out_lands_on_sign_in_with_a_message(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    csrf = SignInHelper.csrf(client, "/dashboard")
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=True)
    assert "You're signed out" in _text(response)
    assert "Email me a sign-in link" in _text(response)
