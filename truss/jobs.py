"""Thin RQ entry points: take ids, build what they need, call a service.

Workers run inside the app context (`truss worker`), so jobs read settings from current_app.
Every job carries its run: an analysis job the asset's `run` (job id `analyze-<aid>-<run>`),
a render job the clip's render id (`render-<clid>-<render_id>`). Enqueuing checks RQ first
(`enqueue_once`): RQ 3 would run a job again if the same id were enqueued again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Retry, get_current_job
from rq.job import Job

from truss.analysis.base import Analyzer, ClipLengths, StreamInfo
from truss.analysis.factory import build_analyzer
from truss.analytics import cost, platform_stats, recording
from truss.data import assets, clips, publications, streams
from truss.data import platform_stats as platform_stats_store
from truss.data.assets import Asset
from truss.data.clips import Clip
from truss.data.gemini_files import AssetFileCache
from truss.data.publications import Publication
from truss.data.table import Conflict, NotFound
from truss.extensions import get_redis, get_storage, get_table, get_token_service, new_table
from truss.publishing import due, providers, runner
from truss.publishing.adapters import adapter_for
from truss.queue import enqueue_once, get_queue, job_active, job_timeout_s
from truss.services import analysis as analysis_rules
from truss.services import clips as clip_rules
from truss.services import reconcile
from truss.services.leases import Lease
from truss.services.pipeline import Loudness, Pipeline
from truss.services.quotas import Quotas, release_slot
from truss.streams import video_lag
from truss.streams.model import Spike

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[5, 30, 120])
CRASHED = (
    "The analysis stopped unexpectedly several times in a row. Press Retry to run it again; "
    "if it keeps stopping, the video may be damaged: export it again and upload the new file."
)
RENDER_CRASHED = (
    "Rendering stopped unexpectedly several times in a row. Press Re-render to try again, "
    "or trim the clip to a slightly different window."
)
LONG = "long"  # suffix of the job that takes over an analysis too long for its first job


def ping(word: str = "pong") -> str:
    """A trivial job: proves a real worker picks work up (used by the stack test)."""
    return word


def _analyzer_for(asset: Asset, video: Path, probe: StreamInfo) -> Analyzer:
    cache = AssetFileCache(get_table(), asset.creator_id, asset.id)  # the analyzer's only memory
    return build_analyzer(current_app.config, video, probe, cache)


def analysis_job_ids(aid: str, run: int) -> tuple[str, str]:
    """The ids a run's analysis job can have: the first, and the one a long video hands to."""
    first = f"analyze-{aid}-{run}"
    return first, f"{first}-{LONG}"


def render_job_id(clid: str, render_id: str) -> str:
    return f"render-{clid}-{render_id}"


def _duration_of_clip(cid: str, clid: str) -> float | None:
    try:
        clip = clips.get(get_table(), cid, clid)
        return assets.get(get_table(), cid, clip.asset_id).duration_s
    except NotFound:
        return None


def enqueue_render(cid: str, clid: str, render_id: str) -> object:
    """Queue one render (once: an active job with the same render id is left to run); its
    timeout grows with the source video's length."""
    timeout = job_timeout_s(current_app.config, _duration_of_clip(cid, clid))
    return enqueue_once(
        get_queue("render"), render_clip, cid, clid, render_id,
        job_id=render_job_id(clid, render_id), job_timeout=timeout, retry=RETRY,
        on_failure=Callback(render_crashed),
    )  # fmt: skip


def enqueue_rerender(cid: str, clid: str, render_id: str) -> object:
    """A re-render asked for from the pages: watched by the reconcile like any other work."""
    clip = clips.get(get_table(), cid, clid)
    reconcile.watch(get_redis(), cid, clip.asset_id)
    return enqueue_render(cid, clid, render_id)


def queue_render(clip: Clip) -> Clip:
    """Queue the pending render a page's service decided on (a trim, a clip of one's own);
    if the queue refuses it, the clip says so (`clip_rules.fail_unqueued`)."""
    try:
        enqueue_rerender(clip.creator_id, clip.id, clip.render_id)
    except Exception as exc:  # Redis down, etc.: don't leave the clip pending forever
        return clip_rules.fail_unqueued(get_table(), clip, exc)
    return clip


def pipeline() -> Pipeline:
    config = current_app.config
    width, height = (int(n) for n in config["RENDER_SIZE"].split("x"))
    chat = _StreamChat()
    return Pipeline(
        table=get_table(),
        storage=get_storage(),
        analyzer_for=_analyzer_for,
        enqueue_render=enqueue_render,
        lengths=ClipLengths(config["CLIP_MIN_S"], config["CLIP_MAX_S"]),
        max_moments=config["MAX_CLIPS"],
        render_size=(width, height),
        gemini_words=config["GEMINI_TRANSCRIPTS"],
        quota=Quotas.from_config(config),
        hand_over=hand_over_long_analysis,
        lease=Lease.for_heartbeat(config["WORKER_HEARTBEAT_S"]),
        lease_table=new_table,
        chat_spikes_for=chat.spikes_for,
        estimate_chat_lag=chat.estimate_lag,
        tally=recording.AppTally(),
    )


class _StreamChat:
    """One analysis's chat: the linked stream is read once, for its spikes and its lag."""

    def __init__(self) -> None:
        self.stream: streams.Stream | None = None

    def spikes_for(self, cid: str, aid: str, sid: str) -> tuple[float, list[Spike]]:
        """The reaction lag and chat spikes of stream `sid` while it is linked to this video."""
        table = get_table()
        self.stream = streams.linked_stream(table, cid, sid, aid)
        if self.stream is None:
            return streams.DEFAULT_LAG_S, []
        return self.stream.lag_s, streams.spikes(table, cid, sid)

    def estimate_lag(
        self, cid: str, aid: str, spikes: list[Spike], loudness: Loudness
    ) -> float | None:
        if self.stream is None:
            return None
        return video_lag.estimate_for_video(get_table(), cid, aid, spikes, loudness, self.stream)


def request_analysis(asset: Asset) -> Asset:
    """uploaded/failed/ready → queued in a new run, then enqueue the run's analysis (the
    on_uploaded hook). If Redis refuses the enqueue, the asset stays queued and watched: the
    reconcile queues it within a maintenance period or two."""
    table = get_table()
    reconcile.watch(get_redis(), asset.creator_id, asset.id)  # first: a lost enqueue is seen
    queued = assets.transition(
        table, asset.creator_id, asset.id, asset.status, assets.QUEUED,
        version=asset.version, run=assets.next_run(asset),
        stage="Waiting for a worker", progress=0,
    )  # fmt: skip
    try:
        enqueue_analysis(queued.creator_id, queued.id, queued.run, queued.duration_s)
    except RedisError:  # Redis down beyond retries: the reconcile picks the run up
        log.exception("could not enqueue the analysis of %s; the reconcile will", queued.id)
    return queued


def queue_analysis(
    follow_up: analysis_rules.FollowUp, start: Callable[[Asset], object] = request_analysis
) -> Asset:
    """Run what a service decided for a video (an upload's confirmation, Retry): when it
    says to analyse it, `start` it (request_analysis; tests pass a stand-in), and if that
    fails, `analysis_rules.not_queued` gives its slot back and says what the creator sees.
    Returns the video as it is now."""
    asset = follow_up.asset
    if not follow_up.analyse:
        return asset
    try:
        start(asset)
    except BaseException as exc:
        analysis_rules.not_queued(get_table(), follow_up, exc)
    return assets.get(get_table(), asset.creator_id, asset.id)


def enqueue_analysis(
    cid: str, aid: str, run: int, duration_s: float | None = None, job_id: str | None = None,
    handed_from: str = "",
) -> object:  # fmt: skip
    """Queue the run's analysis once; its timeout grows with the video's length (a video
    not probed yet gets the timeout of ASSUMED_DURATION_S and hands over if longer: the
    new job takes the run's lease over from `handed_from`)."""
    extra: dict[str, Any] = {"handed_from": handed_from} if handed_from else {}
    return enqueue_once(
        get_queue("analysis"), analyze_asset, cid, aid, run, **extra,
        job_id=job_id or analysis_job_ids(aid, run)[0],
        job_timeout=job_timeout_s(current_app.config, duration_s),
        retry=RETRY, on_failure=Callback(analysis_crashed),
    )  # fmt: skip


def hand_over_long_analysis(cid: str, aid: str, run: int, duration_s: float, holder: str) -> bool:
    """A video longer than its job's timeout allows: queue the run's `-long` job with a
    timeout that fits (it takes the lease over from `holder`), and let the current job
    stop (True)."""
    job = get_current_job()
    needed = job_timeout_s(current_app.config, duration_s)
    if job is None or job.id.endswith(LONG) or (job.timeout or 0) >= needed:
        return False
    log.info("asset %s is %.0f s long: handing over to a %d s job", aid, duration_s, needed)
    long_id = analysis_job_ids(aid, run)[1]
    enqueue_analysis(cid, aid, run, duration_s, job_id=long_id, handed_from=holder)
    return True


def analysis_active(aid: str, run: int) -> bool:
    redis = get_redis()
    return any(job_active(redis, job_id) for job_id in analysis_job_ids(aid, run))


def render_active(clid: str, render_id: str) -> bool:
    return job_active(get_redis(), render_job_id(clid, render_id))


def reconcile_work() -> reconcile.Work:
    """The reconcile's view of RQ: the real enqueuers and job-status checks."""
    config = current_app.config
    return reconcile.Work(
        enqueue_analysis=enqueue_analysis,
        enqueue_render=enqueue_render,
        analysis_active=analysis_active,
        render_active=render_active,
        timeout_for=lambda asset: job_timeout_s(config, asset.duration_s),
        grace_s=int(config["WORKER_MAINTENANCE_S"]),
    )


def reconcile_working_assets() -> list[str]:
    """Run by every worker's maintenance: queue again the work of assets whose jobs RQ lost."""
    return reconcile.reconcile(get_redis(), get_table(), reconcile_work())


# --- publishing (truss/publishing/runner.py does the work) -------------------------------

PUBLISH_RETRY = Retry(max=4, interval=[10, 60, 300, 900])


def publish_job_id(pub: Publication) -> str:
    """One job per (post, time it is due): a double click or an enqueue after a reschedule
    to the same time queues nothing more; a reschedule to another time is a new job (the old
    one finds the post not due and does nothing)."""
    return f"publish-{pub.clip_id}-{pub.platform}-{pub.scheduled_at}"


def enqueue_publication(pub: Publication, run_at: datetime | None = None) -> object:
    """Queue the post's job: now, or at `run_at` (timezone-aware UTC) through RQ's
    scheduler. The post also goes into the due set the reconcile reads, first, so a lost
    enqueue (Redis hiccup, a scheduler that never ran) is found."""
    at = run_at.astimezone(UTC) if run_at is not None else None
    if at is not None and at <= datetime.now(UTC):
        at = None
    try:
        due.watch(get_redis(), pub)
        return enqueue_once(
            get_queue("publish"), publish_clip, pub.creator_id, pub.clip_id, pub.platform,
            job_id=publish_job_id(pub), at=at, retry=PUBLISH_RETRY,
        )  # fmt: skip
    except RedisError:  # the due set heals when the post is next read (due.rewatch)
        log.exception("could not enqueue the post %s; the reconcile will", pub.member)
        return None


def watch_publications(posts: Iterable[Publication]) -> None:
    """Called when a page reads posts: the due set heals (due.rewatch); a Redis
    failure here only logs (the page still shows the posts)."""
    try:
        added = due.rewatch(get_redis(), posts)
    except RedisError:
        log.exception("could not check the due set")
        return
    if added:
        log.warning(
            "%d post(s) were missing from the due set; the reconcile will queue them", added
        )


def schedule_publication_check(pub: Publication, delay_s: float) -> object:
    """A status check of a post the platform is still processing, in `delay_s` seconds."""
    at = datetime.now(UTC) + timedelta(seconds=delay_s)
    return enqueue_once(
        get_queue("publish"), publish_clip, pub.creator_id, pub.clip_id, pub.platform,
        job_id=f"{publish_job_id(pub)}-check-{pub.checks}", at=at, retry=PUBLISH_RETRY,
    )  # fmt: skip


def schedule_publication_retry(pub: Publication, delay_s: float) -> object:
    """Another attempt once a short rate limit or quota lifts, in `delay_s` seconds (one job
    per attempt: the claim that failed counted it)."""
    at = datetime.now(UTC) + timedelta(seconds=delay_s)
    return enqueue_once(
        get_queue("publish"), publish_clip, pub.creator_id, pub.clip_id, pub.platform,
        job_id=_retry_job_id(pub), at=at, retry=PUBLISH_RETRY,
    )  # fmt: skip


def _retry_job_id(pub: Publication) -> str:
    return f"{publish_job_id(pub)}-retry-{pub.attempts}"


def publish_runner() -> runner.Runner:
    config = current_app.config
    lease = Lease.for_heartbeat(config["WORKER_HEARTBEAT_S"])
    settings = runner.RunnerSettings(
        lease_s=lease.seconds,
        renew_every_s=lease.renew_every_s,
        processing_deadline_s=float(config.get("PUBLISH_PROCESSING_DEADLINE_S", 1800)),
        discord_limit_bytes=int(config["DISCORD_UPLOAD_LIMIT_BYTES"]),
    )
    return runner.Runner(
        table=get_table(),
        storage=get_storage(),
        tokens=get_token_service(),
        adapter_for=lambda platform: adapter_for(platform, config),
        refresher_for=lambda platform: providers.refresher(platform, config),
        schedule_check=schedule_publication_check,
        schedule_retry=schedule_publication_retry,
        settings=settings,
        lease_table=new_table,
    )


def publish_clip(cid: str, clid: str, platform: str) -> None:
    """The publish job: one attempt at one post (RetryLater makes RQ try again later)."""
    job = get_current_job()
    last_try = job is None or not job.retries_left or not current_app.config["RQ_ASYNC"]
    # Per run: an RQ retry and the reconcile's re-enqueue keep the job's id, and a paused
    # run woken after its successor claimed the post must not count as the lease holder.
    worker = f"{job.id}:{secrets.token_hex(4)}" if job is not None else ""
    event = job.id if job is not None else f"publish:{clid}:{platform}:{time.time_ns()}"
    with recording.job_usage(get_table(), cid, "", "publish", event):
        pub = publish_runner().run(cid, clid, platform, last_try=last_try, worker=worker)
    if pub is not None:
        recording.count_publication(pub)
    if pub is not None and pub.status == publications.PUBLISHED:
        _track_for_stats(cid)


def publication_active(pub: Publication) -> bool:
    redis = get_redis()
    first = publish_job_id(pub)
    return any(
        job_active(redis, job_id)
        for job_id in (first, f"{first}-check-{pub.checks}", _retry_job_id(pub))
    )


def reconcile_publications() -> list[str]:
    """Run by every worker's maintenance: queue the posts whose job RQ lost (see
    due.reconcile_due)."""
    config = current_app.config
    work = due.DueWork(
        enqueue=lambda pub: enqueue_publication(pub),
        active=publication_active,
        grace_s=float(config["WORKER_MAINTENANCE_S"]),
    )
    return due.reconcile_due(get_redis(), get_table(), work, time.time())


# --- platform statistics (truss/analytics/platform_stats.py does the work) ---------------


def _track_for_stats(cid: str) -> None:
    try:
        platform_stats.track(get_redis(), cid)
    except RedisError:  # the dashboard tracks the creator again when it is opened
        log.exception("could not track %s for platform statistics", cid)


def platform_stats_collector() -> platform_stats.Collector:
    config = current_app.config
    table = get_table()
    return platform_stats.Collector(
        table=table,
        tokens=get_token_service(),
        adapter_for=lambda platform: adapter_for(platform, config),
        refresher_for=lambda platform: providers.refresher(platform, config),
        history=lambda cid, first, last: platform_stats_store.read_range(table, cid, first, last),
        refetch_days=int(config["PLATFORM_STATS_REFETCH_DAYS"]),
    )


def collect_platform_stats(cid: str) -> dict[str, str]:
    """The statistics job: one creator's figures from every platform (errors recorded)."""
    outcome = platform_stats_collector().run(cid)
    if not outcome:
        platform_stats.forget(get_redis(), cid)
    return outcome


def schedule_platform_stats() -> list[str]:
    """Run by every worker's maintenance: once per PLATFORM_STATS_EVERY_S, one job per
    creator with published posts."""
    every = int(current_app.config["PLATFORM_STATS_EVERY_S"])

    def enqueue(cid: str, round_no: int) -> object:
        return enqueue_once(
            get_queue("default"), collect_platform_stats, cid,
            job_id=f"platform-stats-{cid}-{round_no}", job_timeout=600,
        )  # fmt: skip

    return platform_stats.schedule_round(get_redis(), every, enqueue)


def analyze_asset(cid: str, aid: str, run: int | None = None, handed_from: str = "") -> None:
    job = get_current_job()  # a retry keeps its id: its capacity is counted once
    event = job.id if job is not None else f"analysis:{aid}:{run}"
    work = pipeline()
    with recording.job_usage(work.table, cid, aid, cost.ANALYSIS, event):
        work.analyze(cid, aid, run, handed_from)


def render_clip(cid: str, clid: str, render_id: str) -> None:
    work = pipeline()
    try:
        aid = clips.get(work.table, cid, clid).asset_id
    except NotFound:  # deleted meanwhile: the render does nothing (and costs one read)
        return
    with recording.job_usage(work.table, cid, aid, cost.RENDERS, f"render:{clid}:{render_id}"):
        work.render(cid, clid, render_id)


def _last_try(job: Job) -> bool:
    return not job.retries_left


def analysis_crashed(
    job: Job, connection: Redis, exc_type: type, value: BaseException, tb: TracebackType | Any
) -> None:
    """After the last retry, the asset says what happened instead of staying stuck; only if
    it is still in this job's run (a crashed old run leaves a newer one alone)."""
    if not _last_try(job):
        return
    cid, aid = job.args[0], job.args[1]
    run = job.args[2] if len(job.args) > 2 else None
    log.error("analysis of %s (run %s) crashed: %s", aid, run, value, exc_info=value)
    try:
        assets.fail(get_table(), cid, aid, CRASHED, expected_run=run)
    except (assets.InvalidTransition, Conflict, NotFound) as exc:  # finished, moved on, gone
        log.info("did not mark asset %s failed: %s", aid, exc)
    release_slot(get_table(), cid, aid)  # its analysis slot is free (unless it still runs)


def render_crashed(
    job: Job, connection: Redis, exc_type: type, value: BaseException, tb: TracebackType | Any
) -> None:
    if not _last_try(job):
        return
    cid, clid, render_id = job.args[0], job.args[1], job.args[2]
    log.error("render %s of clip %s crashed: %s", render_id, clid, value, exc_info=value)
    failed = clips.fail_render(get_table(), cid, clid, render_id, RENDER_CRASHED)
    if failed is not None:
        pipeline().count_render(cid, failed.asset_id, clid, failed=True, run=failed.run)
