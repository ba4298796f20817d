"""CSRF: a state-changing request without the token is refused; with it, accepted."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, SignInHelper


def _name(client: FlaskClient) -> str:
    return client.get("/dashboard").get_data(as_text=True)


def test_post_without_token_is_refused(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    response = client.post("/dashboard/name", data={"name": "Mallory"})
    assert response.status_code == 400
    assert "This page is out of date" in response.get_data(as_text=True)
    assert "Mallory" not in _name(client)


def test_post_with_token_in_the_form_is_accepted(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    csrf = SignInHelper.csrf(client, "/dashboard")
    response = client.post("/dashboard/name", data={"name": "Ada", "csrf_token": csrf})
    assert response.status_code == 303
    assert "Ada" in _name(client)


def test_htmx_sends_the_token_in_a_header(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    csrf = SignInHelper.csrf(client, "/dashboard")
    headers = {"HX-Request": "true", "X-CSRFToken": csrf}
    response = client.post("/dashboard/name", data={"name": "Ada H"}, headers=headers)
    assert response.status_code == 200
    assert "Ada H" in _name(client)
    body = client.get("/dashboard").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in body  # base.html hands htmx the token


def test_token_from_another_session_is_refused(app: Flask, auth: AuthActions) -> None:
    victim, attacker = app.test_client(), app.test_client()
    auth.login(client=victim)
    stolen = SignInHelper.csrf(attacker)
    response = victim.post("/logout/everywhere", data={"csrf_token": stolen})
    assert response.status_code == 400
    assert victim.get("/dashboard").status_code == 200


def test_sign_out_and_link_requests_need_the_token(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200
    assert client.post("/login", data={"email": "a@example.com"}).status_code == 400
