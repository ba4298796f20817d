"""The periodic reconcile: work RQ lost is queued again within a maintenance period or two,
and a run whose job RQ still holds (waiting in a backlog, or running for hours on a long
video) is never queued twice."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.media import Videos
from tests.support.pipeline import SMALL_RENDER_SETTINGS, uploaded_asset
from truss import jobs, queue
from truss.data import assets, clips, keys
from truss.extensions import get_table
from truss.services import reconcile

HOUR = 3600
GRACE = 60


APP_SETTINGS = SMALL_RENDER_SETTINGS  # the app fixture's: no test here looks at a render


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(30)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


class Recorder:
    """Stands in for RQ: records what the reconcile queues; `active` jobs are still held."""

    def __init__(self, active: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.active = active

    def work(self, timeout_s: int = HOUR) -> reconcile.Work:
        return reconcile.Work(
            enqueue_analysis=lambda *args: self.calls.append(("analysis", *args)),
            enqueue_render=lambda *args: self.calls.append(("render", *args)),
            analysis_active=lambda aid, run: self.active,
            render_active=lambda clid, render_id: self.active,
            timeout_for=lambda asset: timeout_s,
            grace_s=GRACE,
        )


def queued_and_lost(video: Path, redis: fakeredis.FakeRedis) -> assets.Asset:
    """An asset queued in a run whose analysis job vanished (say, Redis was restored)."""
    asset = uploaded_asset(video)
    lost = assets.transition(
        get_table(), asset.creator_id, asset.id, assets.UPLOADED, assets.QUEUED,
        run=assets.next_run(asset),
    )  # fmt: skip
    reconcile.watch(redis, asset.creator_id, asset.id)
    return lost


def test_a_queued_asset_whose_job_was_lost_is_analysed_again_and_then_forgotten(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    later = time.time() + 2 * GRACE  # one or two maintenance periods, not a job timeout
    work = jobs.reconcile_work()
    assert reconcile.reconcile(redis, get_table(), work, now=later) == [asset.id]
    done = assets.get(get_table(), asset.creator_id, asset.id)
    assert done.status == assets.READY, done.error  # jobs run inline in unit tests
    assert clips.for_asset(get_table(), asset.creator_id, asset.id)
    again = reconcile.reconcile(redis, get_table(), work, now=later + 2 * GRACE)
    assert again == [] and redis.zcard(reconcile.WORKING_SET) == 0


def test_an_asset_just_queued_is_left_alone(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    rq = Recorder()
    assert reconcile.reconcile(redis, get_table(), rq.work(), now=time.time() + 10) == []
    assert rq.calls == []
    assert assets.get(get_table(), asset.creator_id, asset.id).status == assets.QUEUED


def test_a_run_whose_job_waits_in_a_backlog_is_not_queued_twice(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    queued_and_lost(video, redis)
    rq = Recorder(active=True)  # RQ still holds the run's job, hours later
    for hours in (1, 5, 20):
        reconcile.reconcile(redis, get_table(), rq.work(), now=time.time() + hours * HOUR)
    assert rq.calls == []


def test_a_long_videos_healthy_analysis_is_left_alone(
    ctx: None, app: Flask, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    three_hours = 3 * HOUR
    analysing = assets.transition(
        table, cid, aid, assets.QUEUED, assets.ANALYZING, expected_run=asset.run,
        duration_s=three_hours,
    )  # fmt: skip
    timeout = queue.job_timeout_s(app.config, analysing.duration_s)
    assert timeout >= app.config["JOB_TIMEOUT_S"] + three_hours  # grows with the video
    four_hours_later = time.time() + 4 * HOUR  # longer than a fixed one-hour timeout
    assert not assets.is_stuck(analysing, timeout, now=four_hours_later)
    short = queue.job_timeout_s(app.config, 60)
    assert assets.is_stuck(analysing, short, now=four_hours_later)  # a 1-minute video would be
    rq = Recorder(active=True)
    assert reconcile.reconcile(redis, table, rq.work(timeout), now=four_hours_later) == []
    assert rq.calls == [] and assets.get(table, cid, aid).status == assets.ANALYZING


def test_the_job_timeout_is_a_floor_plus_a_multiple_of_the_duration(app: Flask) -> None:
    config = {**app.config, "JOB_TIMEOUT_S": 600, "JOB_TIMEOUT_PER_VIDEO_S": 2.0}
    assert queue.job_timeout_s(config, 60) == 720
    assert queue.job_timeout_s(config, 3 * HOUR) == 600 + 6 * HOUR
    unknown = queue.job_timeout_s(config, None)  # not probed yet: assumes an hour-long video
    assert unknown == 600 + 2 * queue.ASSUMED_DURATION_S


def test_renders_whose_jobs_were_lost_are_queued_again_with_their_render_id(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    lost_renders: list[tuple[str, str, str]] = []
    pipeline = jobs.pipeline()
    pipeline.enqueue_render = lambda *args: lost_renders.append(args)
    pipeline.analyze(cid, aid, asset.run)  # analysis done, every render job lost
    assert table.get(keys.asset(cid, aid))["status"] == assets.RENDERING
    later = time.time() + 2 * GRACE
    requeued = reconcile.reconcile(redis, table, jobs.reconcile_work(), now=later)
    assert requeued == [aid]
    assert assets.get(table, cid, aid).status == assets.READY
    assert len(clips.for_asset(table, cid, aid)) == len(lost_renders)
    assert {rid for _, _, rid in lost_renders} == {clips.first_render_id(asset.run)}


def test_two_workers_reconciling_at_once_queue_the_work_once(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    rq = Recorder()
    later = time.time() + 2 * GRACE
    reconcile.reconcile(redis, get_table(), rq.work(), now=later)
    # the second worker read the candidates before the first one rescheduled this asset
    redis.zadd(reconcile.WORKING_SET, {f"{asset.creator_id}/{asset.id}": 0})
    reconcile.reconcile(redis, get_table(), rq.work(), now=later)
    assert len(rq.calls) == 1


def test_a_lost_re_render_on_a_ready_video_is_queued_again(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = queued_and_lost(video, redis)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    jobs.pipeline().analyze(cid, aid, asset.run)  # inline: analysis and renders finish
    assert assets.get(table, cid, aid).status == assets.READY
    clip = clips.for_asset(table, cid, aid)[0]
    table.update(keys.clip(cid, clip.id), {"render_status": clips.PENDING, "render_id": "t42"})
    reconcile.watch(redis, cid, aid)  # what a trim does before its (here lost) enqueue
    rq = Recorder()
    later = time.time() + 2 * GRACE
    assert reconcile.reconcile(redis, table, rq.work(), now=later) == [aid]
    assert rq.calls == [("render", cid, clip.id, "t42")]
    table.update(keys.clip(cid, clip.id), {"render_status": clips.READY})
    assert reconcile.reconcile(redis, table, rq.work(), now=later + 2 * GRACE) == []
    assert redis.zcard(reconcile.WORKING_SET) == 0


class FailsOnce:
    """A queue whose first enqueue hits a Redis hiccup."""

    def __init__(self, real: Any) -> None:
        self.real, self.failed = real, False
        self.connection = real.connection

    def enqueue(self, *args: Any, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise RedisConnectionError("Connection reset by peer")
        return self.real.enqueue(*args, **kwargs)


def test_a_redis_hiccup_at_confirmation_is_picked_up_within_a_maintenance_period(
    ctx: None, video: Path, redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = uploaded_asset(video)
    real_get_queue = jobs.get_queue
    flaky = FailsOnce(real_get_queue("analysis"))
    monkeypatch.setattr(jobs, "get_queue", lambda name="default": flaky)
    queued = jobs.request_analysis(asset)  # the confirmation still answers
    assert flaky.failed and queued.status == assets.QUEUED
    monkeypatch.setattr(jobs, "get_queue", real_get_queue)
    work = dataclasses.replace(jobs.reconcile_work(), grace_s=GRACE)
    assert reconcile.reconcile(redis, get_table(), work, now=time.time() + 2 * GRACE) == [asset.id]
    done = assets.get(get_table(), asset.creator_id, asset.id)
    assert done.status == assets.READY, done.error
