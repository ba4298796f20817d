"""Counting events cheaply: a Redis buffer per creator, UTC day and shard, flushed to the
day's DynamoDB items each minute.

Counting (`count`) is one MULTI round trip: HINCRBYFLOAT on the buffer hash, SADD of its name
to the dirty set. It never raises and never waits long: the web tier counts through its own
Redis client with a short timeout and no retries (`counting_redis`), and after a failure it
stops trying for a few seconds, so a Redis outage costs the share page nothing but the count
(logged). Jobs count through the worker's patient client (5 s, retried): a job event
carries an event id and adds its own buffer field (`<counter>@<event id>`, SET not
INCRBY), so a command redis-py sends again after a lost reply adds nothing twice, and a
MULTI whose reply timed out keeps its event id (it may have run): at most once, never twice.

The flush (`flush`, run by every worker's maintenance, at most once a minute over all workers)
moves each dirty buffer aside under a new flush id in one MULTI (SREM dirty, RENAME, SADD
aside), then ADDs every aside buffer to its shard item with a condition that the flush id is
not applied yet, and only then deletes it. A flusher that dies midway leaves its buffers
aside; the next run applies them again and the condition makes that a no-op: nothing lost,
nothing counted twice.

Shards: job events (uploads, analyses, renders, publishes, tokens, capacity) are at most a few
a second per creator and go to shard 0. Public events (share-page views, downloads) have no
bound -- a viral clip -- and each picks one of ANALYTICS_SHARDS shards at random, a buffer
of its own flushing to its own item `#s<n>`. Reads sum the shards. On one Redis server this
buys little (a HINCRBYFLOAT costs the same on any key; one flush runs at a time, so no item
is contended) and costs up to ANALYTICS_SHARDS writes a minute and items a day instead of
one. Redis Cluster, where spreading keys would pay, is not supported: a count's MULTI writes
its buffer and the shared dirty set, keys of different slots (CROSSSLOT).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import secrets
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from truss.data import analytics as daily
from truss.data import keys
from truss.data.table import Table

log = logging.getLogger(__name__)

NS = "truss:analytics"
DIRTY = f"{NS}:dirty"  # names of buffers holding counts not moved aside yet
ASIDE = f"{NS}:aside"  # names of buffers moved aside, not yet applied and deleted
FLUSH_LOCK = f"{NS}:flush-lock"
EVENT_TTL_S = 14 * 24 * 3600  # how long a counted job event's id is remembered
PAUSE_AFTER_ERROR_S = 5.0  # counting stops trying this long after a Redis error
EVENT_MARK = "@"  # a buffer field `<counter>@<event id>`: one job event's own amount


def utc_day(now: float | None = None) -> datetime.date:
    """The UTC day of `now` (epoch seconds; the present if None): every count's day."""
    return datetime.datetime.fromtimestamp(time.time() if now is None else now, datetime.UTC).date()


def buffer_key(cid: str, day: datetime.date, shard: int) -> str:
    return f"{NS}:buf:{cid}:{day.isoformat()}:{shard}"


def aside_key(flush_id: str, cid: str, day: datetime.date, shard: int) -> str:
    return f"{NS}:aside:{flush_id}:{cid}:{day.isoformat()}:{shard}"


def _parse(name: str | bytes) -> tuple[str, str, datetime.date, int]:
    """(flush id or "", cid, day, shard) of a buffer or aside key name."""
    text = name.decode() if isinstance(name, bytes) else name
    parts = text[len(NS) + 1 :].split(":")
    if parts[0] == "buf" and len(parts) == 4:
        _, cid, day, shard = parts
        flush_id = ""
    elif parts[0] == "aside" and len(parts) == 5:
        _, flush_id, cid, day, shard = parts
    else:
        raise ValueError(f"not an analytics buffer: {text!r}")
    return flush_id, cid, datetime.date.fromisoformat(day), int(shard)


def event_key(event_id: str) -> str:
    return f"{NS}:event:{event_id}"


_PAUSED: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _paused(redis: Redis) -> bool:
    """Whether this Redis client failed less than PAUSE_AFTER_ERROR_S ago."""
    return time.monotonic() < _PAUSED.get(redis, 0.0)


def _pause(redis: Redis) -> None:
    with contextlib.suppress(TypeError):  # a client that can't be weakly referenced
        _PAUSED[redis] = time.monotonic() + PAUSE_AFTER_ERROR_S


def count(
    redis: Redis,
    cid: str,
    amounts: Mapping[str, float],
    *,
    shards: int = 1,
    event_id: str = "",
    now: float | None = None,
) -> bool:
    """Add amounts to the creator's counters of today (UTC); never raises. With shards > 1 a
    random shard (public, unbounded events); with an event id, only the first time that id
    is counted (a retried job). False when nothing was counted (lost, logged, or a repeat)."""
    amounts = {name: float(value) for name, value in amounts.items() if value}
    if not amounts or not cid:
        return False
    if _paused(redis):
        log.warning("analytics count lost (Redis paused after an error): %s %s", cid, amounts)
        return False
    shard = random.randrange(shards) if shards > 1 else 0
    buffer = buffer_key(cid, utc_day(now), shard)
    try:
        if event_id and not _first_time(redis, event_id):
            return False  # counted before: a retried job
        pipe = redis.pipeline(transaction=True)
        for name, value in amounts.items():
            if event_id:  # a field of its own, SET: a MULTI sent twice (a retry) adds once
                pipe.hset(buffer, f"{name}{EVENT_MARK}{event_id}", value)
            else:
                pipe.hincrbyfloat(buffer, name, value)
        pipe.sadd(DIRTY, buffer)
        pipe.execute()
    except (RedisError, OSError) as exc:
        _pause(redis)
        log.warning("analytics count lost (Redis error): %s %s", cid, amounts, exc_info=True)
        if not isinstance(exc, RedisTimeoutError | TimeoutError):
            _forget_event(redis, event_id)  # a timed-out MULTI may have run: keep the id
        return False
    return True


def _first_time(redis: Redis, event_id: str) -> bool:
    """Claim an event id (14 days). A SET that redis-py sent again after a lost reply finds
    its own token, not another attempt's: still the first time."""
    token = secrets.token_hex(8)
    if redis.set(event_key(event_id), token, nx=True, ex=EVENT_TTL_S):
        return True
    return _text(redis.get(event_key(event_id)) or b"") == token


def _metric(hash_field: str) -> str:
    """The counter a buffer's field adds to (an event's own field: the name before the mark)."""
    return hash_field.split(EVENT_MARK, 1)[0]


def _amounts(redis: Redis, name: str) -> dict[str, float]:
    """A buffer's counters, an event's own fields summed into their counter."""
    found: dict[str, float] = {}
    for key, value in redis.hgetall(name).items():
        metric = _metric(_text(key))
        found[metric] = found.get(metric, 0.0) + float(value)
    return found


def _forget_event(redis: Redis, event_id: str) -> None:
    """Best effort: let a retry of the job count what this failed count could not."""
    if not event_id:
        return
    with contextlib.suppress(RedisError, OSError):
        redis.delete(event_key(event_id))


@dataclass
class FlushReport:
    moved: int = 0  # buffers moved aside by this run
    applied: int = 0  # aside buffers ADDed to DynamoDB
    repeated: int = 0  # aside buffers some earlier run had applied already
    skipped: list[str] = field(default_factory=list)  # creators deleting or deleted: dropped
    failed: int = 0  # aside buffers that could not be applied (left for the next run)


def flush(
    redis: Redis, table: Table, interval_s: float = 0.0, deleting: Iterable[str] = ()
) -> FlushReport:
    """Move every dirty buffer aside and apply every aside buffer (see the module). With an
    interval, at most one flush runs per interval over all workers (a Redis lock)."""
    report = FlushReport()
    lock_s = max(1, int(interval_s * 0.8))
    if interval_s and not redis.set(FLUSH_LOCK, secrets.token_hex(4), nx=True, ex=lock_s):
        return report
    report.moved = move_aside(redis)
    asides = {}
    for name in sorted(_text(n) for n in redis.smembers(ASIDE)):
        try:
            asides[name] = _parse(name)
        except ValueError:  # not ours (a hand-made key): never let it block the flush
            log.error("dropping %r from the analytics aside set: not a buffer name", name)
            redis.srem(ASIDE, name)
    gone = set(deleting) | creators_being_deleted(table, {p[1] for p in asides.values()})
    for name, (flush_id, cid, day, shard) in asides.items():
        try:
            _apply_aside(redis, table, name, (flush_id, cid, day, shard), cid in gone, report)
        except Exception:  # this one stays aside for the next run; the others go on
            report.failed += 1
            log.exception("analytics buffer %s not flushed; the next flush retries it", name)
    return report


def _apply_aside(
    redis: Redis,
    table: Table,
    name: str,
    parsed: tuple[str, str, datetime.date, int],
    dropped: bool,
    report: FlushReport,
) -> None:
    """ADD one aside buffer to its shard item (once per flush id), then delete it."""
    flush_id, cid, day, shard = parsed
    amounts = _amounts(redis, name)
    if dropped:
        report.skipped.append(cid)
    elif amounts:
        if daily.apply_flush(table, cid, day, shard, flush_id, amounts):
            report.applied += 1
        else:
            report.repeated += 1
    pipe = redis.pipeline(transaction=True)
    pipe.delete(name)
    pipe.srem(ASIDE, name)
    pipe.execute()


def move_aside(redis: Redis) -> int:
    """Rename every dirty buffer to a new aside name (one MULTI each): counts that arrive
    later start a new buffer. Returns how many were moved."""
    moved = 0
    for name in sorted(_text(n) for n in redis.smembers(DIRTY)):
        _, cid, day, shard = _parse(name)
        aside = aside_key(daily.new_flush_id(time.time()), cid, day, shard)
        pipe = redis.pipeline(transaction=True)
        pipe.srem(DIRTY, name)
        pipe.rename(name, aside)
        pipe.sadd(ASIDE, aside)
        results = pipe.execute(raise_on_error=False)
        if isinstance(results[1], Exception):  # another flusher moved it first
            redis.srem(ASIDE, aside)
        else:
            moved += 1
    return moved


def creators_being_deleted(table: Table, cids: set[str]) -> set[str]:
    """Which of these creators are going or gone (one BatchGetItem): an account deletion
    under way, or no profile any more (the account is deleted: a buffer this flush set aside
    just before the deletion's last sweep must not leave a day item behind it). Every
    creator's profile is written at sign-up, before anything is counted for them."""
    valid = sorted(cid for cid in cids if keys.is_id(cid))
    if not valid:
        return set()
    profiles = table.get_many([keys.creator_profile(c) for c in valid], attributes=["deleting"])
    alive = {keys.creator_id_from_pk(p["PK"]) for p in profiles if not p.get("deleting")}
    return set(valid) - alive


def forget_creator(redis: Redis, cid: str) -> int:
    """Drop a creator's counts not flushed yet (account deletion); returns buffers dropped."""
    dropped = 0
    for group in (DIRTY, ASIDE):
        for name in [_text(n) for n in redis.smembers(group)]:
            if _parse(name)[1] == cid:
                pipe = redis.pipeline(transaction=True)
                pipe.delete(name)
                pipe.srem(group, name)
                pipe.execute()
                dropped += 1
    return dropped


def pending(redis: Redis, cid: str) -> dict[str, float]:
    """A creator's counts not flushed yet, summed over days and shards (tests, the CLI)."""
    found: dict[str, float] = {}
    for group in (DIRTY, ASIDE):
        for name in [_text(n) for n in redis.smembers(group)]:
            if _parse(name)[1] == cid:
                for metric, value in _amounts(redis, name).items():
                    found[metric] = found.get(metric, 0.0) + value
    return found


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
