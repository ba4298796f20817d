"""Counting from the app: the event sites call `record` (jobs) or `note` (requests), and every
request's own DynamoDB capacity is counted to its creator when it ends, in the same single
Redis round trip as what the request noted (never a DynamoDB write per request).

The web tier counts through a Redis client of its own with a short timeout and no retries,
so a slow or dead Redis costs a request at most ANALYTICS_REDIS_TIMEOUT_S once, then nothing
for a few seconds (truss.analytics.counters pauses after an error).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, has_request_context
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.wrappers import Response

from truss.analytics import cost, counters, metrics
from truss.data import analytics as daily
from truss.data import assets, publications
from truss.data.assets import Asset
from truss.data.publications import Publication
from truss.data.table import Table
from truss.extensions import get_redis

log = logging.getLogger(__name__)

READ_OPERATIONS = frozenset({"get", "query", "scan", "batch_get"})
WRITE_OPERATIONS = frozenset({"put", "update", "delete", "transact"})


def counting_redis() -> Redis:
    """The app's Redis for counting: the test connection if one is configured, else a client
    with a short timeout and no retries (one per process)."""
    config = current_app.config
    if config.get("REDIS_CONNECTION") is not None:
        return config["REDIS_CONNECTION"]
    ext = current_app.extensions
    if "truss.analytics.redis" not in ext:
        timeout = config["ANALYTICS_REDIS_TIMEOUT_S"]
        ext["truss.analytics.redis"] = Redis.from_url(
            config["REDIS_URL"],
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
    client: Redis = ext["truss.analytics.redis"]
    return client


def record(cid: str, amounts: Mapping[str, float], event_id: str = "", hot: bool = False) -> bool:
    """Count now (jobs, or outside a request); with an event id only once. Never raises.
    A request counts through the short-timeout client; a job (no request) through the
    process's client, which waits longer and retries: a loaded worker loses no count."""
    try:
        redis = counting_redis() if has_request_context() else get_redis()
        shards = current_app.config["ANALYTICS_SHARDS"] if hot else 1
    except Exception:  # no app, no settings: a count is never worth a failure
        log.warning("analytics count lost (no app): %s %s", cid, amounts, exc_info=True)
        return False
    return counters.count(redis, cid, amounts, shards=shards, event_id=event_id)


def note(cid: str, amounts: Mapping[str, float], hot: bool = False) -> None:
    """Count at the end of this request, with its capacity, to this creator (a public page
    counts to the clip's owner); hot: a public event, spread over the shards."""
    g.analytics_cid = cid
    g.analytics_hot = bool(g.get("analytics_hot")) or hot
    pending: dict[str, float] = g.setdefault("analytics_pending", {})
    for name, value in amounts.items():
        pending[name] = pending.get(name, 0.0) + value


def capacity(table: Table) -> tuple[float, float]:
    """(read units, write units) this Table object has consumed so far."""
    reads = sum(v for op, v in table.consumed.items() if op in READ_OPERATIONS)
    writes = sum(v for op, v in table.consumed.items() if op in WRITE_OPERATIONS)
    return reads, writes


def capacity_counters(reads: float, writes: float) -> dict[str, float]:
    return {metrics.DDB_READ_UNITS: reads, metrics.DDB_WRITE_UNITS: writes}


def _end_of_request(response: Response) -> Response:
    try:
        _count_request()
    except Exception:  # counting must never fail a request
        log.exception("analytics: this request's counts were lost")
    return response


def _count_request() -> None:
    creator = g.get("creator")
    cid = g.get("analytics_cid") or (creator.id if creator is not None else "")
    if not cid:
        return
    amounts = dict(g.get("analytics_pending", {}))
    table = g.get("truss_table")
    if table is not None:
        for name, value in capacity_counters(*capacity(table)).items():
            amounts[name] = amounts.get(name, 0.0) + value
    record(cid, amounts, hot=bool(g.get("analytics_hot")))


def register(app: Flask) -> None:
    """Count every request's capacity (and what it noted) when it ends."""
    app.after_request(_end_of_request)


@contextmanager
def job_usage(table: Table, cid: str, aid: str, stage: str, event_id: str) -> Iterator[None]:
    """Count the DynamoDB capacity one job run used to its creator's day and (with an asset
    id) to the video's own cost (`stage`: cost.ANALYSIS or cost.RENDERS), once per event id."""
    reads0, writes0 = capacity(table)
    try:
        yield
    finally:
        reads, writes = capacity(table)
        spent = capacity_counters(reads - reads0, writes - writes0)
        record(cid, spent, event_id=f"{event_id}:capacity")
        if aid:
            add_to_asset(table, cid, aid, stage, event_id + ":capacity", spent)


def add_to_asset(
    table: Table, cid: str, aid: str, stage: str, event_id: str, amounts: Mapping[str, float]
) -> None:
    """Add to one video's own cost item (once per event id); a failure is logged only."""
    staged = {cost.stage_metric(stage, name): value for name, value in amounts.items()}
    try:
        daily.add_asset_cost(table, cid, aid, event_id, staged)
    except Exception:
        log.warning("asset cost not recorded: %s %s %s", aid, event_id, staged, exc_info=True)


def event_amounts(**amounts: Any) -> dict[str, float]:
    """Keyword counters without the zero ones."""
    return {name: float(value) for name, value in amounts.items() if value}


def flush_buffers() -> list[str]:
    """Run by every worker's maintenance: the minute flush of the counters (at most one per
    ANALYTICS_FLUSH_S over all workers). Returns nothing to warn about."""
    from truss.extensions import get_table

    config = current_app.config
    report = counters.flush(get_redis(), get_table(), interval_s=config["ANALYTICS_FLUSH_S"])
    if report.moved or report.applied or report.repeated or report.failed:
        log.info(
            "analytics flush: %d moved aside, %d applied, %d applied before, %d failed, "
            "skipped %s", report.moved, report.applied, report.repeated, report.failed,
            report.skipped,
        )  # fmt: skip
    return []


class Tally:
    """What the pipeline counts through; this base counts nothing (pipelines built in tests
    that don't look at counters). `AppTally` counts for real."""

    def count(self, cid: str, amounts: Mapping[str, float], event_id: str) -> None:
        """Count to the creator's day, once per event id."""

    def job(
        self,
        table: Table,
        cid: str,
        aid: str,
        stage: str,
        event_id: str,
        amounts: Mapping[str, float],
    ) -> None:
        """Count to the creator's day and to the video's own cost, once per event id."""


class AppTally(Tally):
    def count(self, cid: str, amounts: Mapping[str, float], event_id: str) -> None:
        record(cid, amounts, event_id=event_id)

    def job(
        self,
        table: Table,
        cid: str,
        aid: str,
        stage: str,
        event_id: str,
        amounts: Mapping[str, float],
    ) -> None:
        record(cid, amounts, event_id=event_id)
        add_to_asset(table, cid, aid, stage, event_id, amounts)


def count_upload(asset: Asset) -> None:
    """A video whose upload was confirmed (once per video, however often it is confirmed)."""
    if asset.status in {assets.UPLOADING, assets.FAILED} or not asset.size:
        return
    amounts = {
        metrics.VIDEOS_UPLOADED: 1,
        metrics.S3_BYTES_STORED: float(asset.size),
        metrics.S3_PUT_REQUESTS: float(asset.part_count if asset.part_bytes else 1),
    }
    record(asset.creator_id, amounts, event_id=f"upload:{asset.id}")


def count_publication(pub: Publication) -> None:
    """A post that ended: published, or failed with no retry coming (once per attempt)."""
    if pub.status == publications.PUBLISHED:
        name = metrics.qualified(metrics.PUBLISH_OK, pub.platform)
    elif pub.status in publications.RETRYABLE and not pub.retry_at:  # failed, no retry coming
        name = metrics.qualified(metrics.PUBLISH_FAILED, pub.platform)
    else:
        return
    event = f"publish:{pub.clip_id}:{pub.platform}:{pub.attempts}:{pub.status}"
    record(pub.creator_id, {name: 1}, event_id=event)
