"""The asset aggregate: one uploaded video (`ASSET#<aid>`) and everything stored under it.

Life cycle (every change is a conditional UpdateItem on the expected old status and bumps
`version`; GSI1SK `ASSET#<status>#<aid>` always follows the status):

| from        | allowed next           | who                                            |
|-------------|------------------------|------------------------------------------------|
| uploading   | uploaded, failed       | upload confirmation (HEAD of the object)       |
| uploaded    | queued, failed         | on_uploaded hook → analysis pipeline            |
| queued      | analyzing, failed      | analysis worker picks the job up                |
| analyzing   | rendering, failed      | analysis worker                                 |
| rendering   | ready, failed          | render worker                                   |
| ready       | queued                 | "analyse again"                                 |
| failed      | queued                 | "retry" (only when the source object is intact) |

`failed` keeps `error` (a sentence a person can act on) and `failed_from` (the status it
left). The `<created>` part of GSI1SK is the asset id: a ULID, so it sorts by creation time
and never ties.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from truss.data import keys
from truss.data.creators import utc_now_iso
from truss.data.items import attr, from_item
from truss.data.table import AlreadyExists, Conflict, Item, NotFound, Table

UPLOADING = "uploading"
UPLOADED = "uploaded"
QUEUED = "queued"
ANALYZING = "analyzing"
RENDERING = "rendering"
READY = "ready"
FAILED = "failed"

TRANSITIONS: Mapping[str, frozenset[str]] = {
    UPLOADING: frozenset({UPLOADED, FAILED}),
    UPLOADED: frozenset({QUEUED, FAILED}),
    QUEUED: frozenset({ANALYZING, FAILED}),
    ANALYZING: frozenset({RENDERING, FAILED}),
    RENDERING: frozenset({READY, FAILED}),
    READY: frozenset({QUEUED}),
    FAILED: frozenset({QUEUED}),
}
STATUSES: tuple[str, ...] = tuple(TRANSITIONS)
WORKING = frozenset({UPLOADING, UPLOADED, QUEUED, ANALYZING, RENDERING})
TITLE_MAX = 200
ASSET_TYPE = "asset"
LEASE_FIELDS = ("claimed_by", "lease_until")  # dropped when an attempt ends its run


class InvalidTransition(ValueError):
    """A status change the life cycle does not allow (a programming error, not a race)."""


@dataclass(frozen=True, kw_only=True)
class Asset:
    id: str = field(metadata=attr(name="SK", read=keys.asset_id_from_sk))
    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    title: str = ""
    status: str
    created_at: str
    updated_at: str = field(metadata=attr(fallback="created_at"))
    version: int = 1
    source_key: str
    file_name: str = ""
    expected_size: int = 0
    declared_type: str = ""
    upload_mode: str = "post"
    upload_id: str = ""
    part_bytes: int = 0
    upload_expires_at: int = 0
    size: int | None = None
    content_type: str = ""
    duration_s: float | None = None
    thumbnail_key: str = ""
    progress: int = 0
    error: str = ""
    stage: str = ""
    failed_from: str = ""
    status_changed_at: str = field(metadata=attr(fallback="created_at"))
    analyzer: str = ""
    summary: str = ""
    clips_total: int = 0
    clips_done: int = 0
    clips_failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    run: int = 0
    deleting: bool = False
    gemini_file: str = ""  # the video's upload in the Gemini Files API, reused until it expires
    gemini_file_expires_at: float = 0.0
    claimed_by: str = ""  # the analysis attempt holding the run's lease
    lease_until: float = 0.0  # epoch seconds; renewed while the attempt runs
    stream_id: str = ""  # the stream this video is linked to ("": none, analysis reads no chat)

    @classmethod
    def from_item(cls, item: Item) -> Asset:
        return from_item(cls, item)

    @property
    def part_count(self) -> int:
        if not self.part_bytes:
            return 0
        return max(1, -(-self.expected_size // self.part_bytes))

    def is_abandoned(self, now: float | None = None) -> bool:
        """Still `uploading` after its upload URLs expired: nobody can finish it any more."""
        now = time.time() if now is None else now
        return self.status == UPLOADING and now > self.upload_expires_at

    @property
    def display_status(self) -> str:
        return "abandoned" if self.is_abandoned() else self.status


def _status_index(cid: str, aid: str, status: str) -> dict[str, str]:
    return keys.asset_status_index(cid, status, aid)


def create(
    table: Table,
    cid: str,
    aid: str,
    *,
    title: str,
    file_name: str,
    expected_size: int,
    declared_type: str,
    upload_mode: str,
    upload_expires_at: int,
    upload_id: str = "",
    part_bytes: int = 0,
) -> Asset:
    """A new asset in `uploading`; AlreadyExists if the id is taken."""
    now = utc_now_iso()
    item: Item = {
        **keys.asset(cid, aid),
        **_status_index(cid, aid, UPLOADING),
        **keys.library_index(cid, aid),
        "type": ASSET_TYPE,
        "title": clean_title(title),
        "status": UPLOADING,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "source_key": keys.asset_source_object(cid, aid),
        "file_name": file_name[:TITLE_MAX],
        "expected_size": expected_size,
        "declared_type": declared_type,
        "upload_mode": upload_mode,
        "upload_expires_at": upload_expires_at,
        "progress": 0,
    }
    if upload_id:
        item.update(upload_id=upload_id, part_bytes=part_bytes)
    table.put_new(item)
    return Asset.from_item(item)


def get(table: Table, cid: str, aid: str) -> Asset:
    """This creator's asset; NotFound for a missing id or one that isn't an asset."""
    if not keys.is_id(aid):  # real DynamoDB refuses a key over 1,024 bytes (a 500, not a 404)
        raise NotFound(f"asset {aid[:40]!r}")
    return Asset.from_item(table.get_typed(keys.asset(cid, aid), ASSET_TYPE))


def page(
    table: Table, cid: str, cursor: str | None = None, limit: int = 25, status: str | None = None
) -> tuple[list[Asset], str | None]:
    """One page of the library, newest first: one Query on GSI2, which holds asset items
    only (never the chapters stored under them); with a status, one Query on GSI1."""
    pk = keys.creator_pk(cid)
    if status is None:
        items, next_cursor = table.page(
            pk, keys.asset_prefix(), owner=cid, limit=limit, cursor=cursor, index=keys.GSI2
        )
    else:
        if status not in TRANSITIONS:
            raise ValueError(f"unknown status {status!r}")
        items, next_cursor = table.page(
            pk,
            keys.asset_status_prefix(status),
            owner=cid,
            limit=limit,
            cursor=cursor,
            index="GSI1",
        )
    return [Asset.from_item(item) for item in items], next_cursor


def get_many(table: Table, cid: str, aids: Iterable[str]) -> dict[str, Asset]:
    """This creator's assets among `aids` by id, in one BatchGetItem per 100 ids; ids that
    are missing, malformed or not assets are left out."""
    wanted = [aid for aid in dict.fromkeys(aids) if keys.is_id(aid)]
    items = table.get_many([keys.asset(cid, aid) for aid in wanted])
    found = (Asset.from_item(item) for item in items if item.get("type") == ASSET_TYPE)
    return {asset.id: asset for asset in found}


def titles(table: Table, cid: str, aids: Iterable[str]) -> dict[str, str]:
    """Titles of this creator's assets among `aids` (one BatchGetItem reading only titles)."""
    wanted = [aid for aid in dict.fromkeys(aids) if keys.is_id(aid)]
    items = table.get_many([keys.asset(cid, aid) for aid in wanted], ("title", "type"))
    return {
        keys.asset_id_from_sk(item["SK"]): item.get("title", "")
        for item in items
        if item.get("type") == ASSET_TYPE
    }


def transition(
    table: Table,
    cid: str,
    aid: str,
    expected_from: str,
    to: str,
    *,
    version: int | None = None,
    expected_run: int | None = None,
    holder: str | None = None,
    remove: Iterable[str] = (),
    **changes: Any,
) -> Asset:
    """Move an asset from `expected_from` to `to` (and SET `changes`) in one conditional update.

    Conflict when the asset is missing, is no longer in `expected_from`, or (given `version`)
    was changed by someone else since it was read, (given `expected_run`) belongs to another
    analysis run, (given `holder`) is held by another analysis attempt, or is being deleted.
    InvalidTransition for a move the table in this module's docstring doesn't allow.
    """
    if to not in TRANSITIONS.get(expected_from, frozenset()):
        raise InvalidTransition(f"{expected_from} → {to} is not allowed")
    condition = _in_run(expected_run, holder) & Attr("status").eq(expected_from)
    if version is not None:
        condition = condition & Attr("version").eq(version)
    now = utc_now_iso()
    sets = {
        **changes,
        "status": to,
        "GSI1SK": _status_index(cid, aid, to)["GSI1SK"],
        "updated_at": now,
        "status_changed_at": now,
    }
    drop = list(remove)
    if expected_from == FAILED and "error" not in sets:
        drop += ["error", "failed_from"]
    item = table.update(
        keys.asset(cid, aid), sets, condition=condition, add={"version": 1}, remove=drop
    )
    return Asset.from_item(item)


def fail(
    table: Table,
    cid: str,
    aid: str,
    reason: str,
    expected_from: str | None = None,
    expected_run: int | None = None,
    holder: str | None = None,
) -> Asset:
    """Mark an asset `failed` with a reason a person can act on.

    Without `expected_from`, the current status is read and the change is made only if
    neither status nor version moved meanwhile (Conflict otherwise). With `expected_run`,
    only while the asset is still in that analysis run (and, with `holder`, that attempt
    holds its lease).
    """
    version = None
    if expected_from is None:
        current = get(table, cid, aid)
        expected_from, version = current.status, current.version
    if expected_from == FAILED:
        raise InvalidTransition("the asset has already failed")
    return transition(
        table,
        cid,
        aid,
        expected_from,
        FAILED,
        version=version,
        expected_run=expected_run,
        holder=holder,
        remove=LEASE_FIELDS if holder else (),
        error=reason,
        failed_from=expected_from,
    )


def set_progress(
    table: Table,
    cid: str,
    aid: str,
    status: str,
    stage: str,
    percent: int,
    expected_run: int | None = None,
    holder: str | None = None,
    **extra: Any,
) -> Asset:
    """Stage and percentage (and facts like duration) while the asset is still in `status`
    (and, given `expected_run` and `holder`, in that run and held by that attempt);
    Conflict otherwise or while it is deleted."""
    item = table.update(
        keys.asset(cid, aid),
        {"stage": stage, "progress": percent, "updated_at": utc_now_iso(), **extra},
        condition=_in_run(expected_run, holder) & Attr("status").eq(status),
    )
    return Asset.from_item(item)


def _in_run(run: int | None, holder: str | None = None) -> ConditionBase:
    """An asset (not one being deleted), and given `run`, in that analysis run (given
    `holder`, with that attempt holding the run's lease)."""
    condition = Attr("type").eq(ASSET_TYPE) & Attr("deleting").not_exists()
    if run is not None:
        condition = condition & Attr("run").eq(run)
    return condition & Attr("claimed_by").eq(holder) if holder else condition


def take_over(
    table: Table, cid: str, aid: str, run: int, attempt: str, lease_until: float, now: float,
    handed_from: str = "",
) -> Asset:  # fmt: skip
    """Make `attempt` the holder of an analysing run whose lease is free: nobody holds it,
    its holder's lease lapsed (the worker died), or its holder handed the run to this
    attempt's job. Conflict while another attempt holds it (a duplicate job of the run)."""
    free = (
        Attr("claimed_by").not_exists()
        | Attr("lease_until").lt(int(now))
        | Attr("claimed_by").eq(attempt)
    )
    if handed_from:
        free = free | Attr("claimed_by").eq(handed_from)
    item = table.update(
        keys.asset(cid, aid),
        {"claimed_by": attempt, "lease_until": int(lease_until), "updated_at": utc_now_iso()},
        condition=_in_run(run) & Attr("status").eq(ANALYZING) & free,
    )
    return Asset.from_item(item)


def renew_lease(
    table: Table, cid: str, aid: str, run: int, attempt: str, lease_until: float
) -> bool:
    """Push the lease of a running attempt back; False once it lost the run (taken over,
    moved on, deleted)."""
    try:
        table.update(
            keys.asset(cid, aid),
            {"lease_until": int(lease_until)},
            condition=_in_run(run, attempt) & Attr("status").eq(ANALYZING),
        )
    except Conflict:
        return False
    return True


def next_run(asset: Asset, now: float | None = None) -> int:
    """A new analysis run's token: epoch milliseconds, always above the asset's last run."""
    now_ms = int((time.time() if now is None else now) * 1000)
    return max(now_ms, asset.run + 1)


def run_guard(cid: str, aid: str, run: int, holder: str | None = None) -> dict[str, Any]:
    """A transaction ConditionCheck: the asset is still analysing in `run`, not deleted
    (and, given `holder`, that attempt holds the run's lease)."""
    check: dict[str, Any] = {
        "Key": keys.asset(cid, aid),
        "ConditionExpression": "#status = :analyzing AND #run = :run "
        "AND attribute_not_exists(#deleting)",
        "ExpressionAttributeNames": {"#status": "status", "#run": "run", "#deleting": "deleting"},
        "ExpressionAttributeValues": {":analyzing": ANALYZING, ":run": run},
    }
    if holder:
        check["ConditionExpression"] += " AND #claimed_by = :holder"
        check["ExpressionAttributeNames"]["#claimed_by"] = "claimed_by"
        check["ExpressionAttributeValues"][":holder"] = holder
    return {"ConditionCheck": check}


def alive_guard(cid: str, aid: str) -> dict[str, Any]:
    """A transaction ConditionCheck: the asset exists and isn't being deleted (a clip's
    write that must not outlive its video's delete)."""
    return {
        "ConditionCheck": {
            "Key": keys.asset(cid, aid),
            "ConditionExpression": "#type = :asset AND attribute_not_exists(#deleting)",
            "ExpressionAttributeNames": {"#type": "type", "#deleting": "deleting"},
            "ExpressionAttributeValues": {":asset": ASSET_TYPE},
        }
    }


def put_in_run(
    table: Table, cid: str, aid: str, run: int, item: Item, new: bool = False,
    holder: str | None = None,
) -> None:  # fmt: skip
    """Write an item under the asset only while the asset is analysing in `run` (and, given
    `holder`, that attempt holds its lease): a stale, duplicate or fenced job can't add
    anything. Conflict when the asset left the run; AlreadyExists (with `new`) when the
    item is already there."""
    put: dict[str, Any] = {"Item": item}
    if new:
        put.update(
            ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames={"#pk": "PK"}
        )
    try:
        table.transact([{"Put": put}, run_guard(cid, aid, run, holder)])
    except (AlreadyExists, Conflict) as exc:
        if new and in_run(table, cid, aid, run, holder):
            raise AlreadyExists(f"{item['SK']} exists") from exc
        raise Conflict(f"asset {aid} left run {run}") from exc


def in_run(table: Table, cid: str, aid: str, run: int, holder: str | None = None) -> bool:
    """Whether the asset still exists, isn't being deleted and is in this run (held by
    `holder`, if given)."""
    item = table.find(keys.asset(cid, aid))
    held = not holder or (item is not None and item.get("claimed_by") == holder)
    return bool(item and not item.get("deleting") and int(item.get("run", 0)) == run and held)


def fence(table: Table, cid: str, aid: str) -> Asset:
    """Start deleting: mark the asset and move it to a run no job has, so every conditional
    write of running work fails from now on (NotFound if it is gone)."""
    try:
        item = table.update(
            keys.asset(cid, aid),
            {"deleting": True, "updated_at": utc_now_iso()},
            condition=Attr("type").eq(ASSET_TYPE),
            add={"run": 1, "version": 1},
        )
    except Conflict as exc:
        raise NotFound(f"asset {aid!r}") from exc
    return Asset.from_item(item)


def remember_gemini_file(table: Table, cid: str, aid: str, name: str, expires_at: int) -> None:
    """Keep the video's Gemini upload on the asset for reuse and for deleting it with the
    video; Conflict when the asset is gone or being deleted."""
    table.update(
        keys.asset(cid, aid),
        {"gemini_file": name, "gemini_file_expires_at": expires_at},
        condition=_in_run(None),
    )


def add_usage(table: Table, cid: str, aid: str, input_tokens: int, output_tokens: int) -> None:
    """Count model tokens spent on the asset (every run, failed ones too); gone is fine."""
    if not (input_tokens or output_tokens):
        return
    with contextlib.suppress(Conflict):
        table.update(
            keys.asset(cid, aid),
            {},
            condition=Attr("type").eq(ASSET_TYPE),
            add={"input_tokens": input_tokens, "output_tokens": output_tokens},
        )


def is_stuck(asset: Asset, job_timeout_s: int, now: float | None = None) -> bool:
    """Working for longer than a job may run (plus retries): the worker died or was lost.
    `job_timeout_s` is the asset's own (see truss.queue.job_timeout_s: it grows with the
    video's length)."""
    if asset.status not in {UPLOADED, QUEUED, ANALYZING, RENDERING}:
        return False
    changed = datetime.fromisoformat(asset.status_changed_at).timestamp()
    now = time.time() if now is None else now
    return now - changed > 3 * job_timeout_s + 600


def clean_title(title: str) -> str:
    return " ".join(title.split())[:TITLE_MAX]


def set_stream(table: Table, cid: str, aid: str, sid: str) -> None:
    """The asset is linked to stream `sid` (truss.data.streams.link_asset keeps them in step)."""
    table.update(keys.asset(cid, aid), {"stream_id": sid})


def clear_stream(table: Table, cid: str, aid: str, sid: str) -> None:
    """The asset is no longer linked to stream `sid` (a link to another stream stays)."""
    with contextlib.suppress(Conflict, NotFound):  # relinked meanwhile, or the asset is gone
        table.update(keys.asset(cid, aid), {}, Attr("stream_id").eq(sid), remove=("stream_id",))


def rename(table: Table, cid: str, aid: str, title: str) -> Asset:
    """Change the title; ValueError for an empty one, NotFound for another creator's asset."""
    title = clean_title(title)
    if not title:
        raise ValueError("A title can't be empty.")
    try:
        item = table.update(
            keys.asset(cid, aid),
            {"title": title, "updated_at": utc_now_iso()},
            condition=Attr("type").eq(ASSET_TYPE),
        )
    except Conflict as exc:
        raise NotFound(f"asset {aid!r}") from exc
    return Asset.from_item(item)


def touch_upload(table: Table, cid: str, aid: str, expires_at: int) -> None:
    """Push back when an in-progress upload counts as abandoned (new part URLs were issued)."""
    table.update(
        keys.asset(cid, aid),
        {"upload_expires_at": expires_at},
        condition=Attr("status").eq(UPLOADING),
    )


def items_under(table: Table, cid: str, aid: str) -> list[keys.Key]:
    """Keys of the asset, everything under `ASSET#<aid>#`, and every clip cut from it (GSI2:
    this asset's clips only)."""
    pk = keys.creator_pk(cid)
    children = [
        {"PK": item["PK"], "SK": item["SK"]} for item in table.query_all(pk, keys.asset_prefix(aid))
    ]
    clip_items = table.query_all(keys.asset_clips_pk(cid, aid), keys.clip_prefix(), keys.GSI2)
    clips = [{"PK": item["PK"], "SK": item["SK"]} for item in clip_items]
    return [*children, *clips, keys.asset(cid, aid)]


def delete(table: Table, cid: str, aid: str) -> None:
    """Delete the asset and every item under it; the asset item goes last, so a retry works."""
    get(table, cid, aid)
    *others, own = items_under(table, cid, aid)
    if others:
        table.batch_delete(others)
    table.delete(own)
