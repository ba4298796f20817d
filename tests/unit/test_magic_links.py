"""Magic links: hashed at rest, confirm page that spends nothing, spent exactly once."""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import SignInHelper, make_app
from truss.auth import magic
from truss.data import keys
from truss.extensions import get_table
from truss.mail import read_outbox


def _all_items(app: Flask) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(app.config["TRUSS_TABLE"])
    return table.scan()["Items"]


def _token(path: str) -> str:
    return path.rsplit("/", 1)[1]


def test_request_sends_a_link_and_stores_only_its_hash(
    app: Flask, client: FlaskClient, signin: SignInHelper
) -> None:
    response = signin.request_link(client, "Ada@Example.com ")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your email" in page and "ada@example.com" in page

    token = _token(signin.last_link_path())
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    items = _all_items(app)
    dumped = repr(items)
    assert token not in dumped
    [link] = [item for item in items if item["type"] == "magic_link"]
    assert link["PK"] == keys.magic_link(token)["PK"]
    assert link["email"] == "ada@example.com"
    assert int(link["expires_at"]) - time.time() <= magic.LINK_LIFETIME_S


def test_get_of_the_link_shows_continue_and_creates_no_session(
    client: FlaskClient, signin: SignInHelper
) -> None:
    signin.request_link(client, "ada@example.com")
    path = signin.last_link_path()
    for _ in range(2):  # a mail scanner, then the person: the link still works
        response = client.get(path)
        assert response.status_code == 200
        assert "Continue signing in" in response.get_data(as_text=True)
        assert response.headers["Referrer-Policy"] == "strict-origin"
        assert client.get("/dashboard").status_code == 302
    response = client.post(path, data={"csrf_token": signin.csrf(client, path)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "ada@example.com" in dashboard.get_data(as_text=True)


def test_first_sign_in_creates_the_creator_with_profile_and_email_item(
    app: Flask, client: FlaskClient, signin: SignInHelper
) -> None:
    signin.sign_in_by_email(client, "new@example.com")
    items = _all_items(app)
    assert {item["type"] for item in items} >= {"creator", "email"}
    assert not [item for item in items if item["type"] == "magic_link"]


def test_a_link_works_once(client: FlaskClient, signin: SignInHelper) -> None:
    assert signin.sign_in_by_email(client, "ada@example.com").status_code == 303
    path = signin.last_link_path()
    other = client.application.test_client()
    response = other.post(path, data={"csrf_token": signin.csrf(other, "/login")})
    assert response.status_code == 410
    assert "Send me a new sign-in link" in response.get_data(as_text=True)
    assert other.get("/dashboard").status_code == 302


def test_two_tabs_racing_with_one_token_give_exactly_one_session(
    app: Flask, signin: SignInHelper
) -> None:
    first, second = app.test_client(), app.test_client()
    signin.request_link(first, "race@example.com")
    path = signin.last_link_path()
    tokens = [signin.csrf(c, path) for c in (first, second)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def spend(c: FlaskClient, csrf: str) -> None:
        barrier.wait()
        statuses.append(c.post(path, data={"csrf_token": csrf}).status_code)

    threads = [
        threading.Thread(target=spend, args=pair)
        for pair in zip((first, second), tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 410]
    signed_in = [c.get("/dashboard").status_code == 200 for c in (first, second)]
    assert signed_in.count(True) == 1


def test_expired_link_still_in_the_table_is_refused(
    app: Flask, client: FlaskClient, signin: SignInHelper
) -> None:
    with app.test_request_context():
        token = magic.store_link(get_table(), "late@example.com", None, now=time.time() - 16 * 60)
    path = f"/login/link/{token}"
    page = client.get(path)
    assert page.status_code == 410
    assert "doesn't work any more" in page.get_data(as_text=True)
    response = client.post(path, data={"csrf_token": signin.csrf(client)})
    assert response.status_code == 410
    assert client.get("/dashboard").status_code == 302


def test_unknown_token_gets_the_send_a_new_link_page(client: FlaskClient) -> None:
    response = client.get("/login/link/not-a-real-token")
    assert response.status_code == 410
    body = response.get_data(as_text=True)
    assert '<label for="email">Email address</label>' in body
    assert "Send me a new sign-in link" in body


def _normalised(response: Any, email: str) -> tuple[int, str, str]:
    body = response.get_data(as_text=True).replace(email, "EMAIL")
    body = re.sub(r'value="[^"]+"', 'value="X"', body)
    body = re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": "X"', body)
    return response.status_code, response.headers.get("Location", ""), body


def test_known_and_unknown_emails_get_identical_answers(
    app: Flask, signin: SignInHelper, auth: Any
) -> None:
    auth.login("known@example.com")
    answers = []
    for email in ("known@example.com", "nobody@example.com"):
        c = app.test_client()
        posted = signin.request_link(c, email)
        followed = c.get(posted.headers["Location"])
        answers.append((_normalised(posted, email), _normalised(followed, email)))
    assert answers[0] == answers[1]
    recipients = [mail.to for mail in read_outbox(signin._redis)]
    assert sorted(recipients) == ["known@example.com", "nobody@example.com"]


def test_invalid_email_says_what_to_fix(client: FlaskClient, signin: SignInHelper) -> None:
    response = signin.request_link(client, "not-an-email")
    assert response.status_code == 400
    assert "doesn't look like an email address" in html.unescape(response.get_data(as_text=True))


def test_next_is_kept_through_the_link_and_only_if_local(
    client: FlaskClient, signin: SignInHelper
) -> None:
    signin.request_link(client, "ada@example.com", next_path="https://evil.com/")
    path = signin.last_link_path()
    response = client.post(path, data={"csrf_token": signin.csrf(client, path)})
    assert response.headers["Location"] == "/dashboard"

    signin.request_link(client, "ada@example.com", next_path="/dashboard?tab=1")
    path = signin.last_link_path()
    response = client.post(path, data={"csrf_token": signin.csrf(client, path)})
    assert response.headers["Location"] == "/dashboard?tab=1"


@pytest.fixture
def strict_app(aws: None, redis: Any) -> Flask:
    return make_app(
        redis,
        RATELIMIT_LINK_PER_EMAIL="2 per 15 minutes",
        RATELIMIT_LINK_PER_IP="4 per hour",
        RATELIMIT_SPEND_PER_IP="3 per 15 minutes",
    )


def test_link_requests_are_limited_per_email_with_a_friendly_page(strict_app: Flask) -> None:
    client = strict_app.test_client()
    helper = SignInHelper(strict_app, None)  # type: ignore[arg-type]
    assert helper.request_link(client, "ada@example.com").status_code == 303
    assert helper.request_link(client, "ADA@example.com").status_code == 303
    limited = helper.request_link(client, "ada@example.com")
    assert limited.status_code == 429
    page = html.unescape(limited.get_data(as_text=True))
    assert "Slow down" in page and "links already sent still work" in page
    assert int(limited.headers["Retry-After"]) > 0
    assert helper.request_link(client, "bob@example.com").status_code == 303


def test_link_requests_are_limited_per_ip(strict_app: Flask) -> None:
    client = strict_app.test_client()
    helper = SignInHelper(strict_app, None)  # type: ignore[arg-type]
    codes = [helper.request_link(client, f"u{i}@example.com").status_code for i in range(5)]
    assert codes == [303, 303, 303, 303, 429]


def test_link_spending_is_limited_per_ip(strict_app: Flask) -> None:
    client = strict_app.test_client()
    csrf = SignInHelper.csrf(client)
    codes = [
        client.post(f"/login/link/guess{i}", data={"csrf_token": csrf}).status_code
        for i in range(4)
    ]
    assert codes == [410, 410, 410, 429]


def test_next_that_only_answers_post_lands_on_the_dashboard(
    client: FlaskClient, signin: SignInHelper
) -> None:
    signin.request_link(client, "ada@example.com", next_path="/logout/everywhere")
    path = signin.last_link_path()
    response = client.post(path, data={"csrf_token": signin.csrf(client, path)})
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
