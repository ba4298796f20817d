"""CSRF tokens live as long as the session: a long upload keeps getting part URLs, and a refused
token says the page is out of date, while a real sign-out sends the request to sign in."""

from __future__ import annotations

import html
import time
from types import SimpleNamespace

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, SignInHelper, make_app
from tests.support.assets import csrf_headers, json_of

MIB = 1024**2
PART = 5 * MIB
SIZE = 2 * PART
TWO_HOURS_S = 2 * 3600


@pytest.fixture
def app(aws: None, redis: object) -> Flask:
    return make_app(redis, MULTIPART_THRESHOLD_BYTES=MIB, MULTIPART_PART_BYTES=PART)


def start_upload(client: FlaskClient) -> tuple[str, str]:
    response = client.post(
        "/assets/uploads",
        json={"name": "stream.mp4", "size": SIZE, "type": "video/mp4"},
        headers=csrf_headers(client),
    )
    plan = json_of(response)
    return str(plan["asset_id"]), str(plan["upload_id"])


def ask_for_part_urls(client: FlaskClient, aid: str, upload_id: str, token: str) -> object:
    return client.post(
        f"/assets/{aid}/parts",
        json={"upload_id": upload_id, "parts": [2]},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def two_hours_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Move itsdangerous's clock (it dates and checks CSRF tokens) two hours ahead."""
    later = SimpleNamespace(time=lambda: time.time() + TWO_HOURS_S)
    monkeypatch.setattr(itsdangerous.timed, "time", later)


def test_a_token_from_two_hours_ago_still_gets_part_urls(
    client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.login()
    aid, upload_id = start_upload(client)
    token = csrf_headers(client)["X-CSRFToken"]
    two_hours_later(monkeypatch)
    response = ask_for_part_urls(client, aid, upload_id, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert set(json_of(response)["urls"]) == {"2"}


def test_a_refused_token_says_the_page_is_out_of_date(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    aid, upload_id = start_upload(client)
    response = ask_for_part_urls(client, aid, upload_id, "a-token-from-some-other-page")
    assert response.status_code == 400
    error = json_of(response)["error"]
    assert "out of date" in error and "Reload the page" in error
    assert "signed out" not in error.lower()

    fragment = client.post("/dashboard/name", data={"name": "Ada"}, headers={"HX-Request": "1"})
    assert fragment.status_code == 400
    assert "This page is out of date" in fragment.get_data(as_text=True)


def test_after_signing_out_an_old_page_is_sent_to_sign_in(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    aid, upload_id = start_upload(client)
    token = csrf_headers(client)["X-CSRFToken"]
    signed_out = client.post("/logout", data={"csrf_token": SignInHelper.csrf(client, "/upload")})
    assert signed_out.status_code in (302, 303)

    response = ask_for_part_urls(client, aid, upload_id, token)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_sign_out_after_the_session_timed_out_signs_out(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """The expired session takes its CSRF token with it; "Sign out" still ends in signed out."""
    auth.login()
    token = SignInHelper.csrf(client, "/dashboard")  # the page's "Sign out" button
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - idle - 5

    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/login")
    landed = html.unescape(client.get("/login").get_data(as_text=True))
    assert "You're signed out." in landed
    assert "out of date" not in landed
    assert client.get("/dashboard").status_code == 302


def test_sign_out_of_a_live_session_still_needs_its_token(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    response = client.post("/logout", data={"csrf_token": "a-token-from-some-other-site"})
    assert response.status_code == 400
    assert "This page is out of date" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 200
