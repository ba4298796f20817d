"""Export: every item and file of one creator into one archive object in S3 (archive.py).

What never goes in: platform tokens, exports and imports themselves, and the attributes in
NEVER_EXPORTED_ATTRIBUTES (live share tokens, posts' upload sessions, leases, Gemini file
references). Sessions and magic links are not under the creator's partition, so never read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from truss.data import exports, keys
from truss.data.assets import ASSET_TYPE
from truss.data.clips import CLIP_TYPE
from truss.data.creators import get_creator
from truss.data.table import Item, Table, dynamo_value
from truss.portability.archive import (
    ITEMS,
    SCHEMA_VERSION,
    ArchiveWriter,
    Manifest,
    PartWriter,
    object_chunks,
    safe_name,
)
from truss.storage import Storage

log = logging.getLogger(__name__)
NEVER_EXPORTED_SK = (
    keys.PLATFORM_TOKEN.prefix_for(),
    keys.export_prefix(),
    keys.import_prefix(),
)
# Capabilities and working state: a post's upload `session` holds the platform's resumable
# upload URL (it takes bytes without any sign-in), `share_token` is a live public link, the
# profile's `deleting` is the deletion's ticket; leases, slots and upload ids only mean
# something to this deployment's workers.
NEVER_EXPORTED_ATTRIBUTES = frozenset(
    {
        "gemini_file", "gemini_file_expires_at", "claimed_by", "lease_until", "lease_holder",
        "session_version", "session", "share_token", "deleting", "slot", "upload_id",
        "import_hold",
    }
)  # fmt: skip
SKIPPED_FOLDERS = ("exports/", "imports/")
CLIP_FILES = ("poster_key", "transcript_key")  # a clip's files kept beside its video
PROGRESS_EVERY_S = 1.0
DELETING = "This account is being deleted: nothing was exported."


def exportable(item: Item) -> Item | None:
    """The item as it goes into the archive, or None for one that never does."""
    if str(item.get("SK", "")).startswith(NEVER_EXPORTED_SK):
        return None
    return {k: v for k, v in item.items() if k not in NEVER_EXPORTED_ATTRIBUTES}


def item_lines(table: Table, cid: str, eid: str) -> Iterator[bytes]:
    """items.jsonl: a header line, then each item in DynamoDB JSON (one Query page at a time)."""
    header = {"schema_version": SCHEMA_VERSION, "creator_id": cid, "export_id": eid}
    yield (json.dumps(header) + "\n").encode()
    serializer = TypeSerializer()
    for raw in exports.creator_items(table, cid):
        item = exportable(raw)
        if item is not None:
            typed = {k: serializer.serialize(v) for k, v in dynamo_value(item).items()}
            yield (json.dumps(typed, default=str, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class Planned:
    key: str  # the full S3 key
    relative: str  # under creators/<cid>/
    path: str  # in the archive
    size: int
    kind: str


@dataclass
class Names:
    clip_paths: dict[str, str]  # a clip's current video key → its path in the archive
    clip_files: set[str]  # the clips' other current files: poster, transcript
    assets: dict[str, tuple[str, str]]  # asset id → (title, file suffix)


def _names(table: Table, cid: str) -> Names:
    """What the items say about the files: one pass over the partition."""
    clip_paths: dict[str, str] = {}
    clip_files: set[str] = set()
    asset_names: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for item in exports.creator_items(table, cid):
        if item.get("type") == CLIP_TYPE and item.get("video_key"):
            clid = keys.clip_id_from_sk(item["SK"])
            path = "clips/" + safe_name(str(item.get("title", "")), clid, ".mp4")
            if path in used:  # same title and same last 6 characters: the whole id
                path = "clips/" + safe_name(str(item.get("title", "")), clid, ".mp4", 26)
            used.add(path)
            clip_paths[str(item["video_key"])] = path
        if item.get("type") == CLIP_TYPE:
            clip_files |= {str(item.get(name, "")) for name in CLIP_FILES} - {""}
        if item.get("type") == ASSET_TYPE:
            aid = keys.asset_id_from_sk(item["SK"])
            suffix = "." + str(item.get("file_name", "")).rpartition(".")[2][:8].lower()
            asset_names[aid] = (str(item.get("title", "")), suffix if suffix != "." else ".mp4")
    return Names(clip_paths, clip_files, asset_names)


def plan_files(storage: Storage, table: Table, cid: str, include_sources: bool) -> list[Planned]:
    """Which objects go in and under what name: clips' current renders as clips/, the sources
    if ticked, every other file of the creator as files/ (old renders left out; a clip's
    current poster and its transcript, corrected words included, go in)."""
    names = _names(table, cid)
    root = keys.creator_object_root(cid)
    planned = []
    for key, size in storage.list_prefix(root, limit=10**9):
        relative = key[len(root) :]
        parts = relative.split("/")
        if relative.startswith(SKIPPED_FOLDERS):
            continue
        if parts[0] == "assets" and len(parts) == 3 and parts[2] == "source":
            if include_sources:
                title, suffix = names.assets.get(parts[1], ("", ".mp4"))
                path = "sources/" + safe_name(title, parts[1], suffix)
                planned.append(Planned(key, relative, path, size, "source"))
            continue
        if key in names.clip_paths:
            planned.append(Planned(key, relative, names.clip_paths[key], size, "clip"))
        elif parts[0] != "clips" or key in names.clip_files:
            planned.append(Planned(key, relative, f"files/{relative}", size, "file"))
    return planned


class Progress:
    """Writes bytes/files done to the export item at most once a PROGRESS_EVERY_S."""

    def __init__(self, save: Callable[[int, int], None]) -> None:
        self.save, self.files, self.bytes, self.last = save, 0, 0, 0.0

    def count(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.bytes += len(chunk)
            self.maybe_save()
            yield chunk
        self.files += 1
        self.maybe_save()

    def maybe_save(self, force: bool = False) -> None:
        if force or time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self.last = time.monotonic()
            self.save(self.files, self.bytes)


def run_export(table: Table, storage: Storage, cid: str, eid: str) -> exports.Export:
    """Write the archive (again from the start on a retry: the old upload is aborted)."""
    export = exports.get_export(table, cid, eid)
    if export.status == exports.READY:
        return export
    if get_creator(table, cid).deleting:  # its files are going: write nothing there
        return exports.update_export(table, cid, eid, status=exports.FAILED, error=DELETING)
    if export.upload_id:
        storage.abort_multipart_upload(export.archive_key, export.upload_id)
    upload_id = storage.create_multipart_upload(
        export.archive_key, "application/zip", expiring=True
    )
    planned = plan_files(storage, table, cid, export.include_sources)
    exports.update_export(
        table, cid, eid, status=exports.RUNNING, upload_id=upload_id, error="",
        files_total=len(planned) + 1, bytes_total=sum(p.size for p in planned),
        files_done=0, bytes_done=0,
    )  # fmt: skip
    try:
        return _write(table, storage, export, upload_id, planned)
    except BaseException:
        storage.abort_multipart_upload(export.archive_key, upload_id)
        raise


def _write(
    table: Table, storage: Storage, export: exports.Export, upload_id: str, planned: list[Planned]
) -> exports.Export:
    cid, eid = export.creator_id, export.id
    manifest = Manifest(cid, eid, export.created_at, export.include_sources)
    out = PartWriter(storage, export.archive_key, upload_id)
    writer = ArchiveWriter(out, manifest)

    def save(files: int, nbytes: int) -> None:
        exports.update_export(table, cid, eid, files_done=files, bytes_done=nbytes)

    progress = Progress(save)
    writer.add(ITEMS, _counted_files(progress, item_lines(table, cid, eid)), None, "", "items")
    for file in planned:
        chunks = progress.count(object_chunks(storage, file.key))
        writer.add(file.path, chunks, file.size, file.relative, file.kind)
    writer.close()
    progress.maybe_save(force=True)
    return exports.update_export(
        table, cid, eid, status=exports.READY, archive_bytes=out.written, upload_id=""
    )


def _counted_files(progress: Progress, lines: Iterator[bytes]) -> Iterator[Any]:
    """items.jsonl counts as a file done, not as media bytes."""
    yield from lines
    progress.files += 1
