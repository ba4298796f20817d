"""The periodic reconcile: videos whose work was lost get their jobs queued again (a lost
enqueue in a Redis hiccup, a Redis restart, retries used up by a crash loop).

Candidates live in a Redis sorted set (`cid/aid` → when they were last queued or checked),
so the reconcile never scans the table: every maintenance period it reads one item per
candidate quiet for at least `grace_s`, and re-queues a run's work only when RQ no longer
holds an active job for it. A healthy run (its job waiting in a backlog, or running for
hours on a long video) is never queued twice, and the jobs themselves are conditional on
their run, so even a duplicate does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from truss.data import assets, clips
from truss.data.table import NotFound, Table

log = logging.getLogger(__name__)
WORKING_SET = "truss:working"


@dataclass(frozen=True)
class Work:
    """How the reconcile sees and queues jobs (truss.jobs passes the RQ-backed ones)."""

    enqueue_analysis: Callable[[str, str, int, float | None], object]
    enqueue_render: Callable[[str, str, str], object]
    analysis_active: Callable[[str, int], bool]
    render_active: Callable[[str, str], bool]
    timeout_for: Callable[[assets.Asset], int]
    grace_s: int = 60


def watch(redis: Redis, cid: str, aid: str) -> None:
    """Remember that this asset is being worked on."""
    redis.zadd(WORKING_SET, {f"{cid}/{aid}": time.time()})


def _claim(redis: Redis, aid: str, seconds: int) -> bool:
    """Only one worker's maintenance looks at an asset per grace period."""
    return bool(redis.set(f"truss:reconcile:{aid}", 1, nx=True, ex=max(1, seconds)))


def quiet_for(asset: assets.Asset, now: float) -> float:
    return now - datetime.fromisoformat(asset.updated_at).timestamp()


def reconcile(redis: Redis, table: Table, work: Work, now: float | None = None) -> list[str]:
    """Queue again the lost work of every watched asset; forget assets that finished.
    Returns the ids of the assets whose work was queued again."""
    now = time.time() if now is None else now
    requeued: list[str] = []
    due = redis.zrangebyscore(WORKING_SET, 0, now - work.grace_s)
    for member in [m.decode() if isinstance(m, bytes) else str(m) for m in due]:
        cid, aid = member.split("/", 1)
        try:
            asset = assets.get(table, cid, aid)
        except NotFound:
            redis.zrem(WORKING_SET, member)
            continue
        if asset.deleting or asset.status in {assets.FAILED, assets.UPLOADING, assets.UPLOADED}:
            redis.zrem(WORKING_SET, member)
            continue
        in_flight = _renders_in_flight(table, asset)
        if asset.status == assets.READY and not in_flight:
            redis.zrem(WORKING_SET, member)
            continue
        if not _claim(redis, aid, work.grace_s):
            continue
        if _queue_lost_work(asset, in_flight, work, now):
            requeued.append(aid)
        redis.zadd(WORKING_SET, {member: now})
    return requeued


def _queue_lost_work(
    asset: assets.Asset, in_flight: list[clips.Clip], work: Work, now: float
) -> bool:
    """Queue what RQ no longer holds; True if anything was queued."""
    if asset.status in {assets.QUEUED, assets.ANALYZING}:
        if work.analysis_active(asset.id, asset.run):
            if quiet_for(asset, now) > work.timeout_for(asset):
                log.warning("asset %s: its analysis job runs past its timeout", asset.id)
            return False
        log.warning("asset %s %s with no analysis job: queuing run %s", *_what(asset))
        work.enqueue_analysis(asset.creator_id, asset.id, asset.run, asset.duration_s)
        return True
    lost = [c for c in in_flight if not work.render_active(c.id, _render_id(asset, c))]
    for clip in lost:
        log.warning("clip %s render %s has no job: queuing it again", clip.id, clip.render_id)
        work.enqueue_render(asset.creator_id, clip.id, _render_id(asset, clip))
    return bool(lost)


def _render_id(asset: assets.Asset, clip: clips.Clip) -> str:
    """The clip's render id (a clip written before render ids were set: its run's)."""
    return clip.render_id or clips.first_render_id(asset.run)


def _what(asset: assets.Asset) -> tuple[str, str, int]:
    return asset.id, asset.status, asset.run


def _renders_in_flight(table: Table, asset: assets.Asset) -> list[clips.Clip]:
    if asset.status not in {assets.RENDERING, assets.READY}:
        return []
    working = {clips.PENDING, clips.RENDERING}
    return [
        clip
        for clip in clips.for_asset(table, asset.creator_id, asset.id)
        if clip.render_status in working
    ]
