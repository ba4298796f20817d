"""Thin RQ entry points: take ids, build what they need, call a service.

Workers run inside the app context (`truss worker`), so jobs read settings from current_app.
Job ids are deterministic, so enqueuing the same work twice does not run it twice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any

from flask import current_app
from redis import Redis
from rq import Callback, Retry
from rq.job import Job

from truss.analysis.base import Analyzer, ClipLengths, StreamInfo
from truss.analysis.factory import build_analyzer
from truss.data import assets, clips, get_table
from truss.data.assets import Asset
from truss.queue import get_queue, get_redis
from truss.services import reconcile
from truss.services.pipeline import Pipeline
from truss.storage import get_storage

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[5, 30, 120])
CRASHED = "Analysis stopped unexpectedly ({error}). Press Retry to run it again."
RENDER_CRASHED = "Rendering stopped unexpectedly ({error}). Press Re-render to try again."


def ping(word: str = "pong") -> str:
    """A trivial job: proves a real worker picks work up (used by the stack test)."""
    return word


def _analyzer_for(asset: Asset, video: Path, probe: StreamInfo) -> Analyzer:
    return build_analyzer(current_app.config, get_table(), asset, video, probe)


def enqueue_render(cid: str, clid: str, render_id: str) -> object:
    return get_queue("render").enqueue(
        render_clip, cid, clid, render_id,
        job_id=f"render-{clid}-{render_id}", retry=RETRY,
        on_failure=Callback(render_crashed),
    )  # fmt: skip


def enqueue_rerender(cid: str, clid: str, render_id: str) -> object:
    """A re-render asked for from the pages: watched by the reconcile like any other work."""
    clip = clips.get(get_table(), cid, clid)
    reconcile.watch(get_redis(), cid, clip.asset_id)
    return enqueue_render(cid, clid, render_id)


def pipeline() -> Pipeline:
    config = current_app.config
    width, height = (int(n) for n in config["RENDER_SIZE"].split("x"))
    return Pipeline(
        table=get_table(),
        storage=get_storage(),
        analyzer_for=_analyzer_for,
        enqueue_render=enqueue_render,
        lengths=ClipLengths(config["CLIP_MIN_S"], config["CLIP_MAX_S"]),
        max_moments=config["MAX_CLIPS"],
        render_size=(width, height),
    )


def request_analysis(asset: Asset) -> Asset:
    """uploaded/failed/ready → queued, then enqueue the analysis (the on_uploaded hook)."""
    table = get_table()
    queued = assets.transition(
        table, asset.creator_id, asset.id, asset.status, assets.QUEUED,
        version=asset.version, stage="Waiting for a worker", progress=0,
    )  # fmt: skip
    reconcile.watch(get_redis(), asset.creator_id, asset.id)  # first: a failed enqueue is seen
    enqueue_analysis(asset.creator_id, asset.id, f"v{queued.version}")
    return queued


def enqueue_analysis(cid: str, aid: str, attempt: str) -> object:
    return get_queue("analysis").enqueue(
        analyze_asset, cid, aid,
        job_id=f"analyze-{aid}-{attempt}", retry=RETRY, on_failure=Callback(analysis_crashed),
    )  # fmt: skip


def reconcile_working_assets() -> list[str]:
    """Run by every worker's maintenance: queue again the work of assets that went quiet."""
    return reconcile.reconcile(
        get_redis(), get_table(), int(current_app.config["JOB_TIMEOUT_S"]),
        enqueue_analysis, enqueue_render,
    )  # fmt: skip


def analyze_asset(cid: str, aid: str) -> None:
    pipeline().analyze(cid, aid)


def render_clip(cid: str, clid: str, render_id: str) -> None:
    pipeline().render(cid, clid, render_id)


def _last_try(job: Job) -> bool:
    return not job.retries_left


def analysis_crashed(
    job: Job, connection: Redis, exc_type: type, value: BaseException, tb: TracebackType | Any
) -> None:
    """After the last retry, the asset says what happened instead of staying stuck."""
    if not _last_try(job):
        return
    cid, aid = job.args[0], job.args[1]
    try:
        assets.fail(get_table(), cid, aid, CRASHED.format(error=_short(value)))
    except (assets.InvalidTransition, Exception) as exc:  # already failed or finished
        log.info("could not mark asset %s failed: %s", aid, exc)


def render_crashed(
    job: Job, connection: Redis, exc_type: type, value: BaseException, tb: TracebackType | Any
) -> None:
    if not _last_try(job):
        return
    cid, clid, render_id = job.args[0], job.args[1], job.args[2]
    table = get_table()
    reason = RENDER_CRASHED.format(error=_short(value))
    failed = clips.fail_render(table, cid, clid, render_id, reason)
    if failed is not None:
        pipeline().count_render(cid, failed.asset_id, clid, failed=True)


def _short(value: BaseException) -> str:
    text = f"{type(value).__name__}: {value}"
    return text if len(text) < 160 else text[:157] + "…"
