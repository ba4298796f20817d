"""The whole email sign-in over HTTPS, directly and through one TLS proxy hop.

Flask-WTF's strict check (WTF_CSRF_SSL_STRICT, left on) refuses an HTTPS POST without a
same-origin Referer, so each form is posted with the Referer a browser would send under the
Referrer-Policy its page was served with (tests/support/referrer.py), never a hard-coded one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.app import make_app
from tests.support.referrer import referrer
from truss.mail import read_outbox

ORIGIN = "https://truss.example"
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


class Browser:
    """A test client that remembers the page it shows and sends Referer as a browser would."""

    def __init__(
        self, client: FlaskClient, base_url: str = ORIGIN, headers: dict[str, str] | None = None
    ) -> None:
        self.client = client
        self.base_url = base_url  # where the app is reached: ORIGIN, or behind a proxy
        self.headers = headers or {}
        self.page_url = ""
        self.page: TestResponse | None = None

    def open(self, url: str) -> TestResponse:
        """Navigate (typed or from an email: no Referer), following redirects like a browser."""
        target = urljoin(ORIGIN, url)
        response = self.client.get(_path(target), base_url=self.base_url, headers=self.headers)
        return self._show(target, response)

    def submit(self, action: str, data: dict[str, str]) -> TestResponse:
        """Post a form of the current page, with the page's CSRF token and Referer."""
        assert self.page is not None
        target = urljoin(self.page_url, action)
        data = {"csrf_token": self.csrf_token(), **data}
        headers = dict(self.headers)
        sent = referrer(self.page_url, self.page.headers.get("Referrer-Policy"), target)
        if sent is not None:
            headers["Referer"] = sent
        response = self.client.post(
            _path(target), base_url=self.base_url, data=data, headers=headers
        )
        return self._show(target, response)

    def csrf_token(self) -> str:
        assert self.page is not None
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.page.get_data(as_text=True))
        assert found, f"no form on {self.page_url}"
        return found.group(1)

    def _show(self, url: str, response: TestResponse) -> TestResponse:
        if response.status_code in (301, 302, 303):
            return self.open(urljoin(url, response.headers["Location"]))
        self.page_url, self.page = url, response
        return response


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _https_app(redis: fakeredis.FakeRedis, **overrides: Any) -> Flask:
    return make_app(redis, PUBLIC_URL=ORIGIN, SESSION_COOKIE_SECURE=True, **overrides)


def _sign_in(browser: Browser, redis: fakeredis.FakeRedis, email: str) -> TestResponse:
    browser.open("/login")
    sent = browser.submit("/login", {"email": email})
    assert sent.status_code == 200 and "Check your email" in sent.get_data(as_text=True)
    link = re.search(r"https://\S+/login/link/\S+", read_outbox(redis)[0].text)
    assert link, "no https sign-in link in the email"
    confirm = browser.open(link.group(0))
    assert confirm.status_code == 200
    assert email in confirm.get_data(as_text=True)  # says which account the link signs into
    return browser.submit(urlsplit(link.group(0)).path, {})


def _assert_signed_in(browser: Browser, response: TestResponse, email: str) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert urlsplit(browser.page_url).path == "/dashboard"
    assert email in response.get_data(as_text=True)


def test_email_sign_in_works_over_https(aws: None, redis: fakeredis.FakeRedis) -> None:
    browser = Browser(_https_app(redis).test_client())
    _assert_signed_in(browser, _sign_in(browser, redis, "ada@example.com"), "ada@example.com")


def test_email_sign_in_works_through_one_tls_proxy_hop(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    app = _https_app(redis, PROXY_HOPS=1)
    browser = Browser(app.test_client(), "http://truss.example", PROXY_HEADERS)
    _assert_signed_in(browser, _sign_in(browser, redis, "ada@example.com"), "ada@example.com")


def test_the_token_never_reaches_another_site_as_referer(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    browser = Browser(_https_app(redis).test_client())
    browser.open("/login")
    browser.submit("/login", {"email": "ada@example.com"})
    link = re.search(r"https://\S+/login/link/\S+", read_outbox(redis)[0].text)
    assert link
    page = browser.open(link.group(0))
    policy = page.headers.get("Referrer-Policy")
    token = urlsplit(link.group(0)).path.rsplit("/", 1)[1]
    for target in ("https://elsewhere.example/", ORIGIN + "/static/css/app.css"):
        assert token not in (referrer(link.group(0), policy, target) or "")
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("proxied", [False, True])
def test_a_spent_link_page_can_still_send_a_new_link_over_https(
    aws: None, redis: fakeredis.FakeRedis, proxied: bool
) -> None:
    app = _https_app(redis, PROXY_HOPS=1 if proxied else 0)
    if proxied:
        browser = Browser(app.test_client(), "http://truss.example", PROXY_HEADERS)
    else:
        browser = Browser(app.test_client())
    gone = browser.open("/login/link/not-a-real-token")
    assert gone.status_code == 410
    sent = browser.submit("/login", {"email": "ada@example.com"})
    assert sent.status_code == 200 and "Check your email" in sent.get_data(as_text=True)
