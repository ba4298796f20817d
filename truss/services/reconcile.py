"""The periodic reconcile: videos whose work went quiet for longer than a job may run get
their jobs queued again (a lost job, a Redis restart, retries used up by a crash loop).

Candidates live in a Redis sorted set (`cid/aid` → when they were queued), so the reconcile
never scans the table: it reads one item per candidate and acts only when the asset itself
says it has not moved for longer than the job timeout. The pipeline is idempotent, so queuing
again is always safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from redis import Redis

from truss.data import assets, clips
from truss.data.table import NotFound, Table

log = logging.getLogger(__name__)
WORKING_SET = "truss:working"

EnqueueAnalysis = Callable[[str, str, str], object]
EnqueueRender = Callable[[str, str, str], object]


def watch(redis: Redis, cid: str, aid: str) -> None:
    """Remember that this asset is being worked on."""
    redis.zadd(WORKING_SET, {f"{cid}/{aid}": time.time()})


def _claim(redis: Redis, aid: str, job_timeout_s: int) -> bool:
    """Only one worker's maintenance re-queues an asset per job timeout."""
    return bool(redis.set(f"truss:reconcile:{aid}", 1, nx=True, ex=job_timeout_s))


def _quiet_for(asset: assets.Asset, now: float) -> float:
    return now - datetime.fromisoformat(asset.updated_at).timestamp()


def reconcile(
    redis: Redis,
    table: Table,
    job_timeout_s: int,
    enqueue_analysis: EnqueueAnalysis,
    enqueue_render: EnqueueRender,
    now: float | None = None,
) -> list[str]:
    """Queue again the work of every watched asset quiet for longer than the job timeout;
    forget assets that finished. Returns the ids of the assets queued again."""
    now = time.time() if now is None else now
    requeued: list[str] = []
    due = redis.zrangebyscore(WORKING_SET, 0, now - job_timeout_s)
    for member in [m.decode() if isinstance(m, bytes) else str(m) for m in due]:
        cid, aid = member.split("/", 1)
        try:
            asset = assets.get(table, cid, aid)
        except NotFound:
            redis.zrem(WORKING_SET, member)
            continue
        if asset.status in {assets.READY, assets.FAILED}:
            if asset.status == assets.FAILED or not _renders_in_flight(table, asset):
                redis.zrem(WORKING_SET, member)
            elif _claim(redis, aid, job_timeout_s):  # a re-render went quiet on a ready video
                _queue_renders_again(table, asset, enqueue_render, int(now))
                redis.zadd(WORKING_SET, {member: now})
                requeued.append(aid)
        elif _quiet_for(asset, now) > job_timeout_s and _claim(redis, aid, job_timeout_s):
            _queue_again(table, asset, enqueue_analysis, enqueue_render, int(now))
            redis.zadd(WORKING_SET, {member: now})
            requeued.append(aid)
    return requeued


def _queue_again(
    table: Table,
    asset: assets.Asset,
    enqueue_analysis: EnqueueAnalysis,
    enqueue_render: EnqueueRender,
    stamp: int,
) -> None:
    log.warning("asset %s quiet in %s: queuing its work again", asset.id, asset.status)
    if asset.status in {assets.QUEUED, assets.ANALYZING}:
        enqueue_analysis(asset.creator_id, asset.id, f"reconciled-{stamp}")
        return
    _queue_renders_again(table, asset, enqueue_render, stamp)


def _renders_in_flight(table: Table, asset: assets.Asset) -> list[clips.Clip]:
    working = {clips.PENDING, clips.RENDERING}
    return [
        clip
        for clip in clips.for_asset(table, asset.creator_id, asset.id)
        if clip.render_status in working
    ]


def _queue_renders_again(
    table: Table, asset: assets.Asset, enqueue_render: EnqueueRender, stamp: int
) -> None:
    for clip in _renders_in_flight(table, asset):
        enqueue_render(asset.creator_id, clip.id, clip.render_id or f"reconciled-{stamp}")
