"""Helpers for tests that use the fake platforms: the server fixture and an OAuth connect that
clicks "Allow" on the consent page like a browser would."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from truss.local.fake_platforms import FakePlatforms, FakeSettings
from truss.local.fake_platforms.oauth import PROVIDERS

REDIRECT_URI = "http://127.0.0.1:5000/connections/callback"
SCOPES = {
    "google": "openid profile https://www.googleapis.com/auth/youtube.upload",
    "tiktok": "user.info.basic,video.publish",
    "twitch": "clips:edit user:read:chat",
    "discord": "identify webhook.incoming",
}
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def fake_platforms() -> Iterator[FakePlatforms]:
    """Fakes with small TikTok chunks and one processing poll, so uploads stay small."""
    settings = FakeSettings(tiktok_min_chunk=64 * 1024, tiktok_max_chunk=256 * 1024)
    with FakePlatforms(settings) as fake:
        yield fake


def consent(
    fake: FakePlatforms, platform: str, account: str = "", decision: str = "allow", **params: str
) -> dict[str, list[str]]:
    """Open the authorize page and press a button; the query the browser is sent back with."""
    provider = PROVIDERS[platform]
    client_id = fake.settings.clients[platform][0]
    query = {
        provider.id_field: client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES[platform],
        "state": "st-123",
        **params,
    }
    location = press(f"{fake.base_url}{provider.authorize}?{urlencode(query)}", account, decision)
    return parse_qs(urlsplit(location).query)


def press(authorize_url: str, account: str = "", decision: str = "allow") -> str:
    """What a browser does on the consent page: load it, press Allow (or Deny); where the
    provider sends the browser back to."""
    page = requests.get(authorize_url, timeout=5)
    page.raise_for_status()
    assert 'value="allow"' in page.text
    form = {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(page.text)}
    form["decision"] = decision
    if account:
        form["account"] = account
    answer = requests.post(page.url, data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location: str = answer.headers["Location"]
    return location


def token_request(fake: FakePlatforms, platform: str, **form: str) -> requests.Response:
    provider = PROVIDERS[platform]
    client_id, secret = fake.settings.clients[platform]
    body = {provider.id_field: client_id, "client_secret": secret, **form}
    return requests.post(fake.base_url + provider.tokens[0], data=body, timeout=5)


def connect(fake: FakePlatforms, platform: str, account: str = "", **params: str) -> dict[str, Any]:
    """The whole authorization-code flow; the token endpoint's JSON answer."""
    if platform == "google":
        params = {"access_type": "offline", "prompt": "consent", **params}
    back = consent(fake, platform, account, **params)
    answer = token_request(
        fake,
        platform,
        grant_type="authorization_code",
        code=back["code"][0],
        redirect_uri=REDIRECT_URI,
    )
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}
