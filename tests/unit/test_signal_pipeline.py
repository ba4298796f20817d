"""A video without a highlight through the real pipeline and the real signal analyzer (moto,
fakeredis, jobs inline, real ffmpeg): it ends ready with no machine clips, says so on its page,
and the creator can still add a clip of their own there."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.media import Videos
from tests.support.pipeline import uploaded_asset
from truss import jobs
from truss.analysis.signals import NO_HIGHLIGHT
from truss.data import assets, clips, keys
from truss.extensions import get_table
from truss.services.pipeline import NO_MOMENTS


def test_a_video_without_a_highlight_is_ready_with_no_clips_and_says_so(
    app: Flask,
    client: FlaskClient,
    auth,
    videos: Videos,  # type: ignore[no-untyped-def]
) -> None:
    creator = auth.login()
    with app.test_request_context():
        asset = uploaded_asset(videos.silent_picture(), cid=creator.id)  # one cut, no sound
        jobs.request_analysis(asset)
        table = get_table()
        done = table.get(keys.asset(creator.id, asset.id))
        assert done["status"] == assets.READY and done["stage"] == NO_MOMENTS
        assert done["analyzer"] == "signals" and NO_HIGHLIGHT in done["summary"]
        assert clips.for_asset(table, creator.id, asset.id) == []
    page = " ".join(client.get(f"/assets/{asset.id}").get_data(as_text=True).split())
    assert NO_MOMENTS in page and "heard no laughter, applause, cheering or shout" in page
    assert "add a clip of your own" in page and 'id="new-clip-form"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    form = {"start": "5", "end": "20", "title": "My own pick", "csrf_token": token[1]}
    assert client.post(f"/assets/{asset.id}/clips", data=form).status_code in (302, 303)
    with app.test_request_context():
        (own,) = clips.for_asset(get_table(), creator.id, asset.id)
    assert own.title == "My own pick" and (own.start, own.end) == (5.0, 20.0)
