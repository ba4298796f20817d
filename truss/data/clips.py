"""The clip aggregate: a scored window of an asset (`CLIP#<clid>`) and its rendered 9:16 file.

Render status: `pending → rendering → ready`, or `failed` (with a reason); a re-render goes
`ready|failed → pending` again. Each render writes new object keys under a fresh `render_id`,
and the clip item points at the new files only once they are uploaded, so the old file keeps
playing until the new one is ready. Changes are conditional on the expected render status.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr
from ulid import ULID

from truss.analysis.base import Moment
from truss.captions.styles import DEFAULT_STYLE
from truss.data import assets, keys
from truss.data.creators import utc_now_iso
from truss.data.items import attr, from_item
from truss.data.table import AlreadyExists, Conflict, Item, NotFound, Table, create_only
from truss.reframe.layouts import DEFAULT_LAYOUT

CLIP_TYPE = "clip"
PENDING = "pending"
RENDERING = "rendering"
READY = "ready"
FAILED = "failed"
RENDER_STATUSES = (PENDING, RENDERING, READY, FAILED)
# Where a clip came from. Chat, signals and Gemini clips are machine-made: a new analysis
# replaces them; a manual one (picked by the creator) stays.
CHAT = "chat"  # a strong chat spike no analyzer moment covered
SIGNALS = "signals"  # the built-in signal analyzer
GEMINI = "gemini"
MANUAL = "manual"  # the creator picked it by hand
SOURCES = (CHAT, SIGNALS, GEMINI, MANUAL)
MACHINE_SOURCES = frozenset({CHAT, SIGNALS, GEMINI})
# Before issue 12 a clip was `analyzer` or `creator` (and the first ones had no source at all);
# they read as the new values (`truss init` rewrites them, truss.data.schema).
LEGACY_SOURCES = {"analyzer": SIGNALS, "creator": MANUAL, "": SIGNALS}
DELETED = "deleted"  # the render id of a clip being deleted
EDITABLE = ("title", "hook", "hashtags", "transcript")


def read_source(value: str) -> str:
    """A stored source as today's value (old items say `analyzer`/`creator` or nothing)."""
    return LEGACY_SOURCES.get(value, value)


@dataclass(frozen=True, kw_only=True)
class Clip:
    id: str = field(metadata=attr(name="SK", read=keys.clip_id_from_sk))
    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    asset_id: str
    start: float
    end: float
    score: int = 0
    title: str = ""
    hook: str = ""
    reason: str = ""
    hashtags: list[str] = field(default_factory=list)
    transcript: str = ""
    rank: int = 0
    render_status: str = PENDING
    render_id: str = ""
    video_key: str = ""
    poster_key: str = ""
    error: str = ""
    created_at: str = ""
    source: str = field(default=SIGNALS, metadata=attr(read=read_source))
    share_token: str = ""
    run: int = 0  # the analysis run that made it (0: made by hand, or before runs)
    layout: str = DEFAULT_LAYOUT  # the picture's layout (truss.reframe.layouts)
    caption_style: str = DEFAULT_STYLE  # burned-in captions (truss.captions.styles)
    layout_used: str = ""  # the layout the current file was rendered in (auto resolved)
    stored_bytes: int = 0  # what its render's files hold in S3 (set by truss.data.usage)

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)

    @property
    def working(self) -> bool:
        """A render is queued or running."""
        return self.render_status in {PENDING, RENDERING}

    @classmethod
    def from_item(cls, item: Item) -> Clip:
        return from_item(cls, item)


def analyzer_source(analyzer: str) -> str:
    """The source of the clips an analyzer's moments make."""
    return GEMINI if analyzer == GEMINI else SIGNALS


def clip_id_for(aid: str, run_started_ms: int, rank: int) -> str:
    """A time-sortable id that is the same when a crashed analysis runs again (no duplicates)."""
    digest = hashlib.sha256(f"{aid}:{run_started_ms}:{rank}".encode()).digest()
    return str(ULID.from_bytes(run_started_ms.to_bytes(6, "big") + digest[:10]))


def search_text(title: str, hook: str, hashtags: list[str] | tuple[str, ...]) -> str:
    """Lowercased words of title, hook and hashtags: what `contains()` searches on /clips."""
    return " ".join(" ".join([title, hook, *hashtags]).lower().split())


def _listing_fields(
    cid: str, aid: str, clid: str, score: int, title: str, hook: str, tags: Any
) -> Item:
    """Index attributes: GSI1 (the clips page by score), GSI2 (the asset's clips) and the
    search text."""
    return {
        **keys.clip_score_index(cid, score, clid),
        **keys.asset_clips_index(cid, aid, clid),
        "search_text": search_text(title, hook, list(tags)),
    }


def create_from_moment(
    table: Table, cid: str, aid: str, clid: str, moment: Moment, rank: int,
    run: int | None = None, holder: str | None = None, source: str = SIGNALS,
) -> bool:  # fmt: skip
    """Write a pending clip for a moment (found by `source`); False when it already exists
    (a re-run job).

    With `run`, the clip's first render id is `r<run>` and the write happens only while the
    asset is analysing in that run, held by `holder` if given (Conflict otherwise: the job
    is stale, a duplicate or fenced)."""
    item: Item = {
        **keys.clip(cid, clid),
        **_listing_fields(cid, aid, clid, moment.score, moment.title, moment.hook, moment.hashtags),
        "type": CLIP_TYPE,
        "asset_id": aid,
        "start": round(moment.start, 3),
        "end": round(moment.end, 3),
        "score": int(moment.score),
        "title": moment.title,
        "hook": moment.hook,
        "reason": moment.reason,
        "hashtags": list(moment.hashtags),
        "transcript": moment.transcript,
        "rank": rank,
        "render_status": PENDING,
        "created_at": utc_now_iso(),
        "source": source,
    }
    try:
        if run is None:
            table.put_new(item)
        else:
            item.update(render_id=first_render_id(run), run=run)
            assets.put_in_run(table, cid, aid, run, item, new=True, holder=holder)
    except AlreadyExists:
        return False
    return True


def first_render_id(run: int) -> str:
    """The render id of the clips an analysis run makes."""
    return f"r{run}"


def create_own(
    table: Table, cid: str, aid: str, clid: str, window: tuple[float, float], title: str,
    render_id: str,
) -> Clip:  # fmt: skip
    """A clip the creator picked on the asset page: pending, never counted towards the asset.

    Written only while the asset exists and isn't being deleted (Conflict otherwise): a
    clip added after a delete's fence would outlive its video."""
    start, end = window
    item: Item = {
        **keys.clip(cid, clid),
        **_listing_fields(cid, aid, clid, 0, title, "", []),
        "type": CLIP_TYPE,
        "asset_id": aid,
        "start": round(start, 3),
        "end": round(end, 3),
        "score": 0,
        "title": title,
        "hook": "",
        "reason": "You picked this part of the video yourself.",
        "hashtags": [],
        "transcript": "",
        "rank": 0,
        "render_status": PENDING,
        "render_id": render_id,
        "counted": True,  # the asset's render count is for the analyzer's clips only
        "created_at": utc_now_iso(),
        "source": MANUAL,
    }
    try:
        table.transact([create_only(item), assets.alive_guard(cid, aid)])
    except AlreadyExists as exc:  # ids are new: it is the video that is gone
        raise Conflict(f"asset {aid} is gone or being deleted") from exc
    return Clip.from_item(item)


def restart_render(
    table: Table, cid: str, clid: str, window: tuple[float, float], render_id: str,
    look: dict[str, str] | None = None,
) -> Clip:  # fmt: skip
    """ready|failed → pending with a new window and render id (and `look`: a new layout
    and/or caption style, already checked); the old file stays playable.

    Conflict while a render is queued or running (or the clip is gone)."""
    start, end = window
    item = table.update(
        keys.clip(cid, clid),
        {
            **(look or {}),
            "start": round(start, 3),
            "end": round(end, 3),
            "render_status": PENDING,
            "render_id": render_id,
            "updated_at": utc_now_iso(),
        },
        condition=Attr("type").eq(CLIP_TYPE) & Attr("render_status").is_in([READY, FAILED]),
        remove=["error"],
    )
    return Clip.from_item(item)


def get(table: Table, cid: str, clid: str) -> Clip:
    if not keys.is_id(clid):  # real DynamoDB refuses a key over 1,024 bytes (a 500, not a 404)
        raise NotFound(f"clip {clid[:40]!r}")
    return Clip.from_item(table.get_typed(keys.clip(cid, clid), CLIP_TYPE))


def for_asset(table: Table, cid: str, aid: str) -> list[Clip]:
    """The asset's clips, best score first: one Query on GSI2 (`ASSET_CLIPS#<cid>#<aid>`),
    which reads this asset's clips only, however many the creator has. GSI reads are
    eventually consistent: a clip written a moment ago may be missing."""
    items = table.query_all(keys.asset_clips_pk(cid, aid), keys.clip_prefix(), index=keys.GSI2)
    clips = [Clip.from_item(item) for item in items if item.get("type") == CLIP_TYPE]
    return sorted(clips, key=lambda clip: (-clip.score, clip.start))


def by_ids(table: Table, cid: str, aid: str, clids: Iterable[str]) -> list[Clip]:
    """The asset's clips among `clids`, read by key (strongly consistent, unlike GSI2)."""
    items = table.get_many([keys.clip(cid, clid) for clid in clids])
    found = (Clip.from_item(item) for item in items if item.get("type") == CLIP_TYPE)
    return [clip for clip in found if clip.asset_id == aid]


def start_render(table: Table, cid: str, clid: str, render_id: str) -> Clip:
    """pending → rendering for this render attempt (a re-run of it continues); Conflict when
    the clip moved on to another render id (a stale job), is done, or is being deleted. The
    returned clip's window is the one this render id was asked for."""
    working = Attr("render_status").is_in([PENDING, RENDERING])
    legacy = Attr("render_id").not_exists() & Attr("render_status").eq(PENDING)
    condition = Attr("type").eq(CLIP_TYPE) & ((Attr("render_id").eq(render_id) & working) | legacy)
    item = table.update(
        keys.clip(cid, clid),
        {"render_status": RENDERING, "render_id": render_id, "updated_at": utc_now_iso()},
        condition=condition,
    )
    return Clip.from_item(item)


def finish_render(
    table: Table, cid: str, clid: str, render_id: str, video_key: str, poster_key: str,
    aid: str = "", layout_used: str = "",
) -> Clip:  # fmt: skip
    """rendering → ready, pointing at the new files; the caller deletes the old ones.

    One transaction with a check that the clip's video (`aid`, read from the clip if not
    given) exists and isn't being deleted: a render that started before a delete's fence
    can't leave a ready clip behind. Conflict when the clip moved on or the video is going."""
    aid = aid or get(table, cid, clid).asset_id
    ready = {
        "Key": keys.clip(cid, clid),
        "UpdateExpression": "SET #status = :ready, #video = :video, #poster = :poster, "
        "#updated = :now, #used = :used REMOVE #error",
        "ConditionExpression": "#status = :rendering AND #render_id = :render_id",
        "ExpressionAttributeNames": {
            "#status": "render_status",
            "#video": "video_key",
            "#poster": "poster_key",
            "#updated": "updated_at",
            "#error": "error",
            "#render_id": "render_id",
            "#used": "layout_used",
        },
        "ExpressionAttributeValues": {
            ":used": layout_used,
            ":ready": READY,
            ":video": video_key,
            ":poster": poster_key,
            ":now": utc_now_iso(),
            ":rendering": RENDERING,
            ":render_id": render_id,
        },
    }
    try:
        table.transact([{"Update": ready}, assets.alive_guard(cid, aid)])
    except AlreadyExists as exc:
        raise Conflict(f"clip {clid} render {render_id} moved on or its video is going") from exc
    return get(table, cid, clid)


def fail_render(table: Table, cid: str, clid: str, render_id: str, reason: str) -> Clip | None:
    """rendering → failed, keeping the old file (if any) playable; None if it moved on."""
    try:
        item = table.update(
            keys.clip(cid, clid),
            {"render_status": FAILED, "error": reason, "updated_at": utc_now_iso()},
            condition=Attr("render_id").eq(render_id)
            & Attr("render_status").is_in([PENDING, RENDERING]),
        )
    except Conflict:
        return None
    return Clip.from_item(item)


def count_towards_asset(
    table: Table, cid: str, clid: str, aid: str, failed: bool, run: int | None = None
) -> bool:
    """Count a finished render towards its rendering asset exactly once: the clip's `counted`
    flag and the asset's counters change in one transaction, so a crash between them can't
    lose or double a count. False when already counted, the asset isn't rendering, or (given
    the clip's `run`) it is rendering another run's clips."""
    mark = {
        "Key": keys.clip(cid, clid),
        "UpdateExpression": "SET #counted = :yes",
        "ConditionExpression": "attribute_not_exists(#counted)",
        "ExpressionAttributeNames": {"#counted": "counted"},
        "ExpressionAttributeValues": {":yes": True},
    }
    add: dict[str, Any] = {
        "Key": keys.asset(cid, aid),
        "UpdateExpression": "ADD clips_done :one, clips_failed :failed",
        "ConditionExpression": "#status = :rendering",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":one": 1, ":failed": int(failed), ":rendering": "rendering"},
    }
    if run:
        add["ConditionExpression"] += " AND #run = :run"
        add["ExpressionAttributeNames"]["#run"] = "run"
        add["ExpressionAttributeValues"][":run"] = run
    try:
        table.transact([{"Update": mark}, {"Update": add}])
    except (AlreadyExists, Conflict):
        return False
    return True


def update_fields(table: Table, cid: str, clid: str, changes: dict[str, Any]) -> Clip:
    item = table.update(
        keys.clip(cid, clid), {**changes, "updated_at": utc_now_iso()},
        condition=Attr("type").eq(CLIP_TYPE),
    )  # fmt: skip
    return Clip.from_item(item)


def edit(table: Table, cid: str, clid: str, changes: dict[str, Any], attempts: int = 3) -> Clip:
    """Change editable fields and keep `search_text` in step with title, hook and hashtags.

    The update is conditional on the searched fields being what was read, so two edits at
    once can't leave a stale search text; on a clash it reads again (NotFound if gone)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for _ in range(attempts):
        clip = get(table, cid, clid)
        merged = {"title": clip.title, "hook": clip.hook, "hashtags": clip.hashtags, **changes}
        text = search_text(merged["title"], merged["hook"], merged["hashtags"])
        unchanged = (
            Attr("type").eq(CLIP_TYPE)
            & Attr("title").eq(clip.title)
            & Attr("hook").eq(clip.hook)
            & Attr("hashtags").eq(clip.hashtags)
        )
        try:
            item = table.update(
                keys.clip(cid, clid),
                {**changes, "search_text": text, "updated_at": utc_now_iso()},
                condition=unchanged,
            )
        except Conflict:
            continue
        return Clip.from_item(item)
    raise Conflict(f"clip {clid} keeps changing")


def fence(table: Table, cid: str, clid: str) -> Clip | None:
    """Start deleting: no render id matches any more, so a running render can't finish (it
    cleans up its own files instead) and the clip can't be shared any more. Returns the
    clip as it now is (its live share token included, which a copy read from an index may
    lack); None when it is already gone."""
    try:
        item = table.update(
            keys.clip(cid, clid),
            {"render_id": DELETED, "updated_at": utc_now_iso()},
            condition=Attr("type").eq(CLIP_TYPE),
        )
    except Conflict:
        return None
    return Clip.from_item(item)


def delete(table: Table, cid: str, clid: str) -> None:
    """Delete the clip item (its files and share link are the service's job, done first)."""
    table.delete(keys.clip(cid, clid))
