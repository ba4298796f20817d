"""Every route needs a signed-in creator unless it is on the explicit public list below.

The test walks app.url_map, so a new route is covered the moment it is registered: add it to
PUBLIC only if strangers really may see it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, PathConverter, Rule, UUIDConverter

from tests.support.app import AuthActions, SignInHelper
from truss.auth.session import safe_next

PUBLIC = {
    "static",
    "main.landing",
    "main.healthz",  # liveness: "alive", nothing else
    "main.readyz",  # readiness: ok or not per backend, no internals
    "auth.login",
    "auth.request_link",
    "auth.link_sent",
    "auth.confirm_link",
    "auth.spend_link",
    "auth.oauth_start",
    "auth.oauth_callback",
    "auth.logout",  # signing out with an already-dead session still lands on the sign-in page
    "dev.outbox",  # 404 outside the local stack
    "share.page",  # /s/<token>: one shared clip, nothing else of its creator
    "share.poster",  # /s/<token>/poster.jpg (og:image)
    "share.video",  # /s/<token>/clip.mp4 (og:video)
    "deletion.progress",  # after deleting: signed out; only this browser's signed ticket, else 404
    "deletion.status",  # its poll, the same rule
}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _sample(rule: Rule, name: str) -> Any:
    converter = rule._converters[name]
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, UUIDConverter):
        return uuid.uuid4()
    if isinstance(converter, PathConverter):
        return "a/b"
    return "x1"


def _private_requests(app: Flask) -> list[tuple[str, str, str]]:
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        values = {name: _sample(rule, name) for name in rule.arguments}
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append(
                (rule.endpoint, method, adapter.build(rule.endpoint, values, method=method))
            )
    return found


def test_the_walk_finds_the_private_routes(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in _private_requests(app)}
    assert {"auth.dashboard", "auth.rename", "auth.logout_everywhere"} <= endpoints


def test_public_list_names_only_real_routes(app: Flask) -> None:
    assert set(app.view_functions) >= PUBLIC - {"static"}


def test_every_private_route_sends_anonymous_browsers_to_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    csrf = SignInHelper.csrf(client)
    for endpoint, method, path in _private_requests(app):
        response = client.open(
            path, method=method, data={"csrf_token": csrf}, headers={"X-CSRFToken": csrf}
        )
        where = f"{method} {path} ({endpoint})"
        assert response.status_code == 302, where
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", where
        assert parse_qs(location.query)["next"] == [path], where


def test_every_private_route_gives_htmx_a_client_redirect(app: Flask, client: FlaskClient) -> None:
    csrf = SignInHelper.csrf(client)
    for endpoint, method, path in _private_requests(app):
        response = client.open(
            path, method=method, headers={"HX-Request": "true", "X-CSRFToken": csrf}
        )
        where = f"{method} {path} ({endpoint})"
        assert response.status_code == 200, where
        assert response.headers["HX-Redirect"].startswith("/login?next="), where


def test_sign_in_then_returns_to_the_page_asked_for(
    client: FlaskClient, signin: SignInHelper
) -> None:
    login = client.get("/dashboard").headers["Location"]
    page = client.get(login).get_data(as_text=True)
    assert 'name="next" value="/dashboard"' in page
    response = signin.request_link(client, "ada@example.com", next_path="/dashboard")
    assert response.status_code == 303
    path = signin.last_link_path()
    response = client.post(path, data={"csrf_token": signin.csrf(client, path)})
    assert response.headers["Location"] == "/dashboard"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "http://evil.com/dashboard",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "",
        None,
    ],
)
def test_next_accepts_only_local_paths(target: str | None) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/dashboard", "/clips?page=2", "/a/b#c"])
def test_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


def test_login_page_drops_an_outside_next(client: FlaskClient) -> None:
    page = client.get("/login?next=//evil.com").get_data(as_text=True)
    assert "evil.com" not in page


def test_signed_in_creator_visiting_login_goes_on(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    assert client.get("/login?next=https://evil.com").headers["Location"] == "/dashboard"


def test_dev_outbox_is_404_in_production(aws: None, redis: Any) -> None:
    from tests.support.app import make_app

    app = make_app(redis, TRUSS_ENV="production")
    assert app.test_client().get("/dev/outbox").status_code == 404
