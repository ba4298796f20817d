"""Redis and the RQ queues: one connection per process, made lazily."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Worker
from rq.worker import BaseWorker

QUEUES = ("default", "analysis", "render")
WORKER_STALE_AFTER = timedelta(seconds=90)


def get_redis() -> Redis:
    ext = current_app.extensions
    if "truss.redis" not in ext:
        ext["truss.redis"] = current_app.config.get("REDIS_CONNECTION") or Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=3
        )
    redis: Redis = ext["truss.redis"]
    return redis


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


def live_workers(redis: Redis) -> list[BaseWorker]:
    """Workers whose heartbeat is recent: the ones that will actually run a job."""
    now = datetime.now(UTC)
    alive = []
    for worker in Worker.all(connection=redis):
        beat = worker.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        if beat is not None and now - beat < WORKER_STALE_AFTER:
            alive.append(worker)
    return alive
