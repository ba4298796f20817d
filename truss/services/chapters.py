"""An asset's chapters: inline on `ASSET#<aid>#CHAPTERS`, or in S3 when they are too big."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from truss.analysis.base import Chapter
from truss.data import keys
from truss.data.table import Table
from truss.storage import Storage

INLINE_LIMIT_BYTES = 300_000


def save_chapters(
    table: Table,
    storage: Storage,
    cid: str,
    aid: str,
    chapters: Sequence[Chapter],
    put: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Write the chapters item with `put` (the pipeline's is conditional on its run)."""
    rows = [
        {"start": round(c.start, 3), "end": round(c.end, 3), "title": c.title, "summary": c.summary}
        for c in chapters
    ]
    item: dict[str, Any] = {**keys.asset_chapters(cid, aid), "type": "chapters", "asset_id": aid}
    if len(json.dumps(rows)) > INLINE_LIMIT_BYTES:
        key = keys.asset_object_prefix(cid, aid) + "chapters.json"
        storage.put_json(key, rows)
        item["chapters_object"] = key
    else:
        item["chapters"] = rows
    (put or table.put)(item)


def load_chapters(table: Table, storage: Storage, cid: str, aid: str) -> list[dict[str, Any]]:
    item = table.find(keys.asset_chapters(cid, aid))
    if item is None:
        return []
    if item.get("chapters_object"):
        return list(storage.get_json(item["chapters_object"]))
    return list(item.get("chapters", []))
