"""Daily analytics items: one UTC day's figures are several items sharing a sort-key prefix.

- `CREATOR#<cid>` / `ANALYTICS#DAILY#<yyyy-mm-dd>#s<n>`: counter shard n (metric name ->
  value), ADDed by the minute flush; `flushes` holds the flush ids applied.
- `CREATOR#<cid>` / `ANALYTICS#DAILY#<yyyy-mm-dd>#platform`: platform statistics, written
  whole by the platform job.
- `CREATOR#<cid>` / `ASSET#<aid>#COST`: what one video's analysis and renders consumed;
  `applied` holds the run/render ids counted.

A range of days is ONE Query (`SK BETWEEN ANALYTICS#DAILY#<first># AND ANALYTICS#DAILY#<last>#~`),
paginated only past 1 MB; reads sum the shards.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from truss.data import keys
from truss.data.table import AlreadyExists, Conflict, Item, Table, backoff_s

DAILY_TYPE = "analytics_daily"
PLATFORM_PART = "platform"
SHARD_PREFIX = "s"
FLUSHES = "flushes"  # string set of the flush ids applied to a shard item
ASSET_COST_TYPE = "asset_cost"
APPLIED = "applied"  # string set of the event ids counted into an asset's cost item
# A shard item remembers the flush ids applied to it for an hour (an aside buffer is retried
# every minute, so one applied but not deleted is seen again long before), pruned in one
# write once it holds more than FLUSH_IDS_PRUNE_AT: a day flushed every minute keeps 60-90
# ids (about 1.5 KB), so 90 days of 5 shards stay within one 1 MB Query page.
FLUSH_IDS_KEPT_S = 3600
FLUSH_IDS_PRUNE_AT = 90
ASSET_COST_TRIES = 4  # a video's cost transaction, tried again after a transaction conflict
META = frozenset({"PK", "SK", "type", "day", "part", FLUSHES, APPLIED, "updated_at"})


@dataclass(frozen=True)
class DayFigures:
    day: datetime.date  # a UTC day
    counters: dict[str, float] = field(default_factory=dict)  # summed over the shards
    parts: dict[str, Item] = field(default_factory=dict)  # other parts' raw items ("platform")


def day_text(day: datetime.date) -> str:
    return day.isoformat()


def shard_part(shard: int) -> str:
    return f"{SHARD_PREFIX}{shard}"


def is_shard_part(part: str) -> bool:
    return part.startswith(SHARD_PREFIX) and part[len(SHARD_PREFIX) :].isdigit()


def counters_of(item: Mapping[str, Any]) -> dict[str, float]:
    """The numeric counters of a shard or cost item (its keys and marks left out)."""
    return {
        name: float(value)
        for name, value in item.items()
        if name not in META and isinstance(value, int | float) and not isinstance(value, bool)
    }


def read_days(
    table: Table, cid: str, first: datetime.date, last: datetime.date
) -> list[DayFigures]:
    """Every UTC day first..last (oldest first, zeros when nothing happened): ONE Query."""
    if last < first:
        raise ValueError(f"range ends ({last}) before it starts ({first})")
    low, high = keys.analytics_day_range(day_text(first), day_text(last))
    counters: dict[str, dict[str, float]] = {}
    parts: dict[str, dict[str, Item]] = {}
    for item in table.query_between(keys.creator_pk(cid), low, high):
        day, part = keys.analytics_day_part_from_sk(item["SK"])
        if is_shard_part(part):
            summed = counters.setdefault(day, {})
            for name, value in counters_of(item).items():
                summed[name] = summed.get(name, 0.0) + value
        else:
            parts.setdefault(day, {})[part] = item
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayFigures(d, counters.get(day_text(d), {}), parts.get(day_text(d), {})) for d in days]


def apply_flush(
    table: Table,
    cid: str,
    day: datetime.date,
    shard: int,
    flush_id: str,
    amounts: Mapping[str, float],
) -> bool:
    """ADD one flushed buffer to its shard item, once per flush id (False: applied before).
    Past FLUSH_IDS_PRUNE_AT ids, those older than FLUSH_IDS_KEPT_S are dropped from the item
    (flush ids start with their time), so a busy day's item stays small: a buffer left aside
    is retried every minute, long before its id is dropped."""
    key = keys.analytics_day_part(cid, day_text(day), shard_part(shard))
    changes = {"type": DAILY_TYPE, "day": day_text(day)}
    applied = table.add_once(key, dict(amounts), FLUSHES, flush_id, changes=changes)
    if applied is None:
        return False
    if len(applied) > FLUSH_IDS_PRUNE_AT:
        horizon = flush_time(flush_id) - FLUSH_IDS_KEPT_S
        table.drop_marks(key, FLUSHES, {old for old in applied if flush_time(old) < horizon})
    return True


def new_flush_id(now: float) -> str:
    """A flush id: its time (8 hex digits of epoch seconds), then 8 random hex digits."""
    return f"{int(now):08x}{secrets.token_hex(4)}"


def flush_time(flush_id: str) -> int:
    """The epoch second a flush id was made at (0 for an id without one)."""
    try:
        return int(flush_id[:8], 16)
    except ValueError:
        return 0


def write_part(
    table: Table, cid: str, day: datetime.date, part: str, attributes: Mapping[str, Any]
) -> None:
    """Replace one non-counter part of a day (e.g. `platform`) whole."""
    if is_shard_part(part):
        raise ValueError(f"part {part!r} is a counter shard; counters are only ADDed")
    key = keys.analytics_day_part(cid, day_text(day), part)
    reserved = set(attributes) & {"PK", "SK", "type", "day", "part"}
    if reserved:
        raise ValueError(f"attributes {sorted(reserved)} are the item's own")
    table.put({**key, "type": DAILY_TYPE, "day": day_text(day), "part": part, **attributes})


def add_asset_cost(
    table: Table, cid: str, aid: str, event_id: str, amounts: Mapping[str, float]
) -> bool:
    """ADD what one run or render of an asset consumed to its cost item, once per event id,
    and only while the asset exists and is not being deleted (a job finishing after its
    video's delete leaves no stray item). False when nothing was added for one of those
    reasons; a transaction conflict (another render of the video writing at once) is tried
    again (safe: the event id's condition), and raises Conflict after ASSET_COST_TRIES."""
    amounts = {name: value for name, value in amounts.items() if value}
    if not amounts:
        return False
    names = {"#t": "type", "#m": APPLIED}
    values: dict[str, Any] = {":t": ASSET_COST_TYPE, ":m": {event_id}, ":mark": event_id}
    adds = ["#m :m"]
    for i, (name, value) in enumerate(amounts.items()):
        names[f"#a{i}"], values[f":a{i}"] = name, value
        adds.append(f"#a{i} :a{i}")
    add = {
        "Update": {
            "Key": keys.asset_cost(cid, aid),
            "UpdateExpression": "SET #t = :t ADD " + ", ".join(adds),
            "ConditionExpression": "NOT contains(#m, :mark)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }
    asset_alive = {
        "ConditionCheck": {
            "Key": keys.asset(cid, aid),
            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(#deleting)",
            "ExpressionAttributeNames": {"#deleting": "deleting"},
        }
    }
    for attempt in range(ASSET_COST_TRIES - 1):
        try:
            return _transact_once(table, [add, asset_alive])
        except Conflict:  # another write to these items at once (parallel renders): again
            time.sleep(backoff_s(attempt))
    return _transact_once(table, [add, asset_alive])


def _transact_once(table: Table, actions: list[dict[str, Any]]) -> bool:
    """One try; False when a condition failed (counted before, or the video is gone)."""
    try:
        table.transact(actions)
    except AlreadyExists:
        return False
    return True


def read_asset_cost(table: Table, cid: str, aid: str) -> dict[str, float]:
    """What an asset's analysis and renders consumed so far (empty when nothing counted)."""
    return counters_of(table.find(keys.asset_cost(cid, aid)) or {})
