"""The clip page's layout and caption-style choice: stored per clip by the re-render form,
refused with a message when it isn't a choice, used by the next render; the layout preview
still; and another creator can't reach any of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import put_source
from tests.support.clips import (
    htmx_headers,
    install_queue,
    load_clip,
    make_clip,
    ready_asset,
    render,
)
from tests.support.media import frame_rgb
from truss.analysis.base import ClipLengths
from truss.data import clips
from truss.extensions import get_storage, get_table
from truss.media import run_ffmpeg
from truss.reframe import layouts
from truss.services.pipeline import Pipeline

CLID = "01JBBBBBBBBBBBBBBBBBBBBBBB"


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s, 320x180: red left half, blue right half, no face."""
    dest = tmp_path_factory.mktemp("looks") / "halves.mp4"
    box = "drawbox=x=160:y=0:w=160:h=180:c=blue:t=fill,format=yuv420p"
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=320x180:r=25:d=4"]
    args += ["-vf", box, "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"]
    run_ffmpeg([*args, str(dest)], 60, "Making a test video")
    return dest


@pytest.fixture
def setup(app: Flask, auth: Any, halves: Path) -> dict[str, Any]:
    creator = auth.login("looks@example.com")
    asset = ready_asset(app, creator.id, duration=4.0)
    put_source(app, creator.id, asset.id, halves.read_bytes())
    make_clip(app, creator.id, asset.id, CLID, window=(0.0, 4.0))
    return {"cid": creator.id, "asset": asset, "queue": install_queue(app)}


def rerender(client: FlaskClient, **fields: str) -> Any:
    headers = htmx_headers(client, f"/clips/{CLID}")
    data = {"start": "0", "end": "4", **fields}
    return client.post(f"/clips/{CLID}/trim", data=data, headers=headers)


def test_the_page_offers_every_layout_and_caption_style_with_the_clips_checked(
    client: FlaskClient, setup: dict[str, Any]
) -> None:
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    for value in layouts.LAYOUTS:
        assert f'name="layout" value="{value}"' in page
    for value in ("words", "lines", "none"):
        assert f'name="caption_style" value="{value}"' in page
    assert 'value="auto" checked' in page and 'value="words" checked' in page
    assert "Preview a frame in this layout" in page


def test_the_choice_is_stored_per_clip_and_queued(
    app: Flask, client: FlaskClient, setup: dict[str, Any]
) -> None:
    response = rerender(client, layout="fit", caption_style="lines")
    assert response.status_code == 200
    clip = load_clip(app, setup["cid"], CLID)
    assert (clip.layout, clip.caption_style) == ("fit", "lines")
    assert clip.render_status == clips.PENDING and setup["queue"].renders == [
        (setup["cid"], CLID, clip.render_id)
    ]
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert 'value="fit" checked' in page and 'value="lines" checked' in page
    # a form without the fields (an older page) keeps the clip's choice
    render(app, setup["cid"], CLID, clip.render_id)
    rerender(client)
    assert load_clip(app, setup["cid"], CLID).layout == "fit"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layout": "zoom"}, "Pick one of the layouts listed"),
        ({"caption_style": "<b>big</b>"}, "Pick one of the caption styles listed"),
    ],
)
def test_a_bad_choice_is_refused_with_a_message_and_nothing_changes(
    app: Flask, client: FlaskClient, setup: dict[str, Any], fields: dict[str, str], message: str
) -> None:
    page = rerender(client, **fields).get_data(as_text=True)
    assert message in page and 'role="alert"' in page
    assert "<b>big</b>" not in page
    clip = load_clip(app, setup["cid"], CLID)
    assert (clip.layout, clip.caption_style) == ("auto", "words")
    assert clip.render_status == clips.READY and setup["queue"].renders == []


def test_the_next_render_uses_the_stored_layout(
    app: Flask, client: FlaskClient, setup: dict[str, Any], tmp_path: Path
) -> None:
    def rendered_frame(layout: str, used: str = "") -> np.ndarray:
        rerender(client, layout=layout, caption_style="none")
        with app.app_context():
            clip = clips.get(get_table(), setup["cid"], CLID)
            pipeline = Pipeline(
                get_table(), get_storage(), lambda *_: None, lambda *_: None,  # type: ignore[arg-type,return-value]
                ClipLengths(2, 10), render_size=(180, 320),
            )  # fmt: skip
            pipeline.render(setup["cid"], CLID, clip.render_id)
            clip = clips.get(get_table(), setup["cid"], CLID)
            assert clip.render_status == clips.READY, clip.error
            assert clip.layout_used == (used or layout)
            get_storage().download(clip.video_key, str(tmp_path / f"{layout}.mp4"))
        data = frame_rgb(tmp_path / f"{layout}.mp4", 1.0, 180, 320)
        return np.frombuffer(data, np.uint8).reshape(320, 180, 3).astype(float)

    fit, centre = rendered_frame("fit"), rendered_frame("centre")
    rendered_frame("auto", used="fit")  # no face in this video: auto fits it
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert '<span id="layout-used">Fit the whole picture' in page
    # fit: the whole picture across the middle, a darker blurred copy above it
    assert fit[10:100].mean() < fit[140:180].mean() - 20
    # centre: the full-height crop, as bright at the top as in the middle
    assert abs(centre[10:100].mean() - centre[140:180].mean()) < 10


def test_the_preview_shows_a_still_of_the_chosen_layout(
    client: FlaskClient, setup: dict[str, Any]
) -> None:
    headers = {"HX-Request": "true"}
    fragment = client.get(f"/clips/{CLID}/preview?layout=fit&start=1", headers=headers)
    html = fragment.get_data(as_text=True)
    assert "<img" in html and "layout=fit" in html and "at=2" in html
    image = client.get(f"/clips/{CLID}/preview.jpg?layout=fit&at=2")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.data[:2] == b"\xff\xd8" and len(image.data) > 500
    refused = client.get(f"/clips/{CLID}/preview?layout=zoom", headers=headers)
    assert "Pick a layout first." in refused.get_data(as_text=True)
    assert client.get(f"/clips/{CLID}/preview.jpg?layout=zoom&at=2").status_code == 400


def test_another_creator_can_neither_preview_nor_change_the_layout(
    app: Flask, client: FlaskClient, auth: Any, setup: dict[str, Any]
) -> None:
    auth.login("someone-else@example.com")
    headers = htmx_headers(client, "/clips")
    assert client.get(f"/clips/{CLID}/preview?layout=fit").status_code == 404
    assert client.get(f"/clips/{CLID}/preview.jpg?layout=fit&at=1").status_code == 404
    posted = client.post(
        f"/clips/{CLID}/trim", data={"start": "0", "end": "4", "layout": "fit"}, headers=headers
    )
    assert posted.status_code == 404
    assert load_clip(app, setup["cid"], CLID).layout == "auto"


def test_a_preview_of_a_video_gone_from_storage_says_so(
    app: Flask, client: FlaskClient, setup: dict[str, Any]
) -> None:
    with app.app_context():
        get_storage().delete(setup["asset"].source_key)
    image = client.get(f"/clips/{CLID}/preview.jpg?layout=centre&at=1")
    assert image.status_code == 422
    assert "no longer in storage" in image.get_data(as_text=True)
