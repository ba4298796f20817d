"""Share links and link previews are built from TRUSS_PUBLIC_URL, never from what the request
says about host and scheme (behind a proxy that is the proxy's view of the app)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.clips import htmx_headers, make_clip, ready_asset

PUBLIC_URL = "https://truss.example"
CLID = "01JEEEEEEEEEEEEEEEEEEEEEEE"


@pytest.fixture
def proxied_app(aws: None, redis: fakeredis.FakeRedis) -> Flask:
    return make_app(redis, PUBLIC_URL=PUBLIC_URL, PROXY_HOPS=1)


def _through_proxy(client: FlaskClient, **environ: Any) -> FlaskClient:
    client.environ_base.update(HTTP_X_FORWARDED_FOR="203.0.113.9", **environ)
    return client


def _share(app: Flask, client: FlaskClient) -> str:
    owner = AuthActions(app, client).login("owner@example.com")
    asset = ready_asset(app, owner.id)
    make_clip(app, owner.id, asset.id, CLID, title="Share me")
    response = client.post(f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}"))
    link = re.search(r'id="share-link" value="([^"]+)"', response.get_data(as_text=True))
    assert link, response.get_data(as_text=True)
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert f'value="{link.group(1)}"' in page  # the clip page shows the same link
    return link.group(1)


def test_a_share_link_made_behind_a_plain_http_proxy_is_the_public_https_url(
    proxied_app: Flask,
) -> None:
    """The TLS proxy talks plain HTTP to the app and sends no X-Forwarded-Proto."""
    client = _through_proxy(proxied_app.test_client())
    link = _share(proxied_app, client)
    assert link.startswith(PUBLIC_URL + "/s/")
    assert client.get(urlsplit(link).path).status_code == 200


def test_link_previews_name_the_public_url_whatever_host_the_proxy_sends(
    proxied_app: Flask,
) -> None:
    owner_client = _through_proxy(proxied_app.test_client())
    link = _share(proxied_app, owner_client)
    visitor = _through_proxy(
        proxied_app.test_client(), HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="app:8000"
    )
    page = visitor.get(urlsplit(link).path).get_data(as_text=True)
    previews = {
        prop: unescape(value)
        for prop, value in re.findall(r'<meta property="(og:[a-z]+)" content="([^"]*)"', page)
    }
    assert previews["og:url"] == link
    assert previews["og:image"] == link + "/poster.jpg"
    assert previews["og:video"] == link + "/clip.mp4"
    assert "app:8000" not in page
