"""What a creator sees while a video is analysed: stage, percentage, polling, retry."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.queues import Queued
from truss.analysis.base import Moment
from truss.data import assets, clips, keys
from truss.extensions import get_table

AID = "01BBBBBBBBBBBBBBBBBBBBBBBB"


def working_asset(app: Flask, cid: str, status: str = assets.ANALYZING) -> None:
    with app.app_context():
        table = get_table()
        assets.create(
            table, cid, AID, title="Stream VOD", file_name="vod.mp4", expected_size=10,
            declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
        )  # fmt: skip
        path = [assets.UPLOADED, assets.QUEUED, assets.ANALYZING, assets.RENDERING, assets.READY]
        current = assets.UPLOADING
        for step in path[: path.index(status) + 1]:
            assets.transition(table, cid, AID, current, step)
            current = step


def test_status_fragment_shows_stage_and_percentage_and_keeps_polling(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    working_asset(app, creator.id)
    with app.app_context():
        assets.set_progress(get_table(), creator.id, AID, assets.ANALYZING, "Finding moments", 20)
    response = client.get(f"/assets/{AID}/status", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Finding moments" in html and 'value="20"' in html and "20%" in html
    assert 'hx-trigger="every 2s"' in html


def test_polling_stops_with_286_at_ready_and_the_asset_page_reloads(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    working_asset(app, creator.id, assets.READY)
    response = client.get(f"/assets/{AID}/status?page=detail", headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert response.headers.get("HX-Refresh") == "true"
    assert "hx-trigger" not in response.get_data(as_text=True)
    from_library = client.get(f"/assets/{AID}/status", headers={"HX-Request": "true"})
    assert from_library.status_code == 286 and "HX-Refresh" not in from_library.headers


def test_ready_asset_page_lists_chapters_and_clips_best_first(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    working_asset(app, creator.id, assets.READY)
    with app.app_context():
        table = get_table()
        table.update(keys.asset(creator.id, AID), {"analyzer": "signals"})
        table.put(
            {**keys.asset_chapters(creator.id, AID), "type": "chapters",
             "chapters": [{"start": 0, "end": 30, "title": "Cold open", "summary": ""},
                          {"start": 30, "end": 90, "title": "The big reveal", "summary": ""}]}
        )  # fmt: skip
        for rank, score in enumerate((55, 91)):
            moment = Moment(10.0 * rank, 10.0 * rank + 20, f"Moment {score}", "", score, "loud")
            clips.create_from_moment(table, creator.id, AID, f"01C11P{rank:020d}", moment, rank)
    html = client.get(f"/assets/{AID}").get_data(as_text=True)
    assert "Cold open" in html and 'data-seek="30' in html
    assert html.index("Moment 91") < html.index("Moment 55")
    said = "Found by the built-in signal analyzer, which finds laughter, applause, shouts, music"
    assert (
        f"{said} stings and montages in the sound and the cuts, not in what is said."
        in " ".join(html.split())
    )


def test_a_failed_analysis_can_be_retried_from_the_page(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    working_asset(app, creator.id, assets.ANALYZING)
    queued = Queued(app)
    with app.app_context():
        assets.fail(get_table(), creator.id, AID, "Analysis stopped unexpectedly. Press Retry.")
    page = client.get(f"/assets/{AID}").get_data(as_text=True)
    assert "Retry the analysis" in page and "Analysis stopped unexpectedly" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/assets/{AID}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert queued.analyses == [AID]


def test_a_failed_upload_cannot_be_retried_as_an_analysis(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    with app.app_context():
        table = get_table()
        assets.create(
            table, creator.id, AID, title="x", file_name="x.mp4", expected_size=10,
            declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
        )  # fmt: skip
        assets.fail(table, creator.id, AID, "The file never arrived.")
    queued = Queued(app)
    page = client.get(f"/assets/{AID}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        f"/assets/{AID}/retry", data={"csrf_token": token}, follow_redirects=True
    )
    assert "upload it again" in response.get_data(as_text=True)
    assert queued.analyses == []


def test_a_ready_video_can_be_analysed_again_from_its_page(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    working_asset(app, creator.id, assets.READY)
    queued = Queued(app)
    page = client.get(f"/assets/{AID}").get_data(as_text=True)
    assert "Re-analyse this video" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(f"/assets/{AID}/retry", data={"csrf_token": token})
    assert queued.analyses == [AID]


def test_each_poll_reads_exactly_one_item(app: Flask, client: FlaskClient, auth) -> None:
    calls: list[dict[str, int]] = []

    @app.after_request
    def count(response):  # type: ignore[no-untyped-def]
        from flask import g

        calls.append(dict(g.truss_table.calls) if "truss_table" in g else {})
        return response

    creator = auth.login()
    working_asset(app, creator.id)
    client.get(f"/assets/{AID}/status", headers={"HX-Request": "true"})  # warms the profile cache
    calls.clear()
    for _ in range(3):
        assert (
            client.get(f"/assets/{AID}/status", headers={"HX-Request": "true"}).status_code == 200
        )
    assert calls == [{"get": 1}] * 3


def test_polling_a_video_deleted_in_another_tab_stops(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    working_asset(app, creator.id)
    page = client.get(f"/assets/{AID}").get_data(as_text=True)
    poll = re.search(r'hx-get="(/assets/[^"]+/status[^"]*)"', page)
    assert poll, "the video page polls its status"
    with app.app_context():
        assets.delete(get_table(), creator.id, AID)
    url = poll.group(1).replace("&amp;", "&")
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "deleted" in response.get_data(as_text=True)
    assert client.get(url).status_code == 404
    # a poll without the page's signature (a guessed or another creator's id): 404
    assert client.get(f"/assets/{AID}/status", headers={"HX-Request": "true"}).status_code == 404
