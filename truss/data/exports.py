"""Export and import items: `EXPORT#<eid>` (an archive of the creator's data; expires after a
week) and `IMPORT#<iid>` (an archive being brought in: its progress, so a retried job resumes).

Also the writes an import makes for the importer (truss.portability.importer): create-only
puts of the rewritten items (an item holding files charged to the storage counter in the same
transaction), and the reveal that gives them their index attributes once every item and file
is in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr

from truss.data import keys, usage
from truss.data.creators import new_id, utc_now_iso
from truss.data.items import attr, from_item
from truss.data.table import AlreadyExists, Conflict, Item, NotFound, Table, create_only

EXPORT_TYPE = "export"
IMPORT_TYPE = "import"
EXPORT_LIFE_S = 7 * 24 * 3600
QUEUED = "queued"
RUNNING = "running"
READY = "ready"
FAILED = "failed"
UPLOADING = "uploading"  # an import whose archive the browser is still sending
CHECKING = "checking"  # reading the whole archive, writing nothing
IMPORTING = "importing"  # writing items (hidden) and files
DONE = "done"
IMPORT_WORKING = (QUEUED, CHECKING, IMPORTING)
HOLD = "import_hold"  # an imported item's index attributes, set only when the import ends
INDEX_ATTRIBUTES = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")


@dataclass(frozen=True, kw_only=True)
class Export:
    id: str = field(metadata=attr(name="SK", read=lambda sk: keys.EXPORT.parse(sk)[0]))
    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    status: str
    include_sources: bool = False
    archive_key: str
    created_at: str
    expires_at: int
    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    archive_bytes: int = 0
    upload_id: str = ""
    error: str = ""

    @property
    def working(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def percent(self) -> int:
        if not self.bytes_total:
            return 100 if self.status == READY else 0
        return min(100, self.bytes_done * 100 // self.bytes_total)


@dataclass(frozen=True, kw_only=True)
class Import:
    id: str = field(metadata=attr(name="SK", read=lambda sk: keys.IMPORT.parse(sk)[0]))
    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    status: str
    archive_key: str
    archive_etag: str = ""  # the uploaded archive's version, set when its upload is confirmed
    size: int = 0
    created_at: str
    items_done: int = 0
    items_total: int = 0
    files_done: int = 0
    files_total: int = 0
    revealed: bool = False
    error: str = ""

    @property
    def working(self) -> bool:
        return self.status in IMPORT_WORKING

    @property
    def steps_done(self) -> int:
        return self.items_done + self.files_done

    @property
    def percent(self) -> int:
        total = self.items_total + self.files_total
        if self.status == DONE:
            return 100
        return min(99, self.steps_done * 100 // total) if total else 0


# --- exports ------------------------------------------------------------------------------


def create_export(
    table: Table, cid: str, include_sources: bool, now: float | None = None
) -> Export:
    eid = new_id()
    now = time.time() if now is None else now
    item: Item = {
        **keys.export(cid, eid),
        "type": EXPORT_TYPE,
        "status": QUEUED,
        "include_sources": include_sources,
        "archive_key": keys.export_archive_object(cid, eid),
        "created_at": utc_now_iso(),
        "expires_at": int(now + EXPORT_LIFE_S),
    }
    table.put_new(item)
    return from_item(Export, item)


def get_export(table: Table, cid: str, eid: str, now: float | None = None) -> Export:
    """The creator's export; NotFound for another creator's, a bad id or one that expired
    (DynamoDB's TTL deletes late, moto never)."""
    if not keys.is_id(eid):
        raise NotFound(eid)
    found = from_item(Export, table.get_typed(keys.export(cid, eid), EXPORT_TYPE))
    if found.expires_at <= (time.time() if now is None else now):
        raise NotFound(eid)
    return found


def list_exports(table: Table, cid: str, now: float | None = None) -> list[Export]:
    """The creator's exports that have not expired, newest first."""
    now = time.time() if now is None else now
    found = [
        from_item(Export, i) for i in table.query_all(keys.creator_pk(cid), keys.export_prefix())
    ]
    return sorted((e for e in found if e.expires_at > now), key=lambda e: e.id, reverse=True)


def update_export(table: Table, cid: str, eid: str, **changes: Any) -> Export:
    return from_item(Export, table.update(keys.export(cid, eid), changes))


# --- imports ------------------------------------------------------------------------------


def create_import(table: Table, cid: str, size: int, status: str = UPLOADING) -> Import:
    iid = new_id()
    item: Item = {
        **keys.import_(cid, iid),
        "type": IMPORT_TYPE,
        "status": status,
        "archive_key": keys.import_archive_object(cid, iid),
        "size": size,
        "created_at": utc_now_iso(),
    }
    table.put_new(item)
    return from_item(Import, item)


def get_import(table: Table, cid: str, iid: str) -> Import:
    if not keys.is_id(iid):
        raise NotFound(iid)
    return from_item(Import, table.get_typed(keys.import_(cid, iid), IMPORT_TYPE))


def list_imports(table: Table, cid: str) -> list[Import]:
    found = table.query_all(keys.creator_pk(cid), keys.import_prefix())
    return sorted((from_item(Import, i) for i in found), key=lambda i: i.id, reverse=True)


def update_import(
    table: Table, cid: str, iid: str, expect: str | None = None, **changes: Any
) -> Import:
    """Change the import item (Conflict when `expect` is given and its status differs)."""
    condition = Attr("status").eq(expect) if expect else None
    return from_item(Import, table.update(keys.import_(cid, iid), changes, condition))


def fail_import(table: Table, cid: str, iid: str, error: str) -> Import | None:
    """Failed with a reason, unless it already finished (None)."""
    try:
        return from_item(
            Import,
            table.update(
                keys.import_(cid, iid), {"status": FAILED, "error": error}, Attr("status").ne(DONE)
            ),
        )
    except Conflict:
        return None


# --- the importer's writes ----------------------------------------------------------------


def creator_items(table: Table, cid: str) -> Iterator[Item]:
    """Every item under the creator's partition (paginated Query, never a Scan)."""
    return table.query_all(keys.creator_pk(cid), "")


def put_imported(table: Table, item: Item, limit: int = 0) -> bool:
    """Create the item unless it exists (a second run, or a resumed one): True if written.
    An item holding files in S3 (`stored_bytes`) is created in one transaction with its bytes
    added to the creator's storage counter, never past `limit` (usage.OverLimit): each
    imported item is charged exactly once, however often the archive is imported."""
    nbytes = int(item.get(usage.STORED, 0) or 0)
    if nbytes <= 0:
        try:
            table.put_new(item)
        except AlreadyExists:
            return False
        return True
    key = {"PK": item["PK"], "SK": item["SK"]}
    charge = usage.storage_charge(keys.creator_id_from_pk(item["PK"]), nbytes, limit)
    for _ in range(usage.ATTEMPTS):
        try:
            table.transact([create_only(item), charge])
        except Conflict:  # another transaction on the counter: try again
            continue
        except AlreadyExists:  # the item exists already, or the counter would pass the limit
            if table.find(key) is not None:
                return False
            raise usage.OverLimit(f"{nbytes} more bytes would pass {limit}") from None
        return True
    raise Conflict(f"{key['PK']} {key['SK']}: the storage counter kept changing")


def imported_before(table: Table, item: Item) -> bool:
    """Whether an item with this (rewritten) item's key exists already."""
    return table.find({"PK": item["PK"], "SK": item["SK"]}) is not None


def reveal(table: Table, key: keys.Key) -> bool:
    """Give an imported item its index attributes (the library, the clip lists find it from
    now on); False when it has none held back (revealed already, or never held)."""
    try:
        item = table.get(key)
    except NotFound:
        return False
    held = item.get(HOLD)
    if not isinstance(held, dict):
        return False
    try:
        table.update(key, held, Attr(HOLD).exists(), remove=(HOLD,))
    except Conflict:
        return False
    return True
