"""Rate limits on the expensive actions (own clips, trims, analysing again) are per creator:
the creator at the limit gets a 429 that says which limit and when it frees up; another
creator from the same address is not affected."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.clips import htmx_headers, install_queue, make_clip, ready_asset
from truss.data import assets, clips, usage
from truss.extensions import get_table
from truss.services import quotas

CLID = "01JAAAAAAAAAAAAAAAAAAAAAAA"


def two_creators(app: Flask) -> tuple[FlaskClient, FlaskClient, Any, Any]:
    first, second = app.test_client(), app.test_client()
    auth = AuthActions(app, first)
    return first, second, auth.login("a@example.com", first), auth.login("b@example.com", second)


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def app_with(aws: None, redis: Any) -> Any:
    def build(**settings: Any) -> Flask:
        app = make_app(redis, **settings)
        install_queue(app)  # renders and analyses are only queued: no job runs here
        return app

    return build


def test_own_clips_are_limited_per_creator(app_with: Any) -> None:
    app = app_with(RATELIMIT_OWN_CLIPS="2 per hour")
    first, second, a, b = two_creators(app)

    def add(client: FlaskClient, aid: str) -> Any:
        form = {"start": "10", "end": "25", "title": "Mine"}
        return client.post(f"/assets/{aid}/clips", data=form, headers=htmx_headers(client))

    mine, theirs = ready_asset(app, a.id).id, ready_asset(app, b.id).id
    assert [add(first, mine).status_code for _ in range(2)] == [200, 200]
    refused = add(first, mine)
    assert refused.status_code == 429
    message = text(refused)
    assert "You've made clips of your own twice in the last hour, the most allowed." in message
    assert "You can do it again after" in message and "UTC" in message
    assert add(second, theirs).status_code == 200  # same address, another creator


def test_trims_are_limited_per_creator(app_with: Any) -> None:
    app = app_with(RATELIMIT_TRIMS="1 per hour")
    first, second, a, b = two_creators(app)
    make_clip(app, a.id, ready_asset(app, a.id).id, CLID)
    other = "01JBBBBBBBBBBBBBBBBBBBBBBB"
    make_clip(app, b.id, ready_asset(app, b.id).id, other)

    def trim(client: FlaskClient, clid: str) -> Any:
        form = {"start": "0", "end": "20"}
        return client.post(f"/clips/{clid}/trim", data=form, headers=htmx_headers(client))

    assert trim(first, CLID).status_code == 200
    refused = trim(first, CLID)
    assert refused.status_code == 429
    assert "You've trimmed clips once in the last hour" in text(refused)
    assert trim(second, other).status_code == 200


def test_analysing_again_is_limited_per_creator(app_with: Any) -> None:
    app = app_with(RATELIMIT_REANALYSES="1 per day")
    first, second, a, b = two_creators(app)
    mine, theirs = ready_asset(app, a.id).id, ready_asset(app, b.id).id

    def again(client: FlaskClient, aid: str) -> Any:
        return client.post(f"/assets/{aid}/retry", headers=htmx_headers(client))

    assert again(first, mine).status_code == 200  # htmx: redirected client-side
    refused = again(first, mine)
    assert refused.status_code == 429
    assert "You've asked for an analysis again once in the last day" in text(refused)
    assert again(second, theirs).status_code == 200


def test_an_empty_setting_means_no_limit(app_with: Any) -> None:
    app = app_with(RATELIMIT_TRIMS="")
    first, _, a, _ = two_creators(app)
    make_clip(app, a.id, ready_asset(app, a.id).id, CLID)
    form = {"start": "0", "end": "20"}
    codes = {
        first.post(f"/clips/{CLID}/trim", data=form, headers=htmx_headers(first)).status_code
        for _ in range(5)
    }
    assert codes == {200}


def test_refused_attempts_do_not_use_up_the_allowance(app_with: Any) -> None:
    """Retry pressed while the analyses-at-once limit refuses it, a trim or an own clip
    refused by the form: nothing was queued, so nothing counts towards the rate limit."""
    app = app_with(
        RATELIMIT_REANALYSES="1 per day", RATELIMIT_TRIMS="1 per hour",
        RATELIMIT_OWN_CLIPS="1 per hour", QUOTA_CONCURRENT_ANALYSES=1,
    )  # fmt: skip
    first, _, a, _ = two_creators(app)
    busy, mine = ready_asset(app, a.id), ready_asset(app, a.id)
    with app.app_context():  # another video of A's holds the only analysis slot
        quotas.take_slot(get_table(), busy, quotas.Quotas(concurrent_analyses=1), False)

    def again() -> Any:
        return first.post(f"/assets/{mine.id}/retry", headers=htmx_headers(first))

    for _ in range(3):
        assert again().status_code == 200
        assert load_status(app, a.id, mine.id) == assets.READY  # refused: nothing queued
    with app.app_context():
        assets.transition(get_table(), a.id, busy.id, assets.READY, assets.QUEUED)
        assets.fail(get_table(), a.id, busy.id, "stopped")
        quotas.release_slot(get_table(), a.id, busy.id)
    assert again().status_code == 200 and load_status(app, a.id, mine.id) == assets.QUEUED
    assert again().status_code == 429  # the one that queued counted

    make_clip(app, a.id, mine.id, CLID)
    bad = {"start": "20", "end": "5"}
    for _ in range(3):
        refused = first.post(f"/clips/{CLID}/trim", data=bad, headers=htmx_headers(first))
        assert refused.status_code == 200 and "429" not in text(refused)
        made = first.post(f"/assets/{mine.id}/clips", data=bad, headers=htmx_headers(first))
        assert made.status_code == 200
    good = {"start": "0", "end": "20"}
    assert (
        first.post(f"/clips/{CLID}/trim", data=good, headers=htmx_headers(first)).status_code == 200
    )
    assert (
        first.post(f"/clips/{CLID}/trim", data=good, headers=htmx_headers(first)).status_code == 429
    )
    own = {"start": "10", "end": "25", "title": "Mine"}
    assert (
        first.post(f"/assets/{mine.id}/clips", data=own, headers=htmx_headers(first)).status_code
        == 200
    )
    assert (
        first.post(f"/assets/{mine.id}/clips", data=own, headers=htmx_headers(first)).status_code
        == 429
    )


def load_status(app: Flask, cid: str, aid: str) -> str:
    with app.app_context():
        return assets.get(get_table(), cid, aid).status


def test_own_clips_and_trims_are_refused_while_storage_is_full(app_with: Any) -> None:
    """Renders have no size before they are made: at or over the storage limit, a new clip of
    one's own or a trim is refused in its form with what to do; another creator renders."""
    app = app_with(QUOTA_STORAGE_BYTES=1000)
    first, second, a, b = two_creators(app)
    mine, theirs = ready_asset(app, a.id), ready_asset(app, b.id)
    make_clip(app, a.id, mine.id, CLID)
    with app.app_context():
        usage.set_asset_stored(get_table(), a.id, mine.id, 1000)
    window = {"start": "0", "end": "20", "title": "Mine"}

    trimmed = first.post(f"/clips/{CLID}/trim", data=window, headers=htmx_headers(first))
    made = first.post(f"/assets/{mine.id}/clips", data=window, headers=htmx_headers(first))
    for refused in (trimmed, made):
        assert refused.status_code == 200
        assert "Your storage is full" in text(refused) and "Delete videos or clips" in text(refused)
    assert load_status(app, a.id, mine.id) == assets.READY
    with app.app_context():
        assert clips.get(get_table(), a.id, CLID).render_status == clips.READY  # not re-rendered
        assert len(clips.for_asset(get_table(), a.id, mine.id)) == 1  # no clip made
    made = second.post(f"/assets/{theirs.id}/clips", data=window, headers=htmx_headers(second))
    assert made.status_code == 200 and "Your storage is full" not in text(made)
