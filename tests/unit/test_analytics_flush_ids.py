"""The day items' list of applied flush ids stays small: a counter shard flushed every minute
all day keeps at most FLUSH_IDS_PRUNE_AT ids, pruned in one extra write now and then, so 90
days of the default 4 hot shards plus shard 0, each at that worst, are one Query page (1 MB)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.support.aws import AwsSlate
from truss.data import analytics as daily
from truss.data import keys
from truss.data.table import Table

CID = "01JAAAAAAAAAAAAAAAAAAAAAD1"
DAY = datetime.date(2026, 11, 30)
QUERY_PAGE_BYTES = 1024 * 1024
DAYS, SHARDS = 90, 5


@pytest.fixture
def table(aws: None, _moto_session: AwsSlate) -> Table:
    return Table(_moto_session.dynamodb, _moto_session.table_name, "secret")


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (a number at most 21 bytes)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, set | list | tuple):
            size += sum(len(str(member).encode()) for member in value)
        else:
            size += 21
    return size


def test_a_shard_flushed_every_minute_all_day_stays_one_query_page_over_90_days(
    table: Table,
) -> None:
    start = int(datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC).timestamp())
    metrics = {f"metric_{n}": 1.0 for n in range(12)}  # a busy day's counters
    biggest = 0
    updates_before = table.calls["update"]
    minutes = 8 * 60  # a third of a day is past any horizon: the size has levelled out
    for minute in range(minutes):
        flush_id = daily.new_flush_id(start + 60 * minute)
        assert daily.apply_flush(table, CID, DAY, 0, flush_id, metrics)
        item = table.get(keys.analytics_day_part(CID, DAY.isoformat(), "s0"))
        biggest = max(biggest, item_bytes(item))
        assert len(item[daily.FLUSHES]) <= daily.FLUSH_IDS_PRUNE_AT + 1

    assert biggest * DAYS * SHARDS < QUERY_PAGE_BYTES
    prunes = table.calls["update"] - updates_before - minutes
    assert prunes <= minutes // 20  # pruning is an occasional extra write, not one per flush
    assert item["metric_0"] == minutes  # every flush counted once
