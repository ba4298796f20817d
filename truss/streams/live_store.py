"""The Redis side of live chat: which streams are live, the listener lease, de-dup, live bins.

Every Redis key of live chat is built here. Nothing here touches DynamoDB.

- `streams:live` (hash): "<cid>:<sid>" → JSON LiveRef. S4's "start stream" calls `add_live`,
  "end stream" calls `remove_live`; listeners read `live_streams`.
- `streams:lease:<cid>:<sid>`: the owner id of the one listener capturing it (SET NX PX).
- `streams:seen:<cid>:<sid>:<message id>`: de-dup marks, expiring after SEEN_TTL_S (per source:
  IRC duplicates only come from a RECONNECT's overlap, seconds long; a YouTube poll after a
  takeover re-reads a page of recent messages). At 5,000 msg/s, 60 s of marks is ~300k keys.
- `streams:bins:<cid>:<sid>` (hash): second → "messages chatters weight" for the live chart,
  pruned to the last BIN_WINDOW_S seconds; the whole hash expires when nobody writes.
- `streams:heard:<cid>:<sid>`: epoch seconds the stream's listener last had chat flowing (the
  start of the gap a takeover records).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from redis.exceptions import WatchError

from truss.streams.model import ChatMessage, SecondBin, Spike

LIVE_KEY = "streams:live"
SEEN_TTL_S = {"twitch": 60, "youtube": 900}
BIN_WINDOW_S = 900  # the live page shows the last 10 minutes; keep 15
BINS_TTL_S = 3600
CHATTERS_TTL_S = 7 * 86400
LIVE_SPIKES_KEPT = 200


@dataclass(frozen=True)
class LiveRef:
    cid: str
    sid: str
    source: str  # twitch | youtube
    channel: str  # Twitch channel login, or YouTube video id
    started_at: float  # epoch seconds: offsets are counted from here

    @property
    def name(self) -> str:
        return f"{self.cid}:{self.sid}"


def add_live(
    redis: Any, cid: str, sid: str, source: str, channel: str, started_at: float | None = None
) -> LiveRef:
    ref = LiveRef(cid, sid, source, channel, time.time() if started_at is None else started_at)
    redis.hset(LIVE_KEY, ref.name, json.dumps(asdict(ref)))
    return ref


def remove_live(redis: Any, cid: str, sid: str) -> None:
    redis.hdel(LIVE_KEY, f"{cid}:{sid}")


def is_live(redis: Any, cid: str, sid: str) -> bool:
    """Whether the stream is in the live set (started and not ended)."""
    return bool(redis.hexists(LIVE_KEY, f"{cid}:{sid}"))


def live_streams(redis: Any) -> list[LiveRef]:
    refs = []
    for raw in redis.hvals(LIVE_KEY):
        try:
            refs.append(LiveRef(**json.loads(raw)))
        except (TypeError, ValueError):
            continue
    return sorted(refs, key=lambda ref: ref.name)


# --- the lease ----------------------------------------------------------------------------------


def _lease_key(ref: LiveRef) -> str:
    return f"streams:lease:{ref.name}"


def acquire_lease(redis: Any, ref: LiveRef, owner: str, lease_ms: int) -> bool:
    return bool(redis.set(_lease_key(ref), owner, nx=True, px=lease_ms))


def _if_owner(redis: Any, ref: LiveRef, owner: str, action: Callable[[Any, str], object]) -> bool:
    """Run `action` on the lease key in a transaction, only while `owner` holds the lease
    (WATCH/MULTI: the owner check and the change are one atomic step)."""
    key = _lease_key(ref)
    with redis.pipeline() as pipe:
        try:
            pipe.watch(key)
            value = pipe.get(key)
            if (value.decode() if isinstance(value, bytes) else value) != owner:
                pipe.unwatch()
                return False
            pipe.multi()
            action(pipe, key)
            pipe.execute()
            return True
        except WatchError:  # it changed hands meanwhile
            return False


def renew_lease(redis: Any, ref: LiveRef, owner: str, lease_ms: int) -> bool:
    """False if the lease is no longer ours (it expired and another listener took it)."""
    return _if_owner(redis, ref, owner, lambda pipe, key: pipe.pexpire(key, lease_ms))


def release_lease(redis: Any, ref: LiveRef, owner: str) -> None:
    _if_owner(redis, ref, owner, lambda pipe, key: pipe.delete(key))


def lease_owner(redis: Any, ref: LiveRef) -> str | None:
    value = redis.get(_lease_key(ref))
    return value.decode() if isinstance(value, bytes) else value


def mark_heard(redis: Any, ref: LiveRef, at: float) -> None:
    redis.set(f"streams:heard:{ref.name}", repr(at), ex=BINS_TTL_S)


def last_heard(redis: Any, ref: LiveRef) -> float | None:
    value = redis.get(f"streams:heard:{ref.name}")
    return float(value) if value is not None else None


# --- de-dup -------------------------------------------------------------------------------------


def first_seen(redis: Any, ref: LiveRef, messages: list[ChatMessage]) -> list[ChatMessage]:
    """The messages whose id no listener has taken before (one pipelined round trip)."""
    if not messages:
        return []
    ttl = SEEN_TTL_S.get(ref.source, 900)
    pipe = redis.pipeline(transaction=False)
    for message in messages:
        pipe.set(f"streams:seen:{ref.name}:{message.id}", 1, nx=True, ex=ttl)
    fresh = pipe.execute()
    seen_now: set[str] = set()
    out = []
    for message, is_new in zip(messages, fresh, strict=True):
        if is_new and message.id not in seen_now:
            seen_now.add(message.id)
            out.append(message)
    return out


# --- live per-second bins -----------------------------------------------------------------------


def _bins_key(cid: str, sid: str) -> str:
    return f"streams:bins:{cid}:{sid}"


def write_bins(redis: Any, ref: LiveRef, bins: list[SecondBin]) -> None:
    """Store (overwrite) these seconds and forget those older than BIN_WINDOW_S."""
    if not bins:
        return
    key = _bins_key(ref.cid, ref.sid)
    newest = max(b.second for b in bins)
    pipe = redis.pipeline(transaction=False)
    pipe.hset(key, mapping={str(b.second): f"{b.messages} {b.chatters} {b.weight:g}" for b in bins})
    pipe.expire(key, BINS_TTL_S)
    pipe.hkeys(key)
    keys = pipe.execute()[-1]
    old = [k for k in keys if int(k) < newest - BIN_WINDOW_S]
    if old:
        redis.hdel(key, *old)


def recent_bins(redis: Any, cid: str, sid: str, since_second: int = 0) -> list[SecondBin]:
    """The live chart's seconds (offsets since the stream started), oldest first."""
    bins = []
    for second, value in redis.hgetall(_bins_key(cid, sid)).items():
        if int(second) < since_second:
            continue
        messages, chatters, weight = (value.decode() if isinstance(value, bytes) else value).split()
        bins.append(SecondBin(int(second), int(messages), int(chatters), float(weight)))
    return sorted(bins, key=lambda b: b.second)


def next_chunk_seq(redis: Any, ref: LiveRef) -> int:
    """The next archive chunk number (shared across takeovers, so no chunk is overwritten)."""
    return int(redis.incr(f"streams:chunkseq:{ref.name}"))


def new_chatters(redis: Any, ref: LiveRef, author_ids: list[str]) -> int:
    """Add authors to the stream's HyperLogLog; how many unique chatters (an estimate) are new
    since the last call by any listener of this stream."""
    count_key, told_key = f"streams:chatters:{ref.name}", f"streams:chatters_told:{ref.name}"
    pipe = redis.pipeline(transaction=False)
    if author_ids:
        pipe.pfadd(count_key, *author_ids)
    pipe.expire(count_key, CHATTERS_TTL_S)
    pipe.pfcount(count_key)
    total = int(pipe.execute()[-1])
    told = int(redis.getset(told_key, total) or 0)
    redis.expire(told_key, CHATTERS_TTL_S)
    return max(0, total - told)


def _spikes_key(cid: str, sid: str) -> str:
    return f"streams:spikes:{cid}:{sid}"


def add_live_spike(redis: Any, ref: LiveRef, spike: Spike) -> None:
    """A spike found while live, for the live page (Redis only; the sink stores it durably)."""
    key = _spikes_key(ref.cid, ref.sid)
    redis.zadd(key, {json.dumps(asdict(spike)): spike.offset_s})
    redis.zremrangebyrank(key, 0, -LIVE_SPIKES_KEPT - 1)
    redis.expire(key, BINS_TTL_S)


def live_spikes(redis: Any, cid: str, sid: str) -> list[Spike]:
    """The spikes found so far while live (the newest LIVE_SPIKES_KEPT), in time order."""
    spikes = []
    for raw in redis.zrange(_spikes_key(cid, sid), 0, -1):
        data = json.loads(raw)
        data["top_emotes"] = tuple(tuple(pair) for pair in data["top_emotes"])
        data["samples"] = tuple(data["samples"])
        spikes.append(Spike(**data))
    return spikes
