"""Helpers shared by the clip and share tests (no tests in here)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import make_asset
from tests.support.queues import Queued
from truss.analysis.base import Moment
from truss.data import assets, clips, keys
from truss.data.assets import Asset
from truss.data.clips import Clip
from truss.extensions import get_storage, get_table


def install_queue(app: Flask) -> Queued:
    """From now on the app only queues renders; the test reads them from the queue."""
    return Queued(app)


def ready_asset(app: Flask, cid: str, title: str = "Launch talk", duration: float = 120.0) -> Asset:
    """A video that went all the way through analysis and is `duration` seconds long."""
    asset = make_asset(app, cid, title=title, status=assets.READY)
    with app.app_context():
        get_table().update(keys.asset(cid, asset.id), {"duration_s": duration})
        return assets.get(get_table(), cid, asset.id)


def make_clip(
    app: Flask,
    cid: str,
    aid: str,
    clid: str,
    score: int = 50,
    title: str = "A moment",
    hook: str = "Watch this",
    hashtags: tuple[str, ...] = ("#demo",),
    window: tuple[float, float] = (10.0, 30.0),
    rendered: bool = True,
) -> Clip:
    """A clip as the pipeline leaves it: written from a moment and (by default) rendered."""
    start, end = window
    moment = Moment(start, end, title, hook, score, "Big laugh at 0:12.", hashtags, "Hello all")
    with app.app_context():
        table = get_table()
        clips.create_from_moment(table, cid, aid, clid, moment, rank=0)
        if rendered:
            render(app, cid, clid, "r1")
        return clips.get(table, cid, clid)


def render(app: Flask, cid: str, clid: str, render_id: str) -> Clip:
    """What Pipeline.render does, without ffmpeg: new files first, then the item points at them."""
    with app.app_context():
        table, storage = get_table(), get_storage()
        old = clips.get(table, cid, clid)
        clips.start_render(table, cid, clid, render_id)
        video = keys.clip_video_object(cid, clid, render_id)
        poster = keys.clip_poster_object(cid, clid, render_id)
        storage.put_bytes(video, f"video {render_id}".encode(), "video/mp4")
        storage.put_bytes(poster, f"poster {render_id}".encode(), "image/jpeg")
        done = clips.finish_render(table, cid, clid, render_id, video, poster)
        for stale in {old.video_key, old.poster_key} - {"", video, poster}:
            storage.delete(stale)
        return done


def fail(app: Flask, cid: str, clid: str, render_id: str, reason: str) -> None:
    """What Pipeline.render does when ffmpeg fails: the item keeps pointing at the old files."""
    with app.app_context():
        table = get_table()
        clips.start_render(table, cid, clid, render_id)
        clips.fail_render(table, cid, clid, render_id, reason)


def load_clip(app: Flask, cid: str, clid: str) -> Clip:
    with app.app_context():
        return clips.get(get_table(), cid, clid)


def csrf_token(client: FlaskClient, path: str = "/clips") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def htmx_headers(client: FlaskClient, path: str = "/clips") -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client, path), "HX-Request": "true"}


def clip_id(n: int) -> str:
    """Time-sortable ids: a larger n is a newer clip."""
    return f"01J{n:023d}"
