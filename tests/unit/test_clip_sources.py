"""Where a clip came from: the clips page filters by it, and clips written before issue 12
(`analyzer`, `creator`, or no source at all) read, filter and migrate as the new values."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.clips import clip_id, make_clip, ready_asset
from truss.data import clips, keys
from truss.data.schema import backfill
from truss.extensions import get_table

CARD = re.compile(r'<li class="clip-card" id="clip-([^"]+)"')
# clip number -> the source stored on it (None: the attribute is missing, as on the first clips)
STORED: dict[int, str | None] = {
    0: "chat", 1: "signals", 2: "gemini", 3: "manual", 4: "analyzer", 5: "creator", 6: None,
}  # fmt: skip


@pytest.fixture
def library(app: Flask, auth: Any) -> dict[str, Any]:
    creator = auth.login("sources@example.com")
    video = ready_asset(app, creator.id, "Friday stream")
    with app.app_context():
        table = get_table()
        for n, source in STORED.items():
            make_clip(app, creator.id, video.id, clip_id(n), title=f"Clip {n}")
            key = keys.clip(creator.id, clip_id(n))
            if source is None:
                table.update(key, {}, remove=("source",))
            else:
                table.update(key, {"source": source})
    return {"cid": creator.id, "aid": video.id}


def shown(client: FlaskClient, query: str) -> set[str]:
    response = client.get("/clips" + query)
    assert response.status_code == 200
    return set(CARD.findall(response.get_data(as_text=True)))


def ids(*numbers: int) -> set[str]:
    return {clip_id(n) for n in numbers}


def test_the_clips_page_filters_by_source_old_values_included(
    client: FlaskClient, library: dict[str, Any]
) -> None:
    assert shown(client, "") == ids(*STORED)
    assert shown(client, "?source=chat") == ids(0)
    assert shown(client, "?source=signals") == ids(1, 4, 6)  # old analyzer clips, and none
    assert shown(client, "?source=gemini") == ids(2)
    assert shown(client, "?source=manual") == ids(3, 5)  # old creator picks
    assert shown(client, "?source=chat&sort=score") == ids(0)
    assert client.get("/clips?source=robots").status_code == 400


def test_the_filter_form_offers_the_sources_and_keeps_the_choice(
    client: FlaskClient, library: dict[str, Any]
) -> None:
    page = client.get("/clips?source=chat").get_data(as_text=True)
    assert '<label for="clip-source">Found by</label>' in page
    assert '<option value="chat" selected>Chat spikes</option>' in page
    assert '<option value="manual" >Your picks</option>' in page
    assert "From chat" in page and "Clear filters" in page


def test_old_values_read_as_the_new_ones(
    app: Flask, client: FlaskClient, library: dict[str, Any]
) -> None:
    cid = library["cid"]
    with app.app_context():
        table = get_table()
        read = {n: clips.get(table, cid, clip_id(n)).source for n in (4, 5, 6)}
    assert read == {4: "signals", 5: "manual", 6: "signals"}
    page = client.get(f"/clips/{clip_id(5)}").get_data(as_text=True)
    assert "Your pick" in page  # an old hand-picked clip still shows as the creator's own


def test_the_backfill_rewrites_old_sources_by_the_videos_analyzer(
    app: Flask, library: dict[str, Any]
) -> None:
    cid, aid = library["cid"], library["aid"]
    name = app.config["TRUSS_TABLE"]
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    with app.app_context():
        get_table().update(keys.asset(cid, aid), {"analyzer": "gemini"})
    assert backfill(resource, name, force=True) == 3  # clips 4, 5 and 6
    raw = resource.Table(name)
    stored = {n: raw.get_item(Key=keys.clip(cid, clip_id(n)))["Item"]["source"] for n in STORED}
    assert stored == {
        0: "chat", 1: "signals", 2: "gemini", 3: "manual",
        4: "gemini", 5: "manual", 6: "gemini",  # that video was analysed by Gemini
    }  # fmt: skip
    assert backfill(resource, name, force=True) == 0  # nothing left to rewrite


def test_the_video_page_marks_its_chat_clips(client: FlaskClient, library: dict[str, Any]) -> None:
    page = client.get(f"/assets/{library['aid']}").get_data(as_text=True)
    assert page.count('<span class="badge">from chat</span>') == 1
