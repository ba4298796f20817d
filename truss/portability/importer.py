"""Import: bring an archive (archive.py) in under the importing creator.

1. Check (writes nothing): the manifest's schema version, every entry present and nothing
   extra, every file's size and SHA-256, every item's keys under the manifest's creator.
   Every read of the archive is pinned to the version whose upload was confirmed (its ETag),
   and every pass refuses an item outside the creator's partition (its PK, index PKs, sort
   key template, S3 keys), so a replaced archive can't write anything it didn't check.
2. Write: each item rewritten (every Truss id in a key, an index key, an attribute or an S3
   key becomes a new id derived from the archive's export id and the old id: the same archive
   always maps to the same ids) and put create-only, with its index attributes held back
   (`import_hold`), so the library doesn't show a video yet; clips, streams and posts (listed
   by their own key) are not written yet at all. Then each file is copied to its rewritten
   key (skipped when already there with its size). Progress on the IMPORT item: a retried job
   skips what is done.
3. Reveal: the clips, streams and posts are put (create-only), every held item gets its
   index attributes; the import is `done`. A worker killed during this last step shows part
   of the archive until the retry finishes it (the import still says `importing`).

Storage: an asset's or clip's `stored_bytes` is recounted from the sizes of its files in the
archive (never taken from the item), checked against the creator's quota before anything is
written, and charged in the same transaction that creates the item: each item once, however
often the archive is imported.

Dropped on the way in: the profile, usage counters (charged anew, see above), platform
tokens, exports, imports, share tokens (old share links stay dead),
posts that were not finished (scheduled/uploading/processing), streams not ended (waiting,
live, importing), clips being deleted, leases, analysis slots and month charges. Videos that
were still being processed come in `failed` (Retry analyses them again if the source came
along); clips still rendering come in `failed` (Re-render).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from truss.data import assets, exports, keys, publications, streams, usage
from truss.data import clips as clip_data
from truss.data.creators import get_creator
from truss.data.table import Item, NotFound, Table, plain
from truss.portability.archive import (
    ARCHIVE_CHANGED,
    ITEMS,
    MANIFEST,
    SCHEMA_VERSION,
    ArchiveRefused,
    Manifest,
    RangeReader,
    member_chunks,
    open_archive,
)
from truss.storage import Storage
from truss.units import human_size

ULID_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Za-z])")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SKIPPED_SK = (
    keys.METADATA.build(),
    keys.USAGE.build(),
    keys.USAGE_MONTH.prefix_for(),
    keys.PLATFORM_TOKEN.prefix_for(),
    keys.export_prefix(),
    keys.import_prefix(),
)
DROPPED_ATTRIBUTES = frozenset(
    {
        "share_token", "slot", "deleting", "analysed_run", "analysed_month", "analysed_charge",
        "session", "claimed_by", "lease_until", "lease_holder", "gemini_file",
        "gemini_file_expires_at",
        "upload_id", "import_hold",
    }
)  # fmt: skip
UNFINISHED_STREAMS = (streams.WAITING, streams.LIVE, streams.IMPORTING)
SETTLED_ASSETS = (assets.READY, assets.FAILED)
ASSET_INTERRUPTED = (
    "This video was still being processed when it was exported. Press Retry to analyse it "
    "again (the export needs to include source videos for that)."
)
CLIP_INTERRUPTED = "This clip was still rendering when it was exported: press Re-render."
SAFE_KEY = re.compile(r"[A-Za-z0-9._/-]+")
OBJECT_KEY_ATTRIBUTES = (
    "source_key", "thumbnail_key", "video_key", "poster_key", "transcript_key",
    "chapters_object", "archive_prefix",
)  # fmt: skip
PROGRESS_EVERY_ITEMS = 200
DEFERRED_TYPES = frozenset({clip_data.CLIP_TYPE, streams.STREAM_TYPE, publications.TYPE})


def derived_id(archive_id: str, old_id: str) -> str:
    """A new id for `old_id` from this archive: its first 10 characters (the ULID's time, so
    sort order stays creation order) and 16 from a hash of (archive id, old id)."""
    number = int.from_bytes(hashlib.sha256(f"{archive_id}:{old_id}".encode()).digest()[:10])
    tail = "".join(CROCKFORD[(number >> shift) & 31] for shift in range(75, -1, -5))
    return old_id[:10] + tail


@dataclass(frozen=True)
class Mapping:
    """How one archive's ids become the importing creator's."""

    old_cid: str
    new_cid: str
    archive_id: str
    dropped_streams: frozenset[str] = frozenset()  # old ids of streams not brought in
    sizes: dict[str, int] = field(default_factory=dict)  # old S3 key → its file's size

    def id(self, old: str) -> str:
        return self.new_cid if old == self.old_cid else derived_id(self.archive_id, old)

    def text(self, value: str) -> str:
        return ULID_TOKEN.sub(lambda m: self.id(m.group(0)), value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, set | frozenset):
            return {self.value(v) for v in value}
        return value

    def object_key(self, relative: str) -> str:
        return keys.creator_object_root(self.new_cid) + self.text(relative)


def _skipped(item: Item, dropped_streams: frozenset[str] = frozenset()) -> bool:
    sk, kind, status = str(item.get("SK", "")), item.get("type"), item.get("status")
    if sk.startswith(keys.CHAT_SPIKE.prefix_for()):  # a dropped stream's spikes go with it
        return keys.CHAT_SPIKE.parse(sk)[0] in dropped_streams
    if kind == streams.LINK_TYPE and item.get("stream_id") in dropped_streams:
        return True
    if sk.startswith(SKIPPED_SK) or sk == keys.USAGE.build():
        return True
    if kind == publications.TYPE and status not in publications.TERMINAL:
        return True
    if kind == streams.STREAM_TYPE and status in UNFINISHED_STREAMS:
        return True
    return kind == clip_data.CLIP_TYPE and item.get("render_id") == clip_data.DELETED


STORED_FILES = {
    assets.ASSET_TYPE: ("source_key",),
    clip_data.CLIP_TYPE: ("video_key", "poster_key"),
}


def _recount_stored(item: Item, sizes: dict[str, int]) -> None:
    """An asset's or clip's `stored_bytes` as the storage counter will be charged: the sizes
    of its files that the archive brings (never what the archive's item says)."""
    item.pop(usage.STORED, None)
    names = STORED_FILES.get(str(item.get("type")), ())
    nbytes = sum(sizes.get(str(item.get(name, "")), 0) for name in names)
    if nbytes > 0:
        item[usage.STORED] = nbytes


def _settle(item: Item) -> None:
    """Work that can't continue in the new account ends as `failed`, saying what to do."""
    if item.get("type") == assets.ASSET_TYPE and item.get("status") not in SETTLED_ASSETS:
        item.update(failed_from=item.get("status", ""), status=assets.FAILED)
        item.update(error=ASSET_INTERRUPTED, progress=0, stage="")
        if "GSI1SK" in item:
            created = keys.ASSET_STATUS.parse(item["GSI1SK"])[1]
            item["GSI1SK"] = keys.ASSET_STATUS.build(assets.FAILED, created)
    if item.get("type") == clip_data.CLIP_TYPE and item.get("render_status") in (
        clip_data.PENDING,
        clip_data.RENDERING,
    ):
        item.update(render_status=clip_data.FAILED, error=CLIP_INTERRUPTED)


def deferred(item: Item) -> bool:
    """Items a page lists by their own key (the clips page's newest-first Query, the streams
    list, posts): written only in the reveal, after every other item and file is in."""
    return item.get("type") in DEFERRED_TYPES


def transform(item: Item, mapping: Mapping, iid: str) -> Item | None:
    """The item as it is written under the importing creator, or None when it is dropped;
    ArchiveRefused for an item that is not the archive's creator's own (checked as read and
    as rewritten, in every pass: nothing outside the importer's partition is ever written)."""
    _refuse_foreign(item, mapping.old_cid)
    if _skipped(item, mapping.dropped_streams):
        return None
    kept = {k: v for k, v in item.items() if k not in DROPPED_ATTRIBUTES}
    if kept.get("stream_id") in mapping.dropped_streams:
        del kept["stream_id"]  # a video linked to a stream that isn't coming
    _recount_stored(kept, mapping.sizes)
    _settle(kept)
    rewritten: Item = mapping.value(kept)
    _refuse_foreign(rewritten, mapping.new_cid)  # with its index keys, before they are held
    held = {name: rewritten.pop(name) for name in exports.INDEX_ATTRIBUTES if name in rewritten}
    if held and not deferred(rewritten):
        rewritten[exports.HOLD] = held
    else:
        rewritten.update(held)
    rewritten["imported_by"] = iid
    return rewritten


def _refuse_foreign(item: Item, cid: str) -> None:
    """ArchiveRefused unless the item is one of `cid`'s own: its key and index keys in the
    creator's partition, a sort key a creator's item has, its S3 keys under its folder."""
    own = keys.creator_pk(cid)
    pk, sk = str(item.get("PK", "")), str(item.get("SK", ""))
    index_pks = [str(item[n]) for n in ("GSI1PK", "GSI2PK") if n in item]
    foreign = pk != own or any(
        p != own and not p.startswith(keys.ASSET_CLIPS.prefix_for(cid)) for p in index_pks
    )
    if foreign or not keys.is_creator_item_sk(sk) or not _objects_own(item, cid):
        raise ArchiveRefused(
            f"An item of items.jsonl ({pk} {sk}) is not the archive's creator's own "
            f"({cid}): the import stopped. Use an archive exactly as Truss exported it."
        )


def _objects_own(item: Item, cid: str) -> bool:
    root = keys.creator_object_root(cid)
    for name in OBJECT_KEY_ATTRIBUTES:
        value = item.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not value.startswith(root) or ".." in value:
            return False
    return True


def lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        carry += chunk
        *whole, carry = carry.split(b"\n")
        yield from (line for line in whole if line.strip())
    if carry.strip():
        yield carry


def read_items(archive: zipfile.ZipFile, manifest: Manifest) -> Iterator[Item]:
    """items.jsonl's items (plain Python values), after checking its header."""
    deserializer = TypeDeserializer()
    stream = lines(member_chunks(archive, ITEMS))
    header = _json(next(stream, b"{}"), 0)
    version = int(header.get("schema_version", 0) or 0)
    if version > SCHEMA_VERSION:
        raise ArchiveRefused(
            f"items.jsonl was written by a newer Truss (schema version {version}; this one "
            f"reads up to {SCHEMA_VERSION}). Update Truss, then import it again."
        )
    if header.get("creator_id") != manifest.creator_id:
        raise ArchiveRefused("items.jsonl names another creator than manifest.json.")
    for number, line in enumerate(stream, start=1):
        typed = _json(line, number)
        try:
            yield plain({k: deserializer.deserialize(v) for k, v in typed.items()})
        except (TypeError, ValueError, AttributeError) as exc:
            raise ArchiveRefused(f"Item {number} of items.jsonl is not DynamoDB JSON.") from exc


def _json(line: bytes, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ArchiveRefused(f"Line {number + 1} of items.jsonl is not JSON.") from exc
    if not isinstance(value, dict):
        raise ArchiveRefused(f"Line {number + 1} of items.jsonl is not a JSON object.")
    return value


def dropped_streams(archive: zipfile.ZipFile, manifest: Manifest) -> frozenset[str]:
    """The old ids of the streams an import leaves out (not ended): one pass over the items,
    before the others (a stream's spikes sort before the stream)."""
    return frozenset(
        keys.stream_id_from_sk(item["SK"])
        for item in read_items(archive, manifest)
        if item.get("type") == streams.STREAM_TYPE and _skipped(item)
    )


@dataclass(frozen=True)
class Checked:
    manifest: Manifest
    dropped_streams: frozenset[str]
    items: int  # items that will be written
    files: int
    charge: int  # bytes of the files the imported items hold (their stored_bytes)


def read_manifest(archive: zipfile.ZipFile) -> Manifest:
    if MANIFEST not in archive.namelist():
        raise ArchiveRefused("The archive has no manifest.json: it is not a Truss export.")
    manifest = Manifest.from_json(archive.read(MANIFEST))
    listed = [entry.path for entry in manifest.files]
    present = set(archive.namelist()) - {MANIFEST}
    for path in listed:
        if path not in present:
            raise ArchiveRefused(f"manifest.json lists {path}, which the archive lacks.")
    for path in sorted(present - set(listed)):
        raise ArchiveRefused(
            f"{path} is in the archive but not in manifest.json (an entry was removed or a "
            "file added): nothing was imported."
        )
    if ITEMS not in listed or len(set(listed)) != len(listed):
        raise ArchiveRefused("manifest.json must list items.jsonl and each file once.")
    for entry in manifest.files:
        bad = ".." in entry.key.split("/") or entry.key.startswith("/")
        if entry.kind != "items" and (bad or not SAFE_KEY.fullmatch(entry.key)):
            raise ArchiveRefused(f"manifest.json gives {entry.path} an unusable key.")
    return manifest


def check(archive: zipfile.ZipFile, mapping_for: Any, iid: str) -> Checked:
    """Read the whole archive, writing nothing; ArchiveRefused naming the first problem."""
    manifest = read_manifest(archive)
    for entry in manifest.files:
        digest, size = hashlib.sha256(), 0
        for chunk in member_chunks(archive, entry.path):
            digest.update(chunk)
            size += len(chunk)
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise ArchiveRefused(
                f"{entry.path} does not match its checksum in manifest.json (it was changed "
                "after the export): nothing was imported. Download the export again."
            )
    mapping = mapping_for(manifest, dropped_streams(archive, manifest))
    count, charge = 0, 0
    for item in read_items(archive, manifest):
        written = transform(item, mapping, iid)
        if written is not None:
            count += 1
            charge += int(written.get(usage.STORED, 0))
    files = sum(1 for entry in manifest.files if entry.kind != "items")
    return Checked(manifest, mapping.dropped_streams, count, files, charge)


class AccountDeleting(Exception):
    """The importing account's deletion began: stop writing into it."""


class Importer:
    """`storage_limit`: the creator's storage quota in bytes (0: none), checked against the
    archive's files before anything is written, and by every charge."""

    def __init__(
        self, table: Table, storage: Storage, cid: str, iid: str, storage_limit: int = 0
    ) -> None:
        self.table, self.storage, self.cid, self.iid = table, storage, cid, iid
        self.storage_limit = storage_limit

    def mapping(self, manifest: Manifest, dropped: frozenset[str]) -> Mapping:
        root = keys.creator_object_root(manifest.creator_id)
        sizes = {root + e.key: e.size for e in manifest.files if e.kind != "items"}
        return Mapping(manifest.creator_id, self.cid, manifest.export_id, dropped, sizes)

    def run(self) -> exports.Import:
        """Check, write, reveal; a refused archive fails the import (no retry helps)."""
        imp = exports.get_import(self.table, self.cid, self.iid)
        if imp.status == exports.DONE:
            return imp
        try:
            self._stop_if_deleting()
            return self._run(imp)
        except AccountDeleting:
            return self._fail(ACCOUNT_DELETING)

    def _stop_if_deleting(self) -> None:
        """Checked before writing and then at each progress step: the account's deletion
        may begin while an import runs."""
        try:
            deleting = bool(get_creator(self.table, self.cid).deleting)
        except NotFound:  # the deletion already removed the profile
            deleting = True
        if deleting:
            raise AccountDeleting(self.cid)

    def _run(self, imp: exports.Import) -> exports.Import:
        """The archive read is pinned to the version whose upload was confirmed (its ETag):
        one replaced since, or while this runs, is refused."""
        info = self.storage.head(imp.archive_key)
        if info is None:
            return self._fail(NO_ARCHIVE)
        if imp.archive_etag and info.etag != imp.archive_etag:
            return self._fail(ARCHIVE_CHANGED)
        try:
            return self._import(
                imp, RangeReader(self.storage, imp.archive_key, info.size, info.etag)
            )
        except ArchiveRefused as exc:
            return self._fail(str(exc))
        except usage.OverLimit:
            return self._fail(self._storage_full(0))

    def _storage_full(self, needed: int) -> str:
        used = self._stored_now()
        return (
            f"Your storage is too full for this archive: your videos and clips use "
            f"{human_size(used)} of your {human_size(self.storage_limit)}"
            + (f", and the archive's need {human_size(needed)}" if needed else "")
            + ". Delete videos you no longer need (or ask the operator for more room), then "
            "upload the archive again."
        )

    def _stored_now(self) -> int:
        return usage.read(self.table, self.cid, time.strftime("%Y-%m", time.gmtime())).stored_bytes

    def _new_charge(self, archive: zipfile.ZipFile, checked: Checked) -> int:
        """What this import will charge when it runs: the archive's total, or, when that
        doesn't fit, only the items not imported before (the same archive imported again
        charges nothing; one GetItem per video and clip, only then)."""
        if not self.storage_limit or checked.charge <= 0:
            return 0
        if self._stored_now() + checked.charge <= self.storage_limit:
            return checked.charge
        mapping = self.mapping(checked.manifest, checked.dropped_streams)
        return sum(
            int(item.get(usage.STORED, 0))
            for item in self._items(archive, checked.manifest, mapping)
            if item.get(usage.STORED) and not exports.imported_before(self.table, item)
        )

    def _fail(self, error: str) -> exports.Import:
        return fail_import(self.table, self.storage, self.cid, self.iid, error)

    def _import(self, imp: exports.Import, reader: RangeReader) -> exports.Import:
        exports.update_import(self.table, self.cid, self.iid, status=exports.CHECKING)
        archive = open_archive(reader)
        checked = check(archive, self.mapping, self.iid)
        charge = 0 if imp.items_done else self._new_charge(archive, checked)
        if charge and self._stored_now() + charge > self.storage_limit:
            return self._fail(self._storage_full(charge))
        imp = exports.update_import(
            self.table, self.cid, self.iid, status=exports.IMPORTING,
            items_total=checked.items, files_total=checked.files,
        )  # fmt: skip
        mapping = self.mapping(checked.manifest, checked.dropped_streams)
        self._write_items(archive, checked.manifest, mapping, imp.items_done)
        self._copy_files(archive, checked.manifest, mapping, imp.files_done)
        self._reveal(archive, checked.manifest, mapping)
        done = exports.update_import(self.table, self.cid, self.iid, status=exports.DONE)
        self.storage.delete(imp.archive_key)
        return done

    def _items(
        self, archive: zipfile.ZipFile, manifest: Manifest, mapping: Mapping
    ) -> Iterator[Item]:
        for item in read_items(archive, manifest):
            written = transform(item, mapping, self.iid)
            if written is not None:
                yield written

    def _write_items(
        self, archive: zipfile.ZipFile, manifest: Manifest, mapping: Mapping, done: int
    ) -> None:
        count = 0
        for count, item in enumerate(self._items(archive, manifest, mapping), start=1):
            if count <= done or deferred(item):
                continue
            exports.put_imported(self.table, item, self.storage_limit)
            if count % PROGRESS_EVERY_ITEMS == 0:
                self._stop_if_deleting()
                exports.update_import(self.table, self.cid, self.iid, items_done=count)
        exports.update_import(self.table, self.cid, self.iid, items_done=count)

    def _copy_files(
        self, archive: zipfile.ZipFile, manifest: Manifest, mapping: Mapping, done: int
    ) -> None:
        files = [entry for entry in manifest.files if entry.kind != "items"]
        for number, entry in enumerate(files, start=1):
            if number <= done:
                continue
            self._stop_if_deleting()
            key = mapping.object_key(entry.key)
            there = self.storage.head(key)
            if there is None or there.size != entry.size:
                with archive.open(entry.path) as member:
                    self.storage.upload_stream(member, key, _content_type(entry.path))
            exports.update_import(self.table, self.cid, self.iid, files_done=number)

    def _reveal(self, archive: zipfile.ZipFile, manifest: Manifest, mapping: Mapping) -> None:
        for item in self._items(archive, manifest, mapping):
            if deferred(item):
                exports.put_imported(self.table, item, self.storage_limit)
        for item in self._items(archive, manifest, mapping):
            if exports.HOLD in item:
                exports.reveal(self.table, {"PK": item["PK"], "SK": item["SK"]})
        exports.update_import(self.table, self.cid, self.iid, revealed=True)


NO_ARCHIVE = "The archive never arrived in storage. Upload it again."
ACCOUNT_DELETING = "This account is being deleted: the import stopped."
CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".json": "application/json"}


def _content_type(path: str) -> str:
    return CONTENT_TYPES.get(path[path.rfind(".") :].lower(), "application/octet-stream")


def fail_import(table: Table, storage: Storage, cid: str, iid: str, error: str) -> exports.Import:
    """The import failed for good (the creator uploads the archive again): say why, and
    delete its uploaded archive (S3's expiry rule is the backstop for one left behind)."""
    failed = exports.fail_import(table, cid, iid, error)
    storage.delete(keys.import_archive_object(cid, iid))
    return failed or exports.get_import(table, cid, iid)


def run_import(
    table: Table, storage: Storage, cid: str, iid: str, storage_limit: int = 0
) -> exports.Import:
    return Importer(table, storage, cid, iid, storage_limit).run()
