"""Liveness and readiness for load balancers, orchestrators and the local stack's tools.

Liveness (/healthz) needs no backend: the process answers. Readiness (/readyz) asks whether this
web node can serve: DynamoDB, S3 and Redis reachable. It also reports whether a worker is alive
and whether TRUSS_PROXY_HOPS matches the requests, but neither makes a web node unready (a
worker outage must not take every web node out of the load balancer). The answer never holds
exception text, hosts or ARNs: failures are logged here. The backend checks are cached for
READINESS_CACHE_S seconds per process, so a flood of checks costs no backend calls, and only
one request measures at a time: the others get the last answer at once (or, before the first
measurement ends, "not measured yet", i.e. not ready) instead of waiting on a hung backend.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis

from truss.data.table import Table
from truss.queue import live_workers
from truss.storage import Storage

log = logging.getLogger(__name__)

Check = dict[str, object]
Report = dict[str, Check]
REQUIRED = ("dynamodb", "s3", "redis")
NO_WORKER = (
    "No worker has sent a heartbeat within TRUSS_WORKER_HEARTBEAT_S + 60 s: uploads wait "
    "until one runs."
)
NOT_MEASURED = "Not measured yet: this process's first check is still running."


def _check(name: str, probe: Callable[[], object]) -> Check:
    try:
        detail = probe()
    except Exception:  # a health check reports every failure, whatever its type
        log.warning("readiness: the %s check failed", name, exc_info=True)
        return {"ok": False, "error": f"{name} is not reachable from this node (see its log)."}
    return {"ok": True, **({"detail": detail} if detail else {})}


def _workers(redis: Redis) -> Check:
    try:
        count = len(live_workers(redis))
    except Exception:
        log.warning("readiness: the worker registry could not be read", exc_info=True)
        return {"ok": False, "error": "Unknown: the worker registry in Redis can't be read."}
    if not count:
        return {"ok": False, "error": NO_WORKER}
    return {"ok": True, "detail": f"{count} alive"}


def backend_report(table: Table, storage: Storage, redis: Redis) -> Report:
    """One call to each backend (and the worker registry in Redis)."""
    return {
        "dynamodb": _check("dynamodb", table.ping),
        "s3": _check("s3", storage.ping),
        "redis": _check("redis", redis.ping),
        "worker": _workers(redis),
    }


def proxy_check(warning: str) -> Check:
    return {"ok": False, "error": warning} if warning else {"ok": True}


def is_ready(report: Report) -> bool:
    return all(report[name]["ok"] for name in REQUIRED)


def not_measured() -> Report:
    """The answer while this process's first measurement is running: not ready, yet."""
    return {name: {"ok": False, "error": NOT_MEASURED} for name in (*REQUIRED, "worker")}


@dataclass
class ReadinessCache:
    """The last backend report of this process, reused for `ttl_s` seconds. One request
    measures at a time, outside the lock; the others never wait for it."""

    ttl_s: float
    clock: Callable[[], float] = time.monotonic
    _report: Report | None = None
    _taken_at: float = 0.0
    _measuring: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, measure: Callable[[], Report]) -> Report:
        with self._lock:
            now = self.clock()
            fresh = self._report is not None and now - self._taken_at < self.ttl_s
            if fresh or self._measuring:  # someone is measuring: answer with what we have
                return self._report or not_measured()
            self._measuring = True
        try:
            report = measure()
            with self._lock:
                self._report, self._taken_at = report, now
            return report
        finally:
            with self._lock:
                self._measuring = False
