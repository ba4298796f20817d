"""Daily counters: the day items and their one-Query range read, the Redis buffer and its
minute flush (exact under many threads, once per flush id even after a crash midway), and
job events counted once however often a job is retried."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.support.aws import AwsSlate
from truss.analytics import metrics
from truss.data import analytics as daily
from truss.data.table import Table

CID = "01JCREATOR0000000000000001"
OTHER = "01JCREATOR0000000000000002"
DAY = datetime.date(2026, 11, 30)


@pytest.fixture
def table(aws: None, _moto_session: AwsSlate) -> Table:
    return Table(_moto_session.dynamodb, _moto_session.table_name, "secret")


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
