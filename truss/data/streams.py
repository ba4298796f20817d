"""The stream aggregate: `STREAM#<sid>`, its spikes `LIVE_CHAT_SPIKE#<sid>#<offset>` and the link
from a video asset to its stream (`ASSET#<aid>#STREAM`, deleted with the asset).

Life cycle (conditional UpdateItems on the expected old status, `version` bumped):

| from      | allowed next      | who                                        |
|-----------|-------------------|--------------------------------------------|
| waiting   | live, ended       | the creator's start / end buttons          |
| live      | ended             | the creator's end button, the listener     |
| importing | imported, failed  | the import job (writes only after a parse) |

DynamoDB holds the stream's counters, gaps and spikes only: never an item per chat message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr

from truss.data import assets, keys
from truss.data.creators import new_id, utc_now_iso
from truss.data.items import attr, from_item
from truss.data.table import Conflict, Item, NotFound, Table
from truss.streams.model import SOURCES, Spike

WAITING = "waiting"
LIVE = "live"
ENDED = "ended"
IMPORTING = "importing"
IMPORTED = "imported"
FAILED = "failed"
TRANSITIONS: Mapping[str, frozenset[str]] = {
    WAITING: frozenset({LIVE, ENDED}),
    LIVE: frozenset({ENDED}),
    IMPORTING: frozenset({IMPORTED, FAILED}),
}
STREAM_TYPE = "stream"
SPIKE_TYPE = "chat_spike"
LINK_TYPE = "stream_link"
MAX_GAPS = 50  # the newest gaps are kept; `gaps_total` counts all
MAX_SAMPLES = 5
MAX_SAMPLE_CHARS = 300
MAX_TOP_EMOTES = 10
TITLE_MAX = 200
DEFAULT_LAG_S = 6.0
MARKER_SCORE = 100


class InvalidTransition(ValueError):
    """A status change the life cycle does not allow."""


@dataclass(frozen=True)
class Gap:
    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return max(self.end_s - self.start_s, 0.0)


def _newest_gaps(stored: list[Any]) -> tuple[Gap, ...]:
    return tuple(Gap(float(g[0]), float(g[1])) for g in stored[-MAX_GAPS:])


@dataclass(frozen=True, kw_only=True)
class Stream:
    id: str = field(metadata=attr(name="SK", read=keys.stream_id_from_sk))
    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    source: str
    channel: str = ""  # the Twitch channel, the YouTube video id, or the imported file's name
    title: str = ""
    status: str
    created_at: str
    version: int = 1
    started_at: str = ""
    ended_at: str = ""
    messages: int = 0
    chatters: int = 0
    archive_prefix: str = ""
    lag_default_s: float = DEFAULT_LAG_S
    lag_estimated_s: float | None = None
    lag_override_s: float | None = None
    asset_id: str = ""
    gaps: tuple[Gap, ...] = field(default=(), metadata=attr(read=_newest_gaps))
    gaps_total: int = 0
    quota_message: str = ""
    error: str = ""
    import_format: str = ""

    @property
    def lag_s(self) -> float:
        """The reaction lag in use: the creator's override, else the estimate, else the default."""
        for lag in (self.lag_override_s, self.lag_estimated_s):
            if lag is not None:
                return lag
        return self.lag_default_s

    @property
    def lag_origin(self) -> str:
        if self.lag_override_s is not None:
            return "set by you"
        return "estimated from the video" if self.lag_estimated_s is not None else "default"

    @property
    def is_live(self) -> bool:
        return self.status == LIVE

    @classmethod
    def from_item(cls, item: Item) -> Stream:
        return from_item(cls, item)


def clean_title(title: str) -> str:
    return " ".join(title.split())[:TITLE_MAX]


def create(
    table: Table,
    cid: str,
    source: str,
    channel: str,
    title: str = "",
    lag_default_s: float = DEFAULT_LAG_S,
) -> Stream:
    """A new stream: `waiting` for a live source, `importing` for a chat file."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    sid = new_id()
    item: Item = {
        **keys.stream(cid, sid),
        "type": STREAM_TYPE,
        "source": source,
        "channel": channel,
        "title": clean_title(title) or channel,
        "status": IMPORTING if source == "import" else WAITING,
        "created_at": utc_now_iso(),
        "version": 1,
        "messages": 0,
        "chatters": 0,
        "archive_prefix": keys.stream_archive_prefix(cid, sid),
        "lag_default_s": lag_default_s,
    }
    table.put_new(item)
    return Stream.from_item(item)


def get(table: Table, cid: str, sid: str) -> Stream:
    """This creator's stream; NotFound for a missing or malformed id."""
    if not keys.is_id(sid):
        raise NotFound(f"stream {sid!r}")
    return Stream.from_item(table.get_typed(keys.stream(cid, sid), STREAM_TYPE))


def page(
    table: Table, cid: str, cursor: str | None = None, limit: int = 25
) -> tuple[list[Stream], str | None]:
    """One page of the creator's streams, newest first: one Query (ids sort by creation)."""
    items, next_cursor = table.page(
        keys.creator_pk(cid), keys.stream_prefix(), owner=cid, limit=limit, cursor=cursor
    )
    return [Stream.from_item(item) for item in items], next_cursor


def set_status(
    table: Table, cid: str, sid: str, status: str, expected: str, **fields: Any
) -> Stream:
    """Move the stream from `expected` to `status` (Conflict if it moved meanwhile)."""
    if status not in TRANSITIONS.get(expected, frozenset()):
        raise InvalidTransition(f"{expected} → {status}")
    changes: dict[str, Any] = {"status": status, **fields}
    if status == LIVE:
        changes.setdefault("started_at", utc_now_iso())
    if status in {ENDED, IMPORTED}:
        changes.setdefault("ended_at", utc_now_iso())
    item = table.update(
        keys.stream(cid, sid),
        changes,
        condition=Attr("status").eq(expected),
        add={"version": 1},
    )
    return Stream.from_item(item)


def add_counts(table: Table, cid: str, sid: str, messages: int, chatters: int) -> None:
    """Add a batch's messages and new chatters to the stream's counters (one UpdateItem)."""
    if messages or chatters:
        table.update(keys.stream(cid, sid), {}, add={"messages": messages, "chatters": chatters})


def record_gap(table: Table, cid: str, sid: str, start_s: float, end_s: float) -> None:
    """Remember that chat was not captured from start_s to end_s: one UpdateItem appends it,
    so concurrent gaps all land. The list is cut back to the newest MAX_GAPS once it doubles
    (readers see only the newest MAX_GAPS; `gaps_total` counts all)."""
    item = table.append(
        keys.stream(cid, sid), "gaps", [[start_s, end_s]], add={"version": 1, "gaps_total": 1}
    )
    length = len(item.get("gaps", []))
    if length >= 2 * MAX_GAPS:
        with contextlib.suppress(Conflict):  # another gap landed meanwhile: the next one trims
            table.drop_first(keys.stream(cid, sid), "gaps", length - MAX_GAPS, length)


def set_quota_message(table: Table, cid: str, sid: str, message: str) -> None:
    table.update(keys.stream(cid, sid), {"quota_message": message[:500]})


def spike_item(cid: str, sid: str, spike: Spike) -> Item:
    return {
        **keys.chat_spike(cid, sid, spike.offset_s),
        "type": SPIKE_TYPE,
        "offset_s": spike.offset_s,
        "start_s": spike.start_s,
        "end_s": spike.end_s,
        "intensity": round(spike.intensity, 2),
        "score": int(spike.score),
        "top_emotes": [[name[:50], int(n)] for name, n in spike.top_emotes[:MAX_TOP_EMOTES]],
        "samples": [text[:MAX_SAMPLE_CHARS] for text in spike.samples[:MAX_SAMPLES]],
        "marker": spike.marker,
    }


def spike_from_item(item: Item) -> Spike:
    return from_item(Spike, item, defaults={"intensity": 0.0, "score": 0})


def put_spike(table: Table, cid: str, sid: str, spike: Spike) -> None:
    """Store one spike (a spike found again at the same offset replaces the old one)."""
    table.put(spike_item(cid, sid, spike))


def put_spikes(table: Table, cid: str, sid: str, spikes: Iterable[Spike]) -> None:
    for spike in spikes:
        put_spike(table, cid, sid, spike)


def spikes(table: Table, cid: str, sid: str) -> list[Spike]:
    """The stream's spikes in time order: one Query (paged by DynamoDB only if huge)."""
    items = table.query_all(keys.creator_pk(cid), keys.chat_spike_prefix(sid))
    return [spike_from_item(item) for item in items]


def mark_moment(table: Table, cid: str, sid: str, offset_s: float, window_s: float = 15.0) -> Spike:
    """A creator's "Mark this moment": stored as a strong spike around offset_s."""
    get(table, cid, sid)
    offset = max(offset_s, 0.0)
    marker = Spike(
        offset_s=offset,
        start_s=max(offset - window_s, 0.0),
        end_s=offset + window_s / 3,
        intensity=0.0,
        score=MARKER_SCORE,
        samples=("Marked by you",),
        marker=True,
    )
    put_spike(table, cid, sid, marker)
    return marker


def set_lag_override(table: Table, cid: str, sid: str, lag_s: float | None) -> Stream:
    """The creator's own reaction lag (None goes back to the estimate or the default)."""
    key = keys.stream(cid, sid)
    if lag_s is None:
        return Stream.from_item(table.update(key, {}, remove=("lag_override_s",)))
    return Stream.from_item(table.update(key, {"lag_override_s": lag_s}))


def set_lag_estimate(table: Table, cid: str, sid: str, lag_s: float) -> None:
    """The lag estimated by aligning chat with the video's loudness (analysis)."""
    table.update(keys.stream(cid, sid), {"lag_estimated_s": lag_s})


def link_asset(table: Table, cid: str, sid: str, aid: str) -> Stream:
    """Link this creator's video asset to the stream (replacing an earlier link)."""
    assets.get(table, cid, aid)  # NotFound: not this creator's video
    stream = get(table, cid, sid)
    if stream.asset_id and stream.asset_id != aid:
        unlink_asset(table, cid, sid)
    table.put({**keys.asset_stream_link(cid, aid), "type": LINK_TYPE, "stream_id": sid})
    assets.set_stream(table, cid, aid, sid)
    return Stream.from_item(table.update(keys.stream(cid, sid), {"asset_id": aid}))


def unlink_asset(table: Table, cid: str, sid: str) -> Stream:
    stream = get(table, cid, sid)
    if stream.asset_id and _link_points_here(table, cid, stream.asset_id, sid):
        with contextlib.suppress(Conflict):  # relinked to another stream meanwhile
            table.delete(
                keys.asset_stream_link(cid, stream.asset_id), condition=Attr("stream_id").eq(sid)
            )
    if stream.asset_id:
        assets.clear_stream(table, cid, stream.asset_id, sid)
    return Stream.from_item(table.update(keys.stream(cid, sid), {}, remove=("asset_id",)))


def _link_points_here(table: Table, cid: str, aid: str, sid: str) -> bool:
    link = table.find(keys.asset_stream_link(cid, aid))
    return link is not None and link.get("stream_id") == sid


def stream_for_asset(table: Table, cid: str, aid: str) -> Stream | None:
    """The stream an asset's video is linked to, if any (its link item names it)."""
    link = table.find(keys.asset_stream_link(cid, aid))
    if link is None:
        return None
    try:
        stream = get(table, cid, str(link.get("stream_id", "")))
    except NotFound:
        return None
    return stream if stream.asset_id == aid else None


def linked_stream(table: Table, cid: str, sid: str, aid: str) -> Stream | None:
    """Stream `sid` (the asset item's stream_id) if it is still linked to this asset: one read."""
    try:
        stream = get(table, cid, sid)
    except NotFound:
        return None
    return stream if stream.asset_id == aid else None


def spikes_for_asset(table: Table, cid: str, aid: str) -> tuple[float, list[Spike]]:
    """The reaction lag and spikes of the stream linked to this asset ((default, []) if none)."""
    stream = stream_for_asset(table, cid, aid)
    if stream is None:
        return DEFAULT_LAG_S, []
    return stream.lag_s, spikes(table, cid, stream.id)


def finish_import(
    table: Table,
    cid: str,
    sid: str,
    found: Iterable[Spike],
    messages: int,
    chatters: int,
    import_format: str,
) -> Stream:
    """After a full parse: the spikes, then the stream `imported` with its counters."""
    put_spikes(table, cid, sid, found)
    return set_status(
        table,
        cid,
        sid,
        IMPORTED,
        IMPORTING,
        messages=messages,
        chatters=chatters,
        import_format=import_format,
    )


def fail_import(table: Table, cid: str, sid: str, error: str) -> Stream:
    return set_status(table, cid, sid, FAILED, IMPORTING, error=error[:500])


def delete(table: Table, cid: str, sid: str) -> Stream:
    """Delete the stream's spikes and asset link, then the stream item (a retry works).
    The caller deletes the chat archive (`archive_prefix`) in S3 first."""
    stream = get(table, cid, sid)
    pk = keys.creator_pk(cid)
    spike_keys = [
        {"PK": item["PK"], "SK": item["SK"]}
        for item in table.query_all(pk, keys.chat_spike_prefix(sid))
    ]
    if stream.asset_id and _link_points_here(table, cid, stream.asset_id, sid):
        spike_keys.append(keys.asset_stream_link(cid, stream.asset_id))
    if spike_keys:
        table.batch_delete(spike_keys)
    table.delete(keys.stream(cid, sid))
    return stream


class TableSink:
    """The listener's StreamSink on the table: counters, gaps, spikes, status."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def add_counts(self, cid: str, sid: str, messages: int, chatters: int) -> None:
        add_counts(self.table, cid, sid, messages, chatters)

    def record_gap(self, cid: str, sid: str, start: float, end: float) -> None:
        record_gap(self.table, cid, sid, start, end)

    def put_spike(self, cid: str, sid: str, spike: Spike) -> None:
        put_spike(self.table, cid, sid, spike)

    def set_status(self, cid: str, sid: str, status: str, expected: str) -> None:
        set_status(self.table, cid, sid, status, expected)

    def set_quota_message(self, cid: str, sid: str, message: str) -> None:
        set_quota_message(self.table, cid, sid, message)
