"""The clip page: player, reason, editable fields with copy buttons, download, delete, and a
clip of one's own from the asset page."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
from truss.data import clips, keys
from truss.data.table import NotFound
from truss.extensions import get_table

CLID = "01JBBBBBBBBBBBBBBBBBBBBBBB"


@pytest.fixture
def clip(app: Flask, auth: Any) -> clips.Clip:
    creator = auth.login("page@example.com")
    asset = ready_asset(app, creator.id, "Launch talk")
    return make_clip(
        app, creator.id, asset.id, CLID, score=87, title="Rocket lands, crowd goes wild",
        hook="You won't believe the landing", hashtags=("#space", "#launch"),
    )  # fmt: skip


def test_the_clip_page_shows_player_reason_fields_and_copy_buttons(
    client: FlaskClient, clip: clips.Clip
) -> None:
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert '<h1 id="clip-heading">Rocket lands, crowd goes wild</h1>' in page
    assert (
        '<video id="clip-video"' in page
        and keys.clip_video_object(clip.creator_id, CLID, "r1") in page
    )
    assert "Score 87 of 100" in page and "Big laugh at 0:12." in page
    for name, text in [("title", "Rocket lands"), ("hook", "believe the landing"),
                       ("hashtags", "#space #launch"), ("transcript", "Hello all")]:  # fmt: skip
        assert re.search(rf'id="field-{name}-value"[^>]*>[^<]*{re.escape(text)}', page), name
        assert f'data-copy="field-{name}-value"' in page
    assert f'href="/clips/{CLID}/download"' in page
    assert "Launch talk" in page  # the source video, linked
    assert '<video id="source-player"' in page and f"#t={clip.start}" in page


def test_editing_a_field_swaps_the_form_in_and_saves(
    app: Flask, client: FlaskClient, clip: clips.Clip
) -> None:
    form = client.get(f"/clips/{CLID}/fields/hashtags?edit=1", headers={"HX-Request": "true"})
    html = form.get_data(as_text=True)
    assert '<label for="field-hashtags-input">Hashtags</label>' in html
    assert 'value="#space #launch"' in html
    headers = htmx_headers(client, f"/clips/{CLID}")
    saved = client.post(
        f"/clips/{CLID}/fields/hashtags",
        data={"value": "rockets, #Space  rockets"},
        headers=headers,
    )
    assert "#rockets #Space" in saved.get_data(as_text=True)
    stored = load_clip(app, clip.creator_id, CLID)
    assert stored.hashtags == ["#rockets", "#Space"]


def test_a_new_title_also_updates_the_heading_and_the_search_text(
    app: Flask, client: FlaskClient, clip: clips.Clip
) -> None:
    headers = htmx_headers(client, f"/clips/{CLID}")
    saved = client.post(
        f"/clips/{CLID}/fields/title", data={"value": "  Touchdown!  "}, headers=headers
    )
    html = saved.get_data(as_text=True)
    assert '<h1 id="clip-heading" hx-swap-oob="true">Touchdown!</h1>' in html
    with app.app_context():
        item = get_table().get(keys.clip(clip.creator_id, CLID))
    assert item["search_text"] == "touchdown! you won't believe the landing #space #launch"


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("title", "   ", "A title can't be empty."),
        ("title", "x" * 201, "Keep it under 200 characters."),
        ("hashtags", "#ok #not-ok", "“#not-ok” isn't a hashtag"),
        ("hashtags", " ".join(f"#t{n}" for n in range(16)), "at most 15 hashtags"),
        ("transcript", "y" * 5001, "Keep it under 5000 characters."),
    ],
)
def test_a_field_that_cant_be_saved_says_why_and_keeps_what_was_typed(
    app: Flask, client: FlaskClient, clip: clips.Clip, name: str, value: str, error: str
) -> None:
    headers = htmx_headers(client, f"/clips/{CLID}")
    html = client.post(f"/clips/{CLID}/fields/{name}", data={"value": value}, headers=headers)
    text = unescape(html.get_data(as_text=True))
    assert error in text and 'aria-invalid="true"' in text
    assert load_clip(app, clip.creator_id, CLID) == clip


def test_only_the_four_fields_are_editable(client: FlaskClient, clip: clips.Clip) -> None:
    headers = htmx_headers(client, f"/clips/{CLID}")
    for name in ("score", "video_key", "render_status", "asset_id"):
        assert (
            client.post(
                f"/clips/{CLID}/fields/{name}", data={"value": "1"}, headers=headers
            ).status_code
            == 404
        )


def test_download_is_a_short_lived_presigned_get_with_a_good_file_name(
    client: FlaskClient, clip: clips.Clip
) -> None:
    response = client.get(f"/clips/{CLID}/download")
    assert response.status_code == 302
    url = urlsplit(response.headers["Location"])
    query = parse_qs(url.query)
    assert unquote(url.path).endswith(keys.clip_video_object(clip.creator_id, CLID, "r1"))
    assert query["response-content-disposition"] == [
        'attachment; filename="rocket-lands-crowd-goes-wild-bbbbbb.mp4"'
    ]
    assert int(query["X-Amz-Expires"][0]) <= 300


def test_download_before_the_first_render_explains(
    app: Flask, client: FlaskClient, clip: clips.Clip
) -> None:
    make_clip(app, clip.creator_id, clip.asset_id, "01JCCCCCCCCCCCCCCCCCCCCCCC", rendered=False)
    response = client.get("/clips/01JCCCCCCCCCCCCCCCCCCCCCCC/download", follow_redirects=True)
    assert "This clip has no file yet" in response.get_data(as_text=True)


def test_delete_asks_first_then_removes_files_item_and_share(
    app: Flask, client: FlaskClient, clip: clips.Clip
) -> None:
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert re.search(r'data-confirm="Delete the clip[^"]*can\'t be undone\."', page)
    headers = htmx_headers(client, f"/clips/{CLID}")
    client.post(f"/clips/{CLID}/share", headers=headers)
    token = load_clip(app, clip.creator_id, CLID).share_token
    video = keys.clip_video_object(clip.creator_id, CLID, "r1")
    assert object_exists(app, video)

    response = client.post(f"/clips/{CLID}/delete", headers=headers)
    assert response.headers["HX-Redirect"] == "/clips"
    assert not object_exists(app, video)
    assert not object_exists(app, keys.clip_poster_object(clip.creator_id, CLID, "r1"))
    with app.app_context(), pytest.raises(NotFound):
        clips.get(get_table(), clip.creator_id, CLID)
    assert "Deleted the clip" in client.get("/clips").get_data(as_text=True)
    assert client.get(f"/s/{token}").status_code == 410


def test_a_clip_of_ones_own_from_the_asset_page(app: Flask, client: FlaskClient, auth: Any) -> None:
    creator = auth.login("own@example.com")
    asset = ready_asset(app, creator.id, "Podcast", duration=600.0)
    queue = install_queue(app)
    headers = htmx_headers(client)
    bad = client.post(
        f"/assets/{asset.id}/clips", data={"start": "50", "end": "40"}, headers=headers
    )
    assert "The end must come after the start." in bad.get_data(as_text=True)
    assert queue.renders == []

    made = client.post(
        f"/assets/{asset.id}/clips",
        data={"start": "1:00", "end": "1:30", "title": ""},
        headers=headers,
    )
    clid = made.headers["HX-Redirect"].rsplit("/", 1)[1]
    clip = load_clip(app, creator.id, clid)
    assert (clip.start, clip.end, clip.render_status, clip.source) == (
        60.0,
        90.0,
        "pending",
        "manual",
    )
    assert clip.title == "Podcast 1:00 to 1:30"
    assert queue.renders == [(creator.id, clid, clip.render_id)]
    page = client.get(f"/clips/{clid}").get_data(as_text=True)
    assert "Your pick" in page and "every 2s" in page


def test_the_new_clip_form_partial_renders_with_labels(app: Flask, auth: Any) -> None:
    from flask import render_template

    creator = auth.login("partial@example.com")
    asset = ready_asset(app, creator.id)
    with app.test_request_context():
        html = render_template("clips/_new_clip_form.html", asset=asset)
    assert f'action="/assets/{asset.id}/clips"' in html
    for field in ("new-clip-start", "new-clip-end", "new-clip-title"):
        assert f'<label for="{field}">' in html
    assert 'data-player="player"' in html and "js/clips.js" in html
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+">', html)


def test_deleting_a_videos_clips_removes_their_files_and_share_links(
    app: Flask, client: FlaskClient, clip: clips.Clip
) -> None:
    from truss.extensions import get_storage
    from truss.services.clips import delete_clips_of_asset

    client.post(f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}"))
    token = load_clip(app, clip.creator_id, CLID).share_token
    with app.app_context():
        assert (
            delete_clips_of_asset(get_table(), get_storage(), clip.creator_id, clip.asset_id) == 1
        )
    assert not object_exists(app, clip.video_key)
    assert client.get(f"/s/{token}").status_code == 410
