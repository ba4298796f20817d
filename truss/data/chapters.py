"""An asset's chapters item (`ASSET#<aid>#CHAPTERS`): the rows inline, or a pointer to the S3
object holding them when they are too big for an item (truss.services.chapters decides)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from truss.data import assets, keys
from truss.data.items import attr, from_item
from truss.data.table import Item, Table

CHAPTERS_TYPE = "chapters"
Row = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class StoredChapters:
    asset_id: str = ""
    rows: list[Row] = field(default_factory=list, metadata=attr(name="chapters"))
    object_key: str = field(default="", metadata=attr(name="chapters_object"))


def chapters_item(cid: str, aid: str, rows: list[Row] | None, object_key: str | None) -> Item:
    """The item: `chapters_object` when the rows live in S3, else the rows as `chapters`."""
    item: Item = {**keys.asset_chapters(cid, aid), "type": CHAPTERS_TYPE, "asset_id": aid}
    if object_key:
        item["chapters_object"] = object_key
    else:
        item["chapters"] = rows or []
    return item


def save(
    table: Table, cid: str, aid: str, rows: list[Row] | None = None,
    object_key: str | None = None, run: int | None = None, holder: str | None = None,
) -> None:  # fmt: skip
    """Write (or replace) the chapters item; given `run`, only while the asset is analysing
    in that run (and `holder` holds its lease): Conflict otherwise."""
    item = chapters_item(cid, aid, rows, object_key)
    if run is None:
        table.put(item)
    else:
        assets.put_in_run(table, cid, aid, run, item, holder=holder)


def find(table: Table, cid: str, aid: str) -> StoredChapters | None:
    item = table.find(keys.asset_chapters(cid, aid))
    return None if item is None else from_item(StoredChapters, item)


def delete_with_clips(table: Table, cid: str, aid: str, clip_ids: Sequence[str]) -> None:
    """Delete the chapters item and these clips by key (a clip that isn't there is fine)."""
    table.batch_delete([keys.asset_chapters(cid, aid), *(keys.clip(cid, c) for c in clip_ids)])
