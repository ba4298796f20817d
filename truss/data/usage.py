"""Per-creator usage counters for the quotas: bytes stored and seconds analysed per month.

Two kinds of item under the creator's partition, both changed only with atomic `ADD`s:

| item                           | attribute     | what                                          |
|--------------------------------|---------------|-----------------------------------------------|
| `CREATOR#<cid>` / `USAGE`       | `stored_bytes` | source videos + rendered clips held in S3     |
| `CREATOR#<cid>` / `USAGE`       | `analyses`    | videos holding an analysis slot now           |
| `CREATOR#<cid>` / `USAGE#<yyyy-mm>` | `analysed_s` | seconds of video analysed in that UTC month |

They are items of their own (not fields on the profile) so that hot counters never touch
the profile, which every request reads and the session layer caches, and so that a new month
starts from nothing without a reset job.

Every change is a transaction that also marks the item the bytes or seconds belong to (an
asset's or clip's `stored_bytes`, an asset's `analysed_run`): a retried job or request can
never count twice, and deleting an item gives back exactly what it was charged. An asset
holding one of the creator's analysis slots says so (`slot`): taking one is conditional on
the asset not holding one yet, giving it back on the asset still holding it, so each slot is
counted and given back exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.table import AlreadyExists, Conflict, Item, Table

USAGE_TYPE = "usage"
STORED = "stored_bytes"
ANALYSED = "analysed_s"
ANALYSED_RUN = "analysed_run"
ANALYSED_MONTH = "analysed_month"  # where the run's seconds went, to give them back
ANALYSED_CHARGE = "analysed_charge"
REFUNDED = ":refunded"  # suffix of `analysed_run` once a run's seconds were given back
ANALYSES = "analyses"
SLOT = "slot"
DELETING = "deleting"  # the delete fence on an asset (truss.data.assets.fence)
ATTEMPTS = 4


class OverLimit(Exception):
    """The counter would pass its limit; nothing was changed."""


class Gone(Exception):
    """The item to charge no longer exists (deleted meanwhile); nothing was changed."""


@dataclass(frozen=True)
class Usage:
    stored_bytes: int
    analysed_s: float
    month: str
    analyses: int = 0


def read(table: Table, cid: str, month: str) -> Usage:
    """The creator's storage counter and the given month's analysed seconds (two GetItems)."""
    storage = table.find(keys.usage(cid)) or {}
    analysed = table.find(keys.usage_month(cid, month)) or {}
    return Usage(
        stored_bytes=max(int(storage.get(STORED, 0)), 0),
        analysed_s=max(float(analysed.get(ANALYSED, 0)), 0.0),
        month=month,
        analyses=max(int(storage.get(ANALYSES, 0)), 0),
    )


def _counter_update(key: keys.Key, name: str, amount: float, limit: float) -> dict[str, Any]:
    """ADD `amount` to a usage counter (made on first use); with a limit, only if it stays
    at or under it."""
    update: dict[str, Any] = {
        "Key": key,
        "UpdateExpression": "SET #type = :type ADD #n :amount",
        "ExpressionAttributeNames": {"#type": "type", "#n": name},
        "ExpressionAttributeValues": {":type": USAGE_TYPE, ":amount": amount},
    }
    if limit > 0 and amount > 0:
        update["ConditionExpression"] = "attribute_not_exists(#n) OR #n <= :room"
        update["ExpressionAttributeValues"][":room"] = limit - amount
    return {"Update": update}


def storage_charge(cid: str, nbytes: int, limit: int = 0) -> dict[str, Any]:
    """A transaction action adding `nbytes` to the creator's storage counter (never past
    `limit`): for a transaction that also creates the item holding those bytes."""
    return _counter_update(keys.usage(cid), STORED, nbytes, limit)


def _mark_update(
    key: keys.Key, name: str, new: Any, old: Any, only_if: tuple[str, str] | None = None,
    also: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """SET the item's own record of what it was charged, if it still holds `old` (and, with
    `only_if`, that attribute still has that value), and it is not being deleted (the delete
    gives back what it was charged before it fences: a charge after that would stay)."""
    condition = "attribute_exists(PK) AND attribute_not_exists(#deleting) AND " + (
        "attribute_not_exists(#m)" if old is None else "#m = :old"
    )
    names: dict[str, str] = {"#m": name, "#deleting": DELETING}
    values: dict[str, Any] = {":new": new}
    if old is not None:
        values[":old"] = old
    if only_if is not None:
        condition += " AND #w = :w"
        names["#w"], values[":w"] = only_if
    sets = ["#m = :new"]
    for i, (attribute, value) in enumerate((also or {}).items()):
        names[f"#x{i}"], values[f":x{i}"] = attribute, value
        sets.append(f"#x{i} = :x{i}")
    return {
        "Update": {
            "Key": key,
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _remove_mark(key: keys.Key, name: str, old: Any) -> dict[str, Any]:
    return {
        "Update": {
            "Key": key,
            "UpdateExpression": "REMOVE #m",
            "ConditionExpression": "#m = :old",
            "ExpressionAttributeNames": {"#m": name},
            "ExpressionAttributeValues": {":old": old},
        }
    }


def set_asset_stored(table: Table, cid: str, aid: str, nbytes: int, limit: int = 0) -> int:
    """Record that the asset's source file holds `nbytes` in S3 (see `_set_stored`)."""
    return _set_stored(table, cid, keys.asset(cid, aid), nbytes, limit)


def set_clip_stored(table: Table, cid: str, clid: str, nbytes: int, render_id: str) -> int:
    """Record that the clip's render `render_id` holds `nbytes` in S3; Gone when the clip
    moved on to another render (see `_set_stored`)."""
    return _set_stored(table, cid, keys.clip(cid, clid), nbytes, only_if=("render_id", render_id))


def _set_stored(
    table: Table, cid: str, item_key: keys.Key, nbytes: int, limit: int = 0,
    only_if: tuple[str, str] | None = None,
) -> int:  # fmt: skip
    """Record that the asset or clip at `item_key` now holds `nbytes` in S3, adding the
    difference to the creator's storage counter. Returns the change (0 when already
    recorded). With a `limit` (bytes), OverLimit when growing would pass it; Gone when the
    item was deleted (or, with `only_if` (attribute, value), that attribute changed)."""
    for _ in range(ATTEMPTS):
        item = _live(table, item_key, only_if)
        old = item.get(STORED)
        delta = nbytes - int(old or 0)
        if delta == 0 and old is not None:
            return 0
        if limit > 0 and delta > limit:
            raise OverLimit(f"{delta} bytes can never fit in {limit}")
        try:
            table.transact(
                [
                    _mark_update(item_key, STORED, nbytes, old, only_if),
                    _counter_update(keys.usage(cid), STORED, delta, limit),
                ]
            )
        except Conflict:  # cancelled, e.g. another transaction on the counter: try again
            continue
        except AlreadyExists:  # a condition failed: the item's, or the limit's
            if _changed(table, item_key, STORED, old, only_if):
                continue  # someone else changed the item first: look again
            raise OverLimit(f"{delta} more bytes would pass {limit}") from None
        return delta
    raise Conflict(f"{item_key['PK']} {item_key['SK']} kept changing")


def release_asset_stored(table: Table, cid: str, aid: str) -> int:
    """Give back what the asset's source was charged (before deleting it)."""
    return _release_stored(table, cid, keys.asset(cid, aid))


def release_clip_stored(table: Table, cid: str, clid: str) -> int:
    """Give back what the clip's render was charged (before deleting it)."""
    return _release_stored(table, cid, keys.clip(cid, clid))


def _release_stored(table: Table, cid: str, item_key: keys.Key) -> int:
    """Give back what the item was charged (before deleting it); 0 when it holds nothing."""
    for _ in range(ATTEMPTS):
        item = table.find(item_key)
        old = None if item is None else item.get(STORED)
        if old is None:
            return 0
        try:
            table.transact(
                [
                    _remove_mark(item_key, STORED, old),
                    _counter_update(keys.usage(cid), STORED, -int(old), 0),
                ]
            )
        except (AlreadyExists, Conflict):
            continue  # changed or released meanwhile: look again
        return int(old)
    raise Conflict(f"{item_key['PK']} {item_key['SK']} kept changing")


def charge_analysis(
    table: Table, cid: str, aid: str, run: str, month: str, seconds: float, limit: float
) -> bool:
    """Count `seconds` of analysed video towards `month`, once per analysis run of the asset.

    False when this run was counted already; OverLimit when the month's total would pass
    `limit` seconds (0: no limit); Gone when the asset was deleted.
    """
    asset_key = keys.asset(cid, aid)
    for _ in range(ATTEMPTS):
        old = _live(table, asset_key).get(ANALYSED_RUN)
        if old == run:
            return False
        if limit > 0 and seconds > limit:
            raise OverLimit(f"{seconds} s can never fit in {limit} s")
        try:
            table.transact(
                [
                    _mark_update(
                        asset_key,
                        ANALYSED_RUN,
                        run,
                        old,
                        also={ANALYSED_MONTH: month, ANALYSED_CHARGE: seconds},
                    ),
                    _counter_update(keys.usage_month(cid, month), ANALYSED, seconds, limit),
                ]
            )
        except Conflict:
            continue
        except AlreadyExists:
            if _changed(table, asset_key, ANALYSED_RUN, old):
                continue
            raise OverLimit(f"{seconds} more seconds would pass {limit}") from None
        return True
    raise Conflict(f"{asset_key['PK']} {asset_key['SK']} kept changing")


def refund_analysis(table: Table, cid: str, aid: str, run: str) -> float:
    """Give back the seconds charged for this run, once (the asset remembers the month and
    the amount); 0 when the run was not charged, or was given back already."""
    asset_key = keys.asset(cid, aid)
    for _ in range(ATTEMPTS):
        item = table.find(asset_key)
        if item is None or item.get(ANALYSED_RUN) != run or ANALYSED_MONTH not in item:
            return 0.0
        seconds, month = float(item[ANALYSED_CHARGE]), str(item[ANALYSED_MONTH])
        mark = {
            "Update": {
                "Key": asset_key,
                "UpdateExpression": "SET #m = :refunded",
                "ConditionExpression": "#m = :run",
                "ExpressionAttributeNames": {"#m": ANALYSED_RUN},
                "ExpressionAttributeValues": {":run": run, ":refunded": run + REFUNDED},
            }
        }
        counter = _counter_update(keys.usage_month(cid, month), ANALYSED, -seconds, 0)
        try:
            table.transact([mark, counter])
        except (AlreadyExists, Conflict):
            continue  # changed or given back meanwhile: look again
        return seconds
    raise Conflict(f"{asset_key['PK']} {asset_key['SK']} kept changing")


def take_slot(table: Table, cid: str, aid: str, limit: int) -> bool:
    """Let the asset hold one of the creator's analysis slots (counted in the same
    transaction that marks the asset). False when it holds one already (an earlier attempt,
    or a concurrent confirmation of the same video); OverLimit when `limit` (0: none) slots
    are held; Gone when the asset is deleted or being deleted."""
    asset_key = keys.asset(cid, aid)
    for _ in range(ATTEMPTS):
        if _live(table, asset_key).get(SLOT):
            return False
        mark = _mark_update(asset_key, SLOT, True, None)
        try:
            table.transact([mark, _counter_update(keys.usage(cid), ANALYSES, 1, limit)])
        except Conflict:
            continue
        except AlreadyExists:
            if _changed(table, asset_key, SLOT, None):
                continue  # took one meanwhile: look again
            raise OverLimit(f"{limit} analyses at once") from None
        return True
    raise Conflict(f"{asset_key['PK']} {asset_key['SK']} kept changing")


def give_back_slot(table: Table, cid: str, aid: str, busy: tuple[str, ...]) -> bool:
    """The asset's run ended (its status is none of `busy`, or it is being deleted): give
    its slot back, once. False when it holds none or is still busy."""
    asset_key = keys.asset(cid, aid)
    names = {"#m": SLOT, "#deleting": DELETING, "#status": "status"}
    values = {f":b{i}": status for i, status in enumerate(busy)}
    idle = f"NOT #status IN ({', '.join(values)})"
    release = {
        "Update": {
            "Key": asset_key,
            "UpdateExpression": "REMOVE #m",
            "ConditionExpression": f"attribute_exists(#m) AND (attribute_exists(#deleting) "
            f"OR {idle})",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }
    for _ in range(ATTEMPTS):
        item = table.find(asset_key)
        if item is None or not item.get(SLOT):
            return False
        if not item.get(DELETING) and item.get("status") in busy:
            return False
        try:
            table.transact([release, _counter_update(keys.usage(cid), ANALYSES, -1, 0)])
        except (AlreadyExists, Conflict):
            continue  # changed or given back meanwhile: look again
        return True
    raise Conflict(f"{asset_key['PK']} {asset_key['SK']} kept changing")


def _changed(
    table: Table, key: keys.Key, name: str, old: Any, only_if: tuple[str, str] | None = None
) -> bool:
    """After a refused transaction: did the item (not the limit) refuse it?"""
    return _live(table, key, only_if).get(name) != old


def _live(table: Table, key: keys.Key, only_if: tuple[str, str] | None = None) -> Item:
    """The item to charge; Gone when it was deleted, is being deleted, or (with `only_if`)
    that attribute no longer has that value."""
    item: Item | None = table.find(key)
    if (
        item is None
        or item.get(DELETING)
        or (only_if is not None and item.get(only_if[0]) != only_if[1])
    ):
        raise Gone(f"{key['PK']} {key['SK']}")
    return item


def count_existing(
    table: Table, render_bytes: Callable[[Sequence[str]], int], force: bool = False
) -> int | None:
    """Count the storage of videos and rendered clips written before quotas existed (one
    Scan, by `truss init`): each item not yet charged is charged its bytes (a source its
    `size`, a clip its render's files, measured by `render_bytes`) through `_set_stored`, so
    every item counts once, whatever runs alongside and however often this runs. Returns how
    many items were counted; None when an earlier run finished (unless `force`)."""
    if not force and table.find(keys.usage_backfill_marker()) is not None:
        return None
    uncharged = Attr(STORED).not_exists() & Attr(DELETING).not_exists()
    stored_items = table.scan(
        uncharged & Attr("type").is_in(["asset", "clip"]),
        attributes=("PK", "SK", "type", "size", "video_key", "poster_key", "render_id"),
    )
    counted = sum(_count_one(table, item, render_bytes) for item in stored_items)
    table.put({**keys.usage_backfill_marker(), "type": USAGE_TYPE, "at": int(time.time())})
    return counted


def _count_one(table: Table, item: Item, render_bytes: Callable[[Sequence[str]], int]) -> int:
    key, cid = {"PK": item["PK"], "SK": item["SK"]}, keys.creator_id_from_pk(item["PK"])
    only_if: tuple[str, str] | None = None
    if item["type"] == "asset":
        nbytes = int(item.get("size") or 0)  # set once the upload was confirmed
    else:
        files = [item[name] for name in ("video_key", "poster_key") if item.get(name)]
        nbytes = render_bytes(files) if files else 0
        if item.get("render_id"):
            only_if = ("render_id", str(item["render_id"]))
    if nbytes <= 0:
        return 0
    try:
        _set_stored(table, cid, key, nbytes, only_if=only_if)
    except Gone:  # deleted, or re-rendered (the new render charges itself) meanwhile
        return 0
    return 1
