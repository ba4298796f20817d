"""Per-creator quotas through the upload API and pages: storage, analyses at once, video
length and minutes per month announced at upload, the account page. Each: the creator at the
limit is refused with a message that says what to do, another creator is not affected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.assets import (
    BODY,
    MP4,
    csrf_headers,
    json_of,
    load,
    make_asset,
    object_exists,
    put_source,
)
from tests.support.queues import Queued
from truss.data import assets, keys, usage
from truss.extensions import get_table
from truss.services import quotas

KB = 1024


def quota_app(redis: Any, **settings: Any) -> Flask:
    app = make_app(redis, **settings)
    Queued(app)  # analyses are only queued: no job runs in these tests
    return app


@pytest.fixture
def signed_in(aws: None, redis: Any, request: pytest.FixtureRequest) -> Any:
    """(app, client of creator A, client of creator B, A, B) with the test's settings."""
    app = quota_app(redis, **request.param)
    a_client, b_client = app.test_client(), app.test_client()
    auth = AuthActions(app, a_client)
    a = auth.login("a@example.com", a_client)
    b = auth.login("b@example.com", b_client)
    return app, a_client, b_client, a, b


def start(client: FlaskClient, size: int = len(BODY), **extra: Any) -> Any:
    body = {"name": "talk.mp4", "size": size, "type": MP4, **extra}
    return client.post("/assets/uploads", json=body, headers=csrf_headers(client))


def upload(app: Flask, client: FlaskClient, cid: str) -> tuple[str, Any]:
    """Start, put the file where the browser would, confirm: (asset id, confirm's JSON)."""
    started = start(client)
    assert started.status_code == 201, started.get_data(as_text=True)
    aid = json_of(started)["asset_id"]
    put_source(app, cid, aid, BODY)
    confirmed = client.post(f"/assets/{aid}/confirm", headers=csrf_headers(client))
    return aid, json_of(confirmed)


def stored(app: Flask, cid: str) -> int:
    with app.app_context():
        return usage.read(get_table(), cid, quotas.month_of(datetime.now(UTC))).stored_bytes


@pytest.mark.parametrize("signed_in", [{"QUOTA_STORAGE_BYTES": 2500}], indirect=True)
def test_storage_full_refuses_a_new_upload_until_a_video_is_deleted(signed_in: Any) -> None:
    app, a_client, b_client, a, _ = signed_in
    first, confirmed = upload(app, a_client, a.id)
    assert confirmed["status"] == "queued"
    upload(app, a_client, a.id)
    assert stored(app, a.id) == 2 * len(BODY)

    refused = start(a_client)
    assert refused.status_code == 403
    message = json_of(refused)["error"]
    assert "storage" in message and "2.0 KB of your 2.4 KB" in message
    assert "Delete videos" in message
    assert start(b_client).status_code == 201  # another creator's storage is their own

    a_client.post(f"/assets/{first}/delete", headers=csrf_headers(a_client))
    assert stored(app, a.id) == len(BODY)  # deleting gave its bytes back
    assert start(a_client).status_code == 201


@pytest.mark.parametrize("signed_in", [{"QUOTA_STORAGE_BYTES": 1500}], indirect=True)
def test_uploads_finishing_together_cannot_pass_the_storage_limit(signed_in: Any) -> None:
    app, a_client, _, a, _ = signed_in
    one, two = (json_of(start(a_client))["asset_id"] for _ in range(2))  # both fit when started
    for aid in (one, two):
        put_source(app, a.id, aid, BODY)
    first = json_of(a_client.post(f"/assets/{one}/confirm", headers=csrf_headers(a_client)))
    late = json_of(a_client.post(f"/assets/{two}/confirm", headers=csrf_headers(a_client)))
    assert first["status"] == "queued"
    assert late["status"] == "failed"
    assert "storage" in late["error"] and "Delete videos" in late["error"]
    assert not object_exists(app, keys.asset_source_object(a.id, two))  # not kept, not counted
    assert stored(app, a.id) == len(BODY)


@pytest.mark.parametrize("signed_in", [{"QUOTA_CONCURRENT_ANALYSES": 1}], indirect=True)
def test_analyses_at_once_limit_fails_the_new_video_with_a_retry(signed_in: Any) -> None:
    app, a_client, b_client, a, b = signed_in
    waiting = Queued(app)
    busy_id, queued = upload(app, a_client, a.id)
    assert queued["status"] == "queued"
    busy = load(app, a.id, busy_id)

    aid, confirmed = upload(app, a_client, a.id)
    assert confirmed["status"] == "failed"
    assert "You already have 1 video waiting for or in analysis" in confirmed["error"]
    assert "limit is 1 at once" in confirmed["error"] and "Retry" in confirmed["error"]
    assert waiting.analyses == [busy_id]  # nothing more queued: no analysis spend
    assert object_exists(app, keys.asset_source_object(a.id, aid))  # the file stays for Retry

    _, other = upload(app, b_client, b.id)
    assert other["status"] == "queued"  # another creator isn't held up

    page = a_client.post(f"/assets/{aid}/retry", headers=csrf_headers(a_client))
    assert load(app, a.id, aid).status == assets.FAILED  # still at the limit: refused
    shown = a_client.get(page.headers["Location"]).get_data(as_text=True)
    assert "waiting for or in analysis" in shown

    with app.app_context():
        for step in (assets.ANALYZING, assets.RENDERING, assets.READY):
            busy = assets.transition(get_table(), a.id, busy.id, busy.status, step)
        quotas.release_slot(get_table(), a.id, busy.id)  # what the worker does when it ends
    a_client.post(f"/assets/{aid}/retry", headers=csrf_headers(a_client))
    assert load(app, a.id, aid).status == assets.QUEUED


@pytest.mark.parametrize("signed_in", [{"MAX_VIDEO_MINUTES": 60}], indirect=True)
def test_a_video_announced_too_long_is_refused_before_any_byte_is_sent(signed_in: Any) -> None:
    _, a_client, _, _, _ = signed_in
    refused = start(a_client, duration=3700.5)
    assert refused.status_code == 403
    message = json_of(refused)["error"]
    assert "is 1 h 1 min 41 s long" in message and "at most 1 h." in message
    assert "Trim it or split it" in message
    assert start(a_client, duration=1800).status_code == 201
    assert start(a_client).status_code == 201  # not announced: the worker checks it


@pytest.mark.parametrize("signed_in", [{"QUOTA_MINUTES_PER_MONTH": 10}], indirect=True)
def test_minutes_left_this_month_are_checked_when_the_length_is_announced(
    signed_in: Any,
) -> None:
    app, a_client, b_client, a, _ = signed_in
    now = datetime.now(UTC)
    spent = make_asset(app, a.id, status=assets.ANALYZING)
    with app.app_context():
        table = get_table()
        usage.charge_analysis(table, a.id, spent.id, "1", quotas.month_of(now), 540.0, 600.0)
    refused = start(a_client, duration=120)
    assert refused.status_code == 403
    message = json_of(refused)["error"]
    assert "This video is 2 min long" in message
    assert "only 1 min of your 10 min of analysis a month are left" in message
    assert quotas.day(quotas.next_month(now)) in message
    assert start(a_client, duration=60).status_code == 201
    assert start(b_client, duration=120).status_code == 201


@pytest.mark.parametrize(
    "signed_in",
    [{"QUOTA_STORAGE_BYTES": 10 * KB, "QUOTA_CONCURRENT_ANALYSES": 2, "MAX_VIDEO_MINUTES": 90}],
    indirect=True,
)
def test_the_account_page_shows_usage_against_each_quota(signed_in: Any) -> None:
    app, a_client, _, a, _ = signed_in
    upload(app, a_client, a.id)
    page = a_client.get("/dashboard").get_data(as_text=True)
    assert "Usage and limits" in page
    assert "<strong>1000 bytes</strong> of 10.0 KB" in page
    assert 'value="10"' in page  # 1000 bytes of 10 KB: a 10% bar
    assert "<strong>1</strong> of 2" in page  # the upload just queued counts
    assert "Analysis this month" in page and "no limit" in page  # 0 means unlimited
    assert "1 h 30 min" in page
    assert "Deleting a video frees" in page


def test_quota_settings_treat_zero_and_empty_as_unlimited_and_refuse_nonsense() -> None:
    from truss.config import ConfigError, from_environ

    base = {"TRUSS_ENV": "local", "TRUSS_DATA_DIR": "/tmp/truss-quota-test"}
    defaults = from_environ(base)
    assert defaults["QUOTA_STORAGE_BYTES"] > 0 and defaults["QUOTA_CONCURRENT_ANALYSES"] > 0
    assert defaults["RATELIMIT_TRIMS"]
    off = from_environ(
        {**base, "TRUSS_QUOTA_STORAGE_GB": "0", "TRUSS_QUOTA_MINUTES_PER_MONTH": "",
         "TRUSS_RATELIMIT_TRIMS": ""}
    )  # fmt: skip
    assert off["QUOTA_STORAGE_BYTES"] == 0 and off["QUOTA_MINUTES_PER_MONTH"] == 0
    assert off["RATELIMIT_TRIMS"] == ""
    assert from_environ({**base, "TRUSS_QUOTA_STORAGE_GB": "1.5"})["QUOTA_STORAGE_BYTES"] == (
        3 * 1024**3 // 2
    )
    for name, value in (
        ("TRUSS_QUOTA_CONCURRENT_ANALYSES", "-1"),
        ("TRUSS_MAX_VIDEO_MINUTES", "lots"),
        ("TRUSS_RATELIMIT_REANALYSES", "often"),
    ):
        with pytest.raises(ConfigError, match=name):
            from_environ({**base, name: value})


def test_refusals_give_lengths_in_minutes_and_seconds() -> None:
    """A 61 s video against a 1 minute limit is not "2 minutes"; 20 s left is not "0"."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    too_long = quotas.length_refusal(61.0, 1)
    assert too_long.startswith("This video is 1 min 1 s long; videos can be at most 1 min.")
    month = quotas.monthly_refusal(61.0, 580.0, 10, now)
    assert "This video is 1 min 1 s long, and only 20 s of your 10 min" in month
    assert quotas.minutes(10_805) == "3 h 5 s" and quotas.minutes(0.2, round_up=False) == "0 s"
