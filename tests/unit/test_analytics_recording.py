"""Counting at the event sites of the web tier: share-page views and downloads are counted to
the clip's owner with the request's DynamoDB capacity, in Redis only (no DynamoDB write per
request); a Redis that errors never fails the share page."""

from __future__ import annotations

import datetime
import re
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, SignInHelper, make_app
from tests.support.assets import BODY, confirm, make_asset, put_source
from tests.support.clips import htmx_headers, make_clip, ready_asset
from tests.support.waits import wait_until
from truss.analytics import counters, metrics, recording
from truss.data import analytics as daily
from truss.data import keys
from truss.data.table import Table
from truss.extensions import get_table
from truss.services.clips import start_sharing

CLID = "01JDDDDDDDDDDDDDDDDDDDDDDD"


@pytest.fixture
def shared(app: Flask, client: FlaskClient, auth: Any) -> dict[str, Any]:
    """A's clip, shared; the client is signed out afterwards."""
    owner = auth.login("ana.owner@example.com")
    asset = ready_asset(app, owner.id, "A's video")
    make_clip(app, owner.id, asset.id, CLID, title="The save")
    response = client.post(f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}"))
    link = re.search(r'id="share-link" value="([^"]+)"', response.get_data(as_text=True))
    assert link
    client.post("/logout", headers=htmx_headers(client))
    return {"owner": owner, "path": urlsplit(link.group(1)).path}


def flushed_today(app: Flask, redis: Any, cid: str) -> dict[str, float]:
    with app.app_context():
        table = get_table()
        counters.flush(redis, table)
        today = counters.utc_day()
        (figures,) = daily.read_days(table, cid, today, today)
    return figures.counters


def test_share_views_count_to_the_owner_without_a_dynamodb_write(
    app: Flask,
    client: FlaskClient,
    redis: fakeredis.FakeRedis,
    shared: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    record = Table._record

    def spy(self: Table, operation: str, *args: Any, **kwargs: Any) -> None:
        calls.append(operation)
        record(self, operation, *args, **kwargs)

    monkeypatch.setattr(Table, "_record", spy)
    for _ in range(7):
        assert client.get(shared["path"]).status_code == 200
    assert calls and not set(calls) & recording.WRITE_OPERATIONS  # reads only, no counting
    monkeypatch.undo()

    found = flushed_today(app, redis, shared["owner"].id)

    assert found[metrics.SHARE_VIEWS] == 7
    assert found[metrics.DDB_READ_UNITS] > 0  # the share pages' reads, and the sign-in's


def test_a_download_counts_once_per_click(
    app: Flask, client: FlaskClient, redis: fakeredis.FakeRedis, auth: Any
) -> None:
    owner = auth.login("dee.owner@example.com")
    asset = ready_asset(app, owner.id, "D's video")
    make_clip(app, owner.id, asset.id, CLID)
    with app.app_context():
        get_table().update(keys.clip(owner.id, CLID), {"stored_bytes": 12345})
    for _ in range(2):
        assert client.get(f"/clips/{CLID}/download").status_code == 302
    found = flushed_today(app, redis, owner.id)
    assert found[metrics.DOWNLOADS] == 2
    assert found[metrics.S3_BYTES_OUT] == 2 * 12345  # the whole file, each time


class BrokenRedis(fakeredis.FakeRedis):
    """A Redis that refuses every command, counting how often it was asked."""

    def __init__(self) -> None:
        server = fakeredis.FakeServer()
        server.connected = False
        super().__init__(server=server)
        self.asked = 0

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        self.asked += 1
        return super().pipeline(*args, **kwargs)


def test_a_redis_that_errors_never_fails_the_share_page(
    client: FlaskClient,
    shared: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenRedis()
    monkeypatch.setattr(recording, "counting_redis", lambda: broken)

    statuses = [client.get(shared["path"]).status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert broken.asked == 1  # after the first error counting pauses: no more waits on it
    assert "analytics count lost (Redis error)" in caplog.text


def test_days_are_utc_days() -> None:
    just_before_midnight_utc = datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=datetime.UTC)
    assert counters.utc_day(just_before_midnight_utc.timestamp()) == datetime.date(2026, 11, 30)


def test_a_clip_made_by_hand_counts_under_its_source(
    app: Flask, client: FlaskClient, redis: fakeredis.FakeRedis, auth: Any, queued: Any
) -> None:
    owner = auth.login("hana.owner@example.com")
    asset = ready_asset(app, owner.id, "H's video")
    response = client.post(
        f"/assets/{asset.id}/clips",
        data={"start": "0:10", "end": "0:25", "title": "Mine"},
        headers=htmx_headers(client, f"/assets/{asset.id}"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    refused = client.post(
        f"/assets/{asset.id}/clips",
        data={"start": "0:50", "end": "0:40"},
        headers=htmx_headers(client, f"/assets/{asset.id}"),
    )
    assert "error" in refused.get_data(as_text=True).lower()

    found = flushed_today(app, redis, owner.id)
    assert metrics.by_qualifier(found, metrics.CLIPS_MADE) == {"manual": 1}


def test_a_confirmed_upload_counts_once_and_a_refused_one_not_at_all(
    app: Flask, client: FlaskClient, redis: fakeredis.FakeRedis, auth: Any, queued: Any
) -> None:
    creator = auth.login("uma.owner@example.com")
    good = make_asset(app, creator.id, size=len(BODY))
    put_source(app, creator.id, good.id, BODY)
    missing = make_asset(app, creator.id, size=len(BODY))  # its file never arrived

    for _ in range(2):  # the browser retried the confirmation
        assert confirm(client, good.id).status_code == 200
    confirm(client, missing.id)

    found = flushed_today(app, redis, creator.id)
    assert found[metrics.VIDEOS_UPLOADED] == 1
    assert found[metrics.S3_BYTES_STORED] == len(BODY)


def test_another_creator_viewing_a_share_counts_to_its_owner_only(
    app: Flask, client: FlaskClient, redis: fakeredis.FakeRedis, auth: Any, shared: dict[str, Any]
) -> None:
    viewer = auth.login("vic.viewer@example.com")
    assert client.get(shared["path"]).status_code == 200
    assert flushed_today(app, redis, shared["owner"].id)[metrics.SHARE_VIEWS] == 1
    assert metrics.SHARE_VIEWS not in flushed_today(app, redis, viewer.id)


def test_the_share_pages_per_address_limit_is_a_setting(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    limited = make_app(redis, SHARE_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    owner = AuthActions(limited, client).login("lim.owner@example.com")
    asset = ready_asset(limited, owner.id, "L's video")
    clip = make_clip(limited, owner.id, asset.id, CLID)
    with limited.app_context():
        path = f"/s/{start_sharing(get_table(), clip)}"
    assert [client.get(path).status_code for _ in range(4)] == [200, 200, 200, 429]


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_rate_limit_store_that_is_down_fails_no_page_and_limits_still_hold(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    limited = make_app(
        redis,
        SHARE_RATE_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0",
    )
    client = limited.test_client()
    owner = AuthActions(limited, client).login("down.owner@example.com")
    asset = ready_asset(limited, owner.id, "Its video")
    clip = make_clip(limited, owner.id, asset.id, CLID)
    with limited.app_context():
        path = f"/s/{start_sharing(get_table(), clip)}"

    statuses = [client.get(path).status_code for _ in range(4)]
    visitor = limited.test_client()
    sign_in = SignInHelper(limited, redis).request_link(visitor, "new.visitor@example.com")

    assert statuses == [200, 200, 200, 429]  # the limit is kept in this process's memory
    assert sign_in.status_code == 303 and sign_in.location.endswith("/login/sent")


def test_a_rate_limit_store_that_never_answers_does_not_fail_the_share_page(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    with socket.socket() as silent:  # the kernel accepts connections; nothing ever replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        stalled = make_app(redis, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
        client = stalled.test_client()
        owner = AuthActions(stalled, client).login("slow.owner@example.com")
        asset = ready_asset(stalled, owner.id, "Its video")
        clip = make_clip(stalled, owner.id, asset.id, CLID)
        with stalled.app_context():
            path = f"/s/{start_sharing(get_table(), clip)}"
        statuses: list[int] = []
        viewer = threading.Thread(
            target=lambda: statuses.append(client.get(path).status_code), daemon=True
        )
        viewer.start()
        wait_until(lambda: statuses, 60, "the share page to answer despite the silent store")
    assert statuses == [200]
