"""Trim and re-render: clear form errors and nothing enqueued for a bad window; the old file
keeps playing until the new one is uploaded, and a failed re-render shows why."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue

from tests.support.clips import (
    fail,
    htmx_headers,
    install_queue,
    load_clip,
    make_clip,
    ready_asset,
    render,
)
from truss.data import clips, keys
from truss.services.clips import TrimLimits, check_window, parse_time

CLID = "01JAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def setup(app: Flask, auth: Any) -> dict[str, Any]:
    creator = auth.login("trim@example.com")
    asset = ready_asset(app, creator.id, duration=120.0)
    make_clip(app, creator.id, asset.id, CLID, window=(10.0, 30.0))
    return {"cid": creator.id, "asset": asset, "queue": install_queue(app)}


def trim(client: FlaskClient, start: str, end: str) -> Any:
    headers = htmx_headers(client, f"/clips/{CLID}")
    return client.post(f"/clips/{CLID}/trim", data={"start": start, "end": end}, headers=headers)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("30", "30", "The end must come after the start."),
        ("40", "20", "The end must come after the start."),
        ("100", "125", "The video is only 2:00 long"),
        ("121", "130", "The start is past the end of the video (2:00)."),
        ("10", "11", "A clip must be at least 0:03 long."),
        ("0", "", "Enter the end as seconds"),
        ("soon", "20", "Enter the start as seconds"),
        ("-5", "20", "Enter the start as seconds"),
    ],
)
def test_a_bad_window_is_a_clear_form_error_and_nothing_is_enqueued(
    app: Flask, client: FlaskClient, setup: dict[str, Any], start: str, end: str, message: str
) -> None:
    response = trim(client, start, end)
    page = response.get_data(as_text=True)
    assert response.status_code == 200  # htmx swaps the form back in with its errors
    assert message in page
    assert 'aria-invalid="true"' in page and 'role="alert"' in page
    assert f'value="{start}"' in page  # what was typed stays in the field
    assert setup["queue"].renders == []
    clip = load_clip(app, setup["cid"], CLID)
    assert (clip.start, clip.end, clip.render_status) == (10.0, 30.0, clips.READY)


def test_too_long_is_refused(app: Flask, auth: Any, client: FlaskClient) -> None:
    creator = auth.login("long@example.com")
    asset = ready_asset(app, creator.id, duration=3600.0)
    make_clip(app, creator.id, asset.id, CLID)
    queue = install_queue(app)
    page = trim(client, "0", "10:00").get_data(as_text=True)
    assert "A clip can be at most 3:00 long" in page
    assert queue.renders == []


def test_without_htmx_errors_come_back_as_the_whole_page(
    client: FlaskClient, setup: dict[str, Any]
) -> None:
    headers = {"X-CSRFToken": htmx_headers(client, f"/clips/{CLID}")["X-CSRFToken"]}
    response = client.post(
        f"/clips/{CLID}/trim", data={"start": "20", "end": "10"}, headers=headers
    )
    assert response.status_code == 400
    assert "The end must come after the start." in response.get_data(as_text=True)
    assert setup["queue"].renders == []


def test_a_good_trim_goes_pending_enqueues_and_starts_polling(
    app: Flask, client: FlaskClient, setup: dict[str, Any]
) -> None:
    old = load_clip(app, setup["cid"], CLID)
    page = trim(client, "1:05", "80.5").get_data(as_text=True)
    clip = load_clip(app, setup["cid"], CLID)
    assert (clip.start, clip.end, clip.render_status) == (65.0, 80.5, clips.PENDING)
    assert clip.render_id.startswith("t") and clip.render_id != old.render_id
    assert setup["queue"].renders == [(setup["cid"], CLID, clip.render_id)]
    assert clip.video_key == old.video_key  # the old file stays until the new one is ready
    assert "Re-rendering 1:05\N{EN DASH}1:20.5" in page
    assert 'id="clip-status"' in page and 'hx-swap-oob="true"' in page
    assert 'hx-trigger="every 2s"' in page


def test_trimming_while_a_render_runs_is_refused(
    app: Flask, client: FlaskClient, setup: dict[str, Any]
) -> None:
    trim(client, "0", "20")
    page = trim(client, "0", "25").get_data(as_text=True)
    assert "already being rendered" in page
    assert len(setup["queue"].renders) == 1


def test_a_queue_that_is_down_leaves_the_clip_failed_with_a_reason(
    app: Flask, client: FlaskClient, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(Queue, "enqueue", refuse)
    trim(client, "0", "20")
    clip = load_clip(app, setup["cid"], CLID)
    assert clip.render_status == clips.FAILED
    assert "couldn't queue the render" in clip.error
    assert clip.video_key  # still playable


def video_src(page: str) -> str:
    found = re.search(r'<video id="clip-video"[^>]*src="([^"]+)"', page)
    assert found, "no clip player on the page"
    return found.group(1).replace("&amp;", "&")


def test_a_failed_re_render_keeps_playing_the_old_file_and_says_why(
    app: Flask, client: FlaskClient, setup: dict[str, Any]
) -> None:
    cid = setup["cid"]
    old_key = keys.clip_video_object(cid, CLID, "r1")
    trim(client, "0", "20")
    polling = client.get(f"/clips/{CLID}/status", headers={"HX-Request": "true"})
    assert polling.status_code == 200 and "every 2s" in polling.get_data(as_text=True)

    (_, _, render_id) = setup["queue"].renders[0]
    fail(app, cid, CLID, render_id, "ffmpeg could not read the source.")

    done = client.get(f"/clips/{CLID}/status", headers={"HX-Request": "true"})
    html = done.get_data(as_text=True)
    assert done.status_code == 286  # htmx stops polling
    assert "The render failed: ffmpeg could not read the source." in html
    assert "The previous version is still here." in html
    assert old_key in video_src(html)  # the swapped-in player plays the old file

    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert old_key in video_src(page)
    assert "The render failed: ffmpeg could not read the source." in page
    assert client.get(f"/clips/{CLID}/download").status_code == 302


def test_a_finished_re_render_swaps_in_the_new_file(
    app: Flask, client: FlaskClient, setup: dict[str, Any]
) -> None:
    cid = setup["cid"]
    trim(client, "0", "20")
    (_, _, render_id) = setup["queue"].renders[0]
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert keys.clip_video_object(cid, CLID, "r1") in video_src(page)  # while rendering

    render(app, cid, CLID, render_id)
    done = client.get(f"/clips/{CLID}/status", headers={"HX-Request": "true"})
    html = done.get_data(as_text=True)
    assert done.status_code == 286
    assert (
        'id="clip-player" class="clip-player" aria-label="Clip player" hx-swap-oob="true"' in html
    )
    assert keys.clip_video_object(cid, CLID, render_id) in video_src(html)
    assert "0:00\N{EN DASH}0:20" in html


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("75.5", 75.5), ("1:15.5", 75.5), ("0:01:15", 75.0), (" 12,5 ", 12.5), ("", None),
     ("1::2", None), ("a", None), ("-1", None), ("nan", None), ("inf", None)],
)  # fmt: skip
def test_times_are_read_as_seconds_or_clock_time(text: str, seconds: float | None) -> None:
    assert parse_time(text) == seconds


def test_an_end_a_hair_past_the_source_is_clamped_to_it() -> None:
    assert check_window("100", "120.04", 120.0, TrimLimits()) == (100.0, 120.0)


def test_polling_a_clip_deleted_in_another_tab_stops_and_says_so(
    client: FlaskClient, setup: dict[str, Any]
) -> None:
    page = trim(client, "0", "20").get_data(as_text=True)
    poll = re.search(r'hx-get="(/clips/[^"]+/status[^"]*)"', page)
    assert poll, "the trim response polls the render status"
    client.post(f"/clips/{CLID}/delete", headers=htmx_headers(client))
    response = client.get(poll.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "This clip was deleted." in response.get_data(as_text=True)
    # the same poll without the page's signature is what anyone could send: 404
    assert client.get(f"/clips/{CLID}/status", headers={"HX-Request": "true"}).status_code == 404
