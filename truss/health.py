"""What /healthz reports: can we reach DynamoDB, S3 and Redis, and is a worker alive?"""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis

from truss.data.table import Table
from truss.queue import live_workers
from truss.storage import Storage


def _check(probe: Callable[[], object]) -> dict[str, object]:
    try:
        detail = probe()
    except Exception as exc:  # a health check reports every failure, whatever its type
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, **({"detail": detail} if detail else {})}


def _workers(redis: Redis) -> str:
    count = len(live_workers(redis))
    if not count:
        raise RuntimeError("no worker has sent a heartbeat in the last 90 s")
    return f"{count} alive"


def health_report(table: Table, storage: Storage, redis: Redis) -> dict[str, dict[str, object]]:
    return {
        "dynamodb": _check(table.ping),
        "s3": _check(storage.ping),
        "redis": _check(redis.ping),
        "worker": _check(lambda: _workers(redis)),
    }
