"""Sessions: a new one on every sign-in, and sign-out (here or everywhere) really ends them."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, SignInHelper


def _sid(client: FlaskClient) -> Any:
    with client.session_transaction() as sess:
        return sess.get("sid")


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/dashboard").status_code == 200


def test_sign_in_issues_a_new_session_id(client: FlaskClient, signin: SignInHelper) -> None:
    signin.request_link(client, "ada@example.com")  # an anonymous session exists already
    before = _cookie(client)
    signin.sign_in_by_email(client, "ada@example.com")
    first = _sid(client)
    assert first and _cookie(client) != before
    old_cookie = _cookie(client)

    signin.sign_in_by_email(client, "ada@example.com")
    assert _sid(client) not in (None, first)
    replay = client.application.test_client()
    replay.set_cookie("session", old_cookie)
    assert not _signed_in(replay)  # signing in again retires the previous session


def test_session_cookie_flags(client: FlaskClient, signin: SignInHelper) -> None:
    response = signin.sign_in_by_email(client, "ada@example.com")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # the local stack is plain http


def test_cookies_are_secure_in_production_config() -> None:
    from truss.config import from_environ

    config = from_environ(
        {"TRUSS_ENV": "production", "SECRET_KEY": "x" * 40, "TRUSS_PUBLIC_URL": "https://t.example"}
    )
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_cookie_copied_before_sign_out_is_refused_after_it(
    app: Flask, client: FlaskClient, signin: SignInHelper
) -> None:
    signin.sign_in_by_email(client, "ada@example.com")
    copied = _cookie(client)
    response = client.post("/logout", data={"csrf_token": signin.csrf(client, "/dashboard")})
    assert response.status_code == 303
    assert not _signed_in(client)

    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_out_everywhere_ends_a_second_browsers_session(
    app: Flask, signin: SignInHelper
) -> None:
    laptop, phone = app.test_client(), app.test_client()
    signin.sign_in_by_email(laptop, "ada@example.com")
    signin.sign_in_by_email(phone, "ada@example.com")
    assert _signed_in(laptop) and _signed_in(phone)

    csrf = signin.csrf(laptop, "/dashboard")
    response = laptop.post("/logout/everywhere", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    signin.sign_in_by_email(phone, "ada@example.com")
    assert _signed_in(phone)  # signing in again afterwards works


def test_idle_session_expires(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    assert _signed_in(client)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - idle - 5
    assert not _signed_in(client)


def test_activity_keeps_a_session_alive(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - idle + 120
    assert _signed_in(client)  # used just in time: "seen" moves forward
    with client.session_transaction() as sess:
        assert sess["seen"] >= int(time.time()) - 5


def test_absolute_lifetime_ends_even_an_active_session(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    max_age = app.config["SESSION_MAX_DAYS"] * 86400
    with client.session_transaction() as sess:
        sess["iat"] = int(time.time()) - max_age - 5
        sess["seen"] = int(time.time())
    assert not _signed_in(client)


def test_tampered_cookie_is_ignored(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    forged = app.test_client()
    forged.set_cookie("session", _cookie(client)[:-3] + "abc")
    assert not _signed_in(forged)


def test_private_pages_are_not_cached(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    response = client.get("/dashboard")
    assert response.headers["Cache-Control"] == "no-store"
