"""How late scheduled posts start, on the real local stack (`make bench` runs it after
bench.run; nothing is asserted).

    .venv/bin/python -m bench.publish            # a table, then one JSON line
    .venv/bin/python -m bench.publish --posts 40

A `truss dev` stack (moto, Redis, the worker with RQ's scheduler, the fake platforms) is
started; Discord is connected to a fake webhook; POSTS clips are scheduled a few seconds ahead,
several due in the same second, through the same path the publish page uses (the service, then
truss.jobs.enqueue_publication: RQ's enqueue_at). Each post records when its job claimed it
(`started_at`); lateness is started_at - scheduled_at. Reported: percentiles, the share that
started within 1, 2 and 5 seconds, and how many ended published (each exactly once on the fake).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

CID = "01JBENCHPUB11SH00000000000"
LEAD_S = 8  # the first post is due this long after it is scheduled
PER_SECOND = 4  # posts due in the same second
WAIT_S = 180.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(posts: int) -> dict[str, Any]:
    from tests.stack import LocalStack
    from tests.support.clips import clip_id, make_clip, ready_asset
    from truss import create_app, jobs
    from truss.config import from_environ
    from truss.data import publications as store
    from truss.data.platform_tokens import Account
    from truss.extensions import get_table, get_token_service
    from truss.publishing import service
    from truss.publishing.tokens import TokenSet

    with tempfile.TemporaryDirectory(prefix="truss-bench-publish-") as tmp:
        stack = LocalStack(Path(tmp)).start()
        try:
            os.environ.update(stack.client_env())
            app = create_app(from_environ())
            with app.app_context():
                table = get_table()
                hook = _new_webhook(stack.fake_platforms_url)
                get_token_service().connect(
                    CID, Account("discord", "hook", "#bench"), TokenSet(hook)
                )
                asset = ready_asset(app, CID)
                made = [make_clip(app, CID, asset.id, clip_id(900 + n)) for n in range(posts)]
                first = int(time.time()) + LEAD_S
                for n, clip in enumerate(made):
                    when = first + n // PER_SECOND
                    request = service.PostRequest("discord", f"Bench post {n}")
                    at = _utc(when)
                    result = service.publish(table, CID, clip, [request], at, time.time())
                    assert not result.errors, result.errors
                    for pub, run_at in result.to_enqueue:
                        jobs.enqueue_publication(pub, run_at)
                deadline = time.monotonic() + WAIT_S + posts / PER_SECOND
                while time.monotonic() < deadline:
                    found = store.list_for_creator(table, CID)
                    if len(found) == posts and all(p.terminal for p in found):
                        break
                    time.sleep(0.5)
                found = store.list_for_creator(table, CID)
            received = _received(stack.fake_platforms_url)
        finally:
            stack.stop()
    late = [p.started_at - p.scheduled_at for p in found if p.started_at]
    return {
        "posts": posts,
        "started": len(late),
        "published": sum(p.status == store.PUBLISHED for p in found),
        "received": received,
        "late_s": sorted(late),
    }


def _utc(epoch: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def _new_webhook(base: str) -> str:
    import requests

    answer = requests.post(f"{base}/_fake/discord/webhooks", json={"channel": "bench"}, timeout=5)
    answer.raise_for_status()
    body = answer.json()
    return str(body.get("url") or body["webhook_url"])


def _received(base: str) -> int:
    import requests

    entries = requests.get(f"{base}/_fake/received", timeout=5).json()
    return sum(1 for e in entries if e["platform"] == "discord")


def report(got: dict[str, Any]) -> str:
    late: list[float] = got["late_s"]
    n = len(late) or 1
    within = {s: sum(1 for x in late if x <= s) / n for s in (1, 2, 5)}
    lines = [
        f"scheduled posts: {got['posts']}, started {got['started']}, published "
        f"{got['published']}, posts the fake Discord received {got['received']}",
        "lateness (started_at - scheduled_at), seconds: "
        + ", ".join(f"p{q} {percentile(late, q):.2f}" for q in (50, 90, 99))
        + f", max {max(late, default=float('nan')):.2f}",
        "started within 1 s / 2 s / 5 s: " + " / ".join(f"{within[s]:.0%}" for s in (1, 2, 5)),
    ]
    return "\n".join(lines)


def main() -> None:
    from bench.common import emit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20)
    args = parser.parse_args()
    got = measure(args.posts)
    print(report(got), flush=True)
    emit(got)


if __name__ == "__main__":
    main()
