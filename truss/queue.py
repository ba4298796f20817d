"""Redis and the RQ queues: one connection per process, made lazily."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import BaseWorker

from truss.extensions import get_redis

QUEUES = ("default", "analysis", "render", "publish")
ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})
ENQUEUE_LOCK_S = 10
ASSUMED_DURATION_S = 3600.0  # a video not probed yet; a longer one hands over (see jobs)


def get_queue(name: str = "default") -> Queue:
    """A queue; with RQ_ASYNC off (unit tests) jobs run at once, in process."""
    return Queue(
        name,
        connection=get_redis(),
        is_async=current_app.config["RQ_ASYNC"],
        default_timeout=current_app.config["JOB_TIMEOUT_S"],
    )


def enqueue(queue: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    return get_queue(queue).enqueue(func, *args, **kwargs)


def job_timeout_s(config: Mapping[str, Any], duration_s: float | None) -> int:
    """How long one analysis or render job of a video may run: a floor plus a multiple of
    the video's length (TRUSS_JOB_TIMEOUT_S + TRUSS_JOB_TIMEOUT_PER_VIDEO_S * duration); a
    video not probed yet counts as ASSUMED_DURATION_S long. The reconcile's and the pages'
    "stuck" threshold grows with the same number."""
    length = duration_s if duration_s and duration_s > 0 else ASSUMED_DURATION_S
    return int(config["JOB_TIMEOUT_S"] + config["JOB_TIMEOUT_PER_VIDEO_S"] * length)


def job_active(redis: Redis, job_id: str) -> bool:
    """Whether RQ still holds this job waiting, scheduled or running (a retry counts)."""
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in ACTIVE


def enqueue_once(
    queue: Queue, func: Any, *args: Any, job_id: str, at: datetime | None = None, **kwargs: Any
) -> Job | None:
    """Enqueue unless a job with this id is still active (RQ would run it a second time);
    with `at` (timezone-aware), scheduled for then (RQ's scheduler queues it).

    A short Redis lock makes two enqueuers racing on the same id enqueue it once; the one
    that loses returns None (the winner's job does the work)."""
    redis = queue.connection
    lock = f"truss:enqueue:{job_id}"
    if not redis.set(lock, 1, nx=True, ex=ENQUEUE_LOCK_S):
        return None
    try:
        if job_active(redis, job_id):
            return Job.fetch(job_id, connection=redis)
        if at is not None:
            return queue.enqueue_at(at, func, *args, job_id=job_id, **kwargs)
        return queue.enqueue(func, *args, job_id=job_id, **kwargs)
    finally:
        redis.delete(lock)


def worker_stale_after(config: Mapping[str, Any]) -> timedelta:
    """How long a worker may go without a heartbeat before it counts as gone: RQ's own rule
    for a busy worker (it beats every TRUSS_WORKER_HEARTBEAT_S and its key lives that + 60
    s; an idle one beats at least as often), so a long heartbeat doesn't make it flap."""
    return timedelta(seconds=int(config["WORKER_HEARTBEAT_S"]) + 60)


def live_workers(redis: Redis, stale_after: timedelta | None = None) -> list[BaseWorker]:
    """Workers whose heartbeat is recent (within `stale_after`, by default what the app's
    worker settings allow): the ones that will actually run a job."""
    stale_after = stale_after or worker_stale_after(current_app.config)
    now = datetime.now(UTC)
    alive = []
    for worker in Worker.all(connection=redis):
        beat = worker.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        if beat is not None and now - beat < stale_after:
            alive.append(worker)
    return alive
