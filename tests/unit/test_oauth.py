"""OAuth through the real authlib client against a fake provider on 127.0.0.1."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeProvider
from truss.data.creators import find_creator_by_email, find_creator_by_identity
from truss.extensions import get_table


@pytest.fixture(scope="module")
def _provider_server() -> Iterator[FakeProvider]:
    fake = FakeProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def provider(_provider_server: FakeProvider) -> FakeProvider:
    """The module's fake identity provider, reset before each test."""
    _provider_server.reset()
    return _provider_server


@pytest.fixture
def oauth_app(aws: None, redis: Any, provider: FakeProvider) -> Flask:
    return make_app(
        redis,
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_METADATA_URL=provider.metadata_url,
        GITHUB_CLIENT_ID=CLIENT_ID,
        GITHUB_CLIENT_SECRET=CLIENT_SECRET,
        GITHUB_AUTHORIZE_URL=provider.url + "/login/oauth/authorize",
        GITHUB_TOKEN_URL=provider.url + "/login/oauth/access_token",
        GITHUB_API_BASE=provider.url + "/api/",
    )


@pytest.fixture
def oclient(oauth_app: Flask) -> FlaskClient:
    return oauth_app.test_client()


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(client: FlaskClient, provider_name: str = "google", next_path: str = "") -> str:
    """Press "Continue with ..." and let the fake provider consent: the callback URL."""
    url = f"/auth/{provider_name}/start" + (f"?next={next_path}" if next_path else "")
    response = client.get(url)
    assert response.status_code == 302
    consent = requests.get(response.headers["Location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    return consent.headers["Location"]


def callback(client: FlaskClient, url: str) -> Any:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def _flash(client: FlaskClient, response: Any) -> str:
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/login"
    return html.unescape(client.get("/login").get_data(as_text=True))


def test_login_page_shows_only_enabled_providers(client: FlaskClient, oclient: FlaskClient) -> None:
    assert "Continue with" not in client.get("/login").get_data(as_text=True)
    assert client.get("/auth/google/start").status_code == 404
    page = oclient.get("/login").get_data(as_text=True)
    assert "Continue with Google" in page and "Continue with GitHub" in page


def test_google_authorize_url_has_state_nonce_and_pkce_s256(
    oclient: FlaskClient, provider: FakeProvider
) -> None:
    response = oclient.get("/auth/google/start")
    params = _query(response.headers["Location"])
    assert response.headers["Location"].startswith(provider.url + "/authorize?")
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) >= 43
    assert params["state"] and params["nonce"]
    assert params["scope"] == "openid email profile"
    assert params["redirect_uri"] == "http://localhost/auth/google/callback"


def test_google_happy_path_signs_in_and_lands_on_next(
    oauth_app: Flask, oclient: FlaskClient
) -> None:
    response = callback(oclient, start(oclient, next_path="/dashboard?from=google"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard?from=google"
    page = oclient.get("/dashboard").get_data(as_text=True)
    assert "ada@example.com" in page and "Ada Lovelace" in page
    with oauth_app.test_request_context():
        assert find_creator_by_identity(get_table(), "google", "google-sub-1") is not None


def test_wrong_state_goes_back_to_sign_in_with_a_message(oclient: FlaskClient) -> None:
    url = start(oclient)
    forged = url.replace("state=", "state=forged")
    page = _flash(oclient, callback(oclient, forged))
    assert "couldn't sign you in with Google" in page
    assert oclient.get("/dashboard").status_code == 302


def test_callback_with_a_state_from_another_browser_is_refused(
    oauth_app: Flask, oclient: FlaskClient
) -> None:
    url = start(oclient)
    attacker = oauth_app.test_client()
    page = _flash(attacker, callback(attacker, url))
    assert "couldn't sign you in" in page
    assert attacker.get("/dashboard").status_code == 302


def test_wrong_nonce_is_refused(oclient: FlaskClient, provider: FakeProvider) -> None:
    url = start(oclient)
    provider.claims["nonce"] = "someone-elses-nonce"
    page = _flash(oclient, callback(oclient, url))
    assert "couldn't sign you in with Google" in page
    assert oclient.get("/dashboard").status_code == 302


def test_expired_id_token_is_refused(oclient: FlaskClient, provider: FakeProvider) -> None:
    url = start(oclient)
    provider.claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    page = _flash(oclient, callback(oclient, url))
    assert "couldn't sign you in with Google" in page
    assert oclient.get("/dashboard").status_code == 302


def test_denied_consent_says_so(oclient: FlaskClient) -> None:
    state = _query(oclient.get("/auth/google/start").headers["Location"])["state"]
    response = oclient.get(f"/auth/google/callback?error=access_denied&state={state}")
    assert "You cancelled signing in with Google" in _flash(oclient, response)


def test_provider_error_at_token_endpoint_is_not_a_500(
    oclient: FlaskClient, provider: FakeProvider
) -> None:
    url = start(oclient)
    provider.token_status = 503
    assert "couldn't sign you in" in _flash(oclient, callback(oclient, url))


def test_provider_down_at_start_is_not_a_500(aws: None, redis: Any) -> None:
    app = make_app(
        redis,
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_METADATA_URL="http://127.0.0.1:9/.well-known/openid-configuration",
    )
    client = app.test_client()
    assert "couldn't sign you in" in _flash(client, client.get("/auth/google/start"))


def test_verified_email_links_to_the_existing_creator(
    oauth_app: Flask, oclient: FlaskClient
) -> None:
    existing = AuthActions(oauth_app, oauth_app.test_client()).login("ada@example.com")
    callback(oclient, start(oclient))
    with oauth_app.test_request_context():
        linked = find_creator_by_identity(get_table(), "google", "google-sub-1")
    assert linked is not None and linked.id == existing.id


def test_unverified_email_never_links_to_an_existing_creator(
    oauth_app: Flask, oclient: FlaskClient, provider: FakeProvider
) -> None:
    AuthActions(oauth_app, oauth_app.test_client()).login("ada@example.com")
    url = start(oclient)
    provider.claims["email_verified"] = False
    page = _flash(oclient, callback(oclient, url))
    assert "didn't give us a verified email" in page and "email link" in page
    assert oclient.get("/dashboard").status_code == 302
    with oauth_app.test_request_context():
        assert find_creator_by_identity(get_table(), "google", "google-sub-1") is None


def test_unverified_unknown_email_creates_nothing(
    oauth_app: Flask, oclient: FlaskClient, provider: FakeProvider
) -> None:
    url = start(oclient)
    provider.claims.update(email="fresh@example.com", email_verified=False)
    assert "didn't give us a verified email" in _flash(oclient, callback(oclient, url))
    AuthActions(oauth_app, oauth_app.test_client()).login("other@example.com")
    with oauth_app.test_request_context():
        assert find_creator_by_identity(get_table(), "google", "google-sub-1") is None


def _refusal(oclient: FlaskClient, provider: FakeProvider, email: str) -> str:
    url = start(oclient)
    provider.claims.update(email=email, email_verified=False)
    page = _flash(oclient, callback(oclient, url))
    start_at = page.index("didn't give us a verified email")
    return page[start_at : page.index("<", start_at)]


def test_an_unverified_email_gets_the_same_answer_whether_or_not_it_has_an_account(
    oauth_app: Flask, oclient: FlaskClient, provider: FakeProvider
) -> None:
    """The answer must not tell a stranger which addresses have a Truss account."""
    AuthActions(oauth_app, oauth_app.test_client()).login("ada@example.com")
    known = _refusal(oclient, provider, "ada@example.com")
    unknown = _refusal(oclient, provider, "nobody@example.com")
    assert known == unknown
    assert "email link" in known


def test_github_happy_path_with_pkce(oclient: FlaskClient, provider: FakeProvider) -> None:
    url = start(oclient, "github")
    assert provider.authorize_requests[-1]["code_challenge_method"] == "S256"
    response = callback(oclient, url)
    assert response.headers["Location"] == "/dashboard"
    page = oclient.get("/dashboard").get_data(as_text=True)
    assert "octo@example.com" in page


def test_github_without_a_verified_email_is_refused(
    oclient: FlaskClient, provider: FakeProvider
) -> None:
    provider.github_emails = [{"email": "octo@example.com", "primary": True, "verified": False}]
    page = _flash(oclient, callback(oclient, start(oclient, "github")))
    assert "GitHub didn't give us a verified email" in page


def test_wrong_state_is_not_a_500_outside_testing_mode(
    aws: None, redis: Any, provider: FakeProvider
) -> None:
    app = make_app(
        redis,
        TESTING=False,
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_METADATA_URL=provider.metadata_url,
    )
    client = app.test_client()
    url = start(client).replace("state=", "state=forged")
    assert "couldn't sign you in" in _flash(client, callback(client, url))


def test_github_links_only_by_the_primary_verified_email(
    oauth_app: Flask, oclient: FlaskClient, provider: FakeProvider
) -> None:
    """A verified secondary address (say, an old work email) must not open that account."""
    victim = AuthActions(oauth_app, oauth_app.test_client()).login("old@example.com")
    provider.github_emails = [
        {"email": "old@example.com", "primary": False, "verified": True},
        {"email": "octo@example.com", "primary": True, "verified": False},
    ]
    page = _flash(oclient, callback(oclient, start(oclient, "github")))
    assert "didn't give us a verified email" in page
    assert oclient.get("/dashboard").status_code == 302
    with oauth_app.test_request_context():
        assert find_creator_by_identity(get_table(), "github", "4242") is None
        assert find_creator_by_email(get_table(), "old@example.com").id == victim.id  # type: ignore[union-attr]


def test_github_primary_verified_email_links_the_existing_creator(
    oauth_app: Flask, oclient: FlaskClient, provider: FakeProvider
) -> None:
    existing = AuthActions(oauth_app, oauth_app.test_client()).login("octo@example.com")
    provider.github_emails = [
        {"email": "other@example.com", "primary": False, "verified": True},
        {"email": "octo@example.com", "primary": True, "verified": True},
    ]
    assert callback(oclient, start(oclient, "github")).headers["Location"] == "/dashboard"
    with oauth_app.test_request_context():
        linked = find_creator_by_identity(get_table(), "github", "4242")
    assert linked is not None and linked.id == existing.id
    assert "octo@example.com" in oclient.get("/dashboard").get_data(as_text=True)


def test_google_email_without_email_verified_claim_never_links(
    oauth_app: Flask, oclient: FlaskClient, provider: FakeProvider
) -> None:
    AuthActions(oauth_app, oauth_app.test_client()).login("ada@example.com")
    url = start(oclient)
    provider.claims["email_verified"] = "true"  # not the boolean an OIDC provider must send
    assert "didn't give us a verified email" in _flash(oclient, callback(oclient, url))
    with oauth_app.test_request_context():
        assert find_creator_by_identity(get_table(), "google", "google-sub-1") is None
