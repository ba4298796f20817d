"""Share links: work signed out with an Open Graph preview; revoked ones say so (410); a token
reaches only its own clip; creator A can't see, edit, share, revoke or delete B's clip."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import object_exists
from tests.support.clips import (
    htmx_headers,
    install_queue,
    load_clip,
    make_clip,
    ready_asset,
)
from truss.data import keys, shares
from truss.data.clips import Clip
from truss.extensions import get_table

CLID = "01JDDDDDDDDDDDDDDDDDDDDDDD"


@pytest.fixture
def shared(app: Flask, client: FlaskClient, auth: Any) -> dict[str, Any]:
    """B's clip, shared by B; the test client is signed out afterwards."""
    owner = auth.login("bea.owner@example.com")
    asset = ready_asset(app, owner.id, "B's secret video title")
    make_clip(
        app, owner.id, asset.id, CLID, title="Goal in the last minute",
        hook="Nobody saw it coming", hashtags=("#football",),
    )  # fmt: skip
    response = client.post(f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}"))
    html = response.get_data(as_text=True)
    link = re.search(r'id="share-link" value="([^"]+)"', html)
    assert link, html
    clip = load_clip(app, owner.id, CLID)
    client.post("/logout", headers=htmx_headers(client))
    return {"owner": owner, "asset": asset, "clip": clip, "link": link.group(1)}


def meta(page: str, prop: str) -> str:
    found = re.search(rf'<meta property="{prop}" content="([^"]*)"', page)
    assert found, f"no {prop}"
    return unescape(found.group(1))


def test_a_share_link_plays_signed_out_with_an_open_graph_preview(
    client: FlaskClient, shared: dict[str, Any]
) -> None:
    path = urlsplit(shared["link"]).path
    assert client.get("/clips").status_code == 302  # really signed out
    response = client.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "<h1>Goal in the last minute</h1>" in page and "Nobody saw it coming" in page
    video = re.search(r'<video id="shared-video"[^>]*src="([^"]+)"', page)
    assert video and video.group(1) == path + "/clip.mp4"
    assert meta(page, "og:title") == "Goal in the last minute"
    assert meta(page, "og:type") == "video.other"
    assert meta(page, "og:image") == shared["link"] + "/poster.jpg"
    assert meta(page, "og:video") == shared["link"] + "/clip.mp4"
    owner, clip = shared["owner"], shared["clip"]
    poster = client.get(path + "/poster.jpg")
    assert poster.status_code == 302
    assert unquote(poster.headers["Location"]).split("?")[0].endswith(clip.poster_key)
    played = client.get(path + "/clip.mp4").headers["Location"]
    assert unquote(played).split("?")[0].endswith(clip.video_key)
    assert "X-Amz-Expires=900" in played and "attachment" not in played
    for private in (owner.email, owner.name, "B's secret video title", shared["asset"].id,
                    owner.id, CLID):  # fmt: skip
        assert unescape(private) not in unescape(page), private


def test_the_share_page_never_sends_its_token_in_a_referer(
    client: FlaskClient, shared: dict[str, Any]
) -> None:
    """Like the sign-in token pages: links and media from it send only the origin."""
    path = urlsplit(shared["link"]).path
    for url in (path, path + "/poster.jpg", path + "/clip.mp4", "/s/" + "x" * 43):
        assert client.get(url).headers["Referrer-Policy"] == "strict-origin", url


def test_a_revoked_link_says_it_is_no_longer_shared(
    app: Flask, client: FlaskClient, auth: Any, shared: dict[str, Any]
) -> None:
    path = urlsplit(shared["link"]).path
    auth.login("bea.owner@example.com")
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert 'data-confirm="Stop sharing this clip?' in page
    response = client.post(
        f"/clips/{CLID}/share/revoke", headers=htmx_headers(client, f"/clips/{CLID}")
    )
    assert "Create share link" in response.get_data(as_text=True)
    assert load_clip(app, shared["owner"].id, CLID).share_token == ""
    client.post("/logout", headers=htmx_headers(client))

    for url in (path, path + "/poster.jpg", path + "/clip.mp4"):
        gone = client.get(url)
        assert gone.status_code == 410, url
        assert "This clip is no longer shared" in gone.get_data(as_text=True)


def test_sharing_again_after_revoking_makes_a_new_link(
    app: Flask, client: FlaskClient, auth: Any, shared: dict[str, Any]
) -> None:
    auth.login("bea.owner@example.com")
    headers = htmx_headers(client, f"/clips/{CLID}")
    client.post(f"/clips/{CLID}/share/revoke", headers=headers)
    html = client.post(f"/clips/{CLID}/share", headers=headers).get_data(as_text=True)
    new_link = re.search(r'id="share-link" value="([^"]+)"', html)
    assert new_link and new_link.group(1) != shared["link"]
    assert client.get(urlsplit(shared["link"]).path).status_code == 410
    assert client.get(urlsplit(new_link.group(1)).path).status_code == 200


def test_creating_a_share_twice_keeps_one_link(
    app: Flask, client: FlaskClient, auth: Any, shared: dict[str, Any]
) -> None:
    auth.login("bea.owner@example.com")
    html = client.post(
        f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}")
    ).get_data(as_text=True)
    assert shared["link"] in html


def test_unknown_and_malformed_tokens_are_not_found(
    client: FlaskClient, shared: dict[str, Any]
) -> None:
    token = urlsplit(shared["link"]).path.rsplit("/", 1)[1]
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-1], "x", CLID):
        response = client.get(f"/s/{bad}")
        assert response.status_code == 404, bad
        assert "This link doesn't work" in unescape(response.get_data(as_text=True))


def test_a_share_token_reaches_no_other_route_or_clip(
    app: Flask, client: FlaskClient, auth: Any, shared: dict[str, Any]
) -> None:
    token = urlsplit(shared["link"]).path.rsplit("/", 1)[1]
    # Signed out, the token opens nothing but the share page: every clip route wants sign-in
    # (a POST without a form token is refused even before that).
    for method, rule in clip_routes(app):
        url = fill(rule, token, shared["asset"].id)
        response = client.open(url, method=method)
        refused = response.status_code == 400 and method == "POST"
        assert refused or "/login" in response.headers.get("Location", ""), url
    # Signed in (as the owner, or anyone), the token is no clip id.
    for email in ("bea.owner@example.com", "a@example.com"):
        auth.login(email)
        headers = htmx_headers(client)
        for method, rule in clip_routes(app):
            if "<clid>" in rule:
                response = client.open(fill(rule, token, ""), method=method, headers=headers)
                assert response.status_code == missing(rule), f"{email} {method} {rule}"
    # The share page of one clip never names another, and /s/<clip id> is nothing.
    assert client.get(f"/s/{CLID}").status_code == 404
    with app.app_context():
        assert shares.get(get_table(), token).clip_id == CLID


def clip_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the clips blueprint."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("clips."):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


def missing(rule: str) -> int:
    """404 everywhere, the status poll too (only a poll the page signed for this creator
    gets 286 "deleted" once the clip is gone: tests/unit/test_clips_trim.py)."""
    return 404


def fill(rule: str, clid: str, aid: str) -> str:
    return rule.replace("<clid>", clid).replace("<aid>", aid).replace("<name>", "title")


def test_creator_a_cannot_touch_creator_bs_clip_on_any_route(
    app: Flask, client: FlaskClient, auth: Any, shared: dict[str, Any]
) -> None:
    owner, asset = shared["owner"], shared["asset"]
    before = load_clip(app, owner.id, CLID)
    queue = install_queue(app)
    mine = ready_asset(app, auth.login("a@example.com").id)  # A has a video of their own
    make_clip(app, mine.creator_id, mine.id, "01JEEEEEEEEEEEEEEEEEEEEEEE")
    headers = htmx_headers(client)
    routes = clip_routes(app)
    assert {rule for _, rule in routes} >= {
        "/clips/<clid>", "/clips/<clid>/fields/<name>", "/clips/<clid>/trim",
        "/clips/<clid>/status", "/clips/<clid>/download", "/clips/<clid>/delete",
        "/clips/<clid>/share", "/clips/<clid>/share/revoke", "/assets/<aid>/clips",
    }  # fmt: skip
    form = {"value": "Mine now", "start": "0", "end": "20", "title": "Mine"}
    for method, rule in routes:
        if "<clid>" not in rule and "<aid>" not in rule:
            continue
        url = fill(rule, CLID, asset.id)
        response = client.open(url, method=method, data=form, headers=headers)
        assert response.status_code == missing(rule), f"{method} {rule} → {response.status_code}"
        assert "Goal in the last minute" not in response.get_data(as_text=True)
        if method == "GET":
            plain = client.get(url)  # without htmx, the status poll is a plain 404 too
            assert plain.status_code == 404, f"{method} {rule} → {plain.status_code}"
    assert load_clip(app, owner.id, CLID) == before
    assert queue.renders == []
    assert object_exists(app, before.video_key)
    assert client.get(urlsplit(shared["link"]).path).status_code == 200  # still shared


def test_as_clips_page_never_lists_bs_clips(
    app: Flask, client: FlaskClient, auth: Any, shared: dict[str, Any]
) -> None:
    auth.login("a@example.com")
    page = client.get(f"/clips?video={shared['asset'].id}").get_data(as_text=True)
    assert CLID not in page and "No clips match" in page


def test_a_shared_clip_of_a_deleted_video_is_no_longer_shared(
    app: Flask, client: FlaskClient, shared: dict[str, Any]
) -> None:
    clip: Clip = shared["clip"]
    with app.app_context():
        get_table().delete(keys.clip(clip.creator_id, clip.id))  # as deleting the video does
    assert client.get(urlsplit(shared["link"]).path).status_code == 410
