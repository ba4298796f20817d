"""The periodic reconcile: quiet working assets get their work queued again, once per timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from flask import Flask

from tests.pipeline_helpers import make_video, uploaded_asset
from truss import jobs
from truss.data import assets, clips, get_table, keys
from truss.services import reconcile

HOUR = 3600


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("reconcile") / "v.mp4", 30)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def queued_and_lost(video: Path, redis: fakeredis.FakeRedis) -> assets.Asset:
    """An asset whose analysis job vanished after it was queued (say, Redis was restored)."""
    asset = uploaded_asset(video)
    lost = assets.transition(
        get_table(), asset.creator_id, asset.id, assets.UPLOADED, assets.QUEUED
    )
    reconcile.watch(redis, asset.creator_id, asset.id)
    return lost


def test_a_quiet_queued_asset_is_analysed_again_and_then_forgotten(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    later = time.time() + 2 * HOUR
    requeued = reconcile.reconcile(
        redis, get_table(), HOUR, jobs.enqueue_analysis, jobs.enqueue_render, now=later
    )
    assert requeued == [asset.id]
    done = assets.get(get_table(), asset.creator_id, asset.id)
    assert done.status == assets.READY, done.error  # jobs run inline in unit tests
    assert clips.for_asset(get_table(), asset.creator_id, asset.id)
    again = reconcile.reconcile(
        redis, get_table(), HOUR, jobs.enqueue_analysis, jobs.enqueue_render, now=later + 2 * HOUR
    )
    assert again == [] and redis.zcard(reconcile.WORKING_SET) == 0


def test_an_asset_that_is_still_moving_is_left_alone(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    calls: list[tuple[str, str, str]] = []
    record = lambda *args: calls.append(args)  # noqa: E731
    soon = time.time() + 10
    assert reconcile.reconcile(redis, get_table(), HOUR, record, record, now=soon) == []
    assert calls == []
    assert assets.get(get_table(), asset.creator_id, asset.id).status == assets.QUEUED


def test_renders_that_went_quiet_are_queued_again_with_their_render_id(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    lost_renders: list[tuple[str, str, str]] = []
    pipeline = jobs.pipeline()
    pipeline.enqueue_render = lambda *args: lost_renders.append(args)
    pipeline.analyze(cid, aid)  # analysis done, every render job lost
    assert table.get(keys.asset(cid, aid))["status"] == assets.RENDERING
    requeued = reconcile.reconcile(
        redis, table, HOUR, jobs.enqueue_analysis, jobs.enqueue_render, now=time.time() + 2 * HOUR
    )
    assert requeued == [aid]
    assert assets.get(table, cid, aid).status == assets.READY
    assert len(clips.for_asset(table, cid, aid)) == len(lost_renders)


def test_two_workers_reconciling_at_once_queue_the_work_once(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    calls: list[tuple[str, str, str]] = []
    record = lambda *args: calls.append(args)  # noqa: E731
    later = time.time() + 2 * HOUR
    reconcile.reconcile(redis, get_table(), HOUR, record, record, now=later)
    # the second worker read the candidates before the first one rescheduled this asset
    redis.zadd(reconcile.WORKING_SET, {f"{asset.creator_id}/{asset.id}": 0})
    reconcile.reconcile(redis, get_table(), HOUR, record, record, now=later)
    assert len(calls) == 1


def test_a_lost_re_render_on_a_ready_video_is_queued_again(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    jobs.pipeline().analyze(cid, aid)  # inline: analysis and renders finish, asset ready
    assert assets.get(table, cid, aid).status == assets.READY
    clip = clips.for_asset(table, cid, aid)[0]
    table.update(keys.clip(cid, clip.id), {"render_status": clips.PENDING, "render_id": "t42"})
    reconcile.watch(redis, cid, aid)  # what a trim does before its (here lost) enqueue
    calls: list[tuple[str, str, str]] = []
    record = lambda *args: calls.append(args)  # noqa: E731
    later = time.time() + 2 * HOUR
    assert reconcile.reconcile(redis, table, HOUR, record, record, now=later) == [aid]
    assert calls == [(cid, clip.id, "t42")]
    table.update(keys.clip(cid, clip.id), {"render_status": clips.READY})
    assert reconcile.reconcile(redis, table, HOUR, record, record, now=later + 2 * HOUR) == []
    assert redis.zcard(reconcile.WORKING_SET) == 0
