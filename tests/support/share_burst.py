"""A burst of public share-page views on the real local stack: used by the hot-counter stack
test (tests/integration/test_share_burst.py) and the benchmark (bench/analytics.py)."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from flask import Flask

from tests.support.clips import make_clip, ready_asset
from truss.analytics import counters, metrics
from truss.data import analytics as daily
from truss.data import keys
from truss.extensions import get_table
from truss.services.clips import start_sharing

# The stack for a burst: no per-address share limit in the way (every view comes from one
# address here), the counters flushed every 2 s instead of every minute.
BURST_ENV = {
    "TRUSS_SHARE_RATE_LIMIT": "1000000 per minute",
    "TRUSS_WORKER_MAINTENANCE_S": "2",
    "TRUSS_ANALYTICS_FLUSH_S": "2",
}


def shared_clip(app: Flask, cid: str, clid: str) -> str:
    """A rendered clip of the creator's, shared: the path of its public page. The creator
    gets a profile, as sign-up gives one (the counters' flush drops a creator without)."""
    with app.app_context():
        get_table().put({**keys.creator_profile(cid), "type": "creator"})
    asset = ready_asset(app, cid)
    clip = make_clip(app, cid, asset.id, clid)
    with app.app_context():
        return f"/s/{start_sharing(get_table(), clip)}"


@dataclass
class Burst:
    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # each view's latency
    lock: threading.Lock = field(default_factory=threading.Lock)

    def view(self, session: requests.Session, url: str) -> None:
        begun = time.perf_counter()
        status = session.get(url, timeout=30).status_code
        with self.lock:
            self.statuses.append(status)
            self.seconds.append(time.perf_counter() - begun)


def burst(url: str, views: int, threads: int) -> Burst:
    """`views` GETs of the page from a pool of `threads` (a session each)."""
    done = Burst()
    local = threading.local()

    def one(_: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        done.view(local.session, url)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(views)))
    return done


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of the values, interpolated."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(p) - 1))]


def views_counted(app: Flask, cid: str) -> float:
    """The creator's share views of today as the table holds them (flushed, shards summed)."""
    with app.app_context():
        today = counters.utc_day()
        (figures,) = daily.read_days(get_table(), cid, today, today)
    return figures.counters.get(metrics.SHARE_VIEWS, 0.0)
