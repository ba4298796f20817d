"""An asset's chapters: inline on `ASSET#<aid>#CHAPTERS`, or in S3 when they are too big."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from truss.analysis.base import Chapter
from truss.data import chapters as stored
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
    run: int | None = None,
    holder: str | None = None,
) -> None:
    """Write the chapters item; given `run`, only while the asset is in it (the pipeline's)."""
    rows = [
        {"start": round(c.start, 3), "end": round(c.end, 3), "title": c.title, "summary": c.summary}
        for c in chapters
    ]
    if len(json.dumps(rows)) > INLINE_LIMIT_BYTES:
        key = keys.asset_chapters_object(cid, aid)
        storage.put_json(key, rows)
        stored.save(table, cid, aid, object_key=key, run=run, holder=holder)
    else:
        stored.save(table, cid, aid, rows=rows, run=run, holder=holder)


def load_chapters(table: Table, storage: Storage, cid: str, aid: str) -> list[dict[str, Any]]:
    found = stored.find(table, cid, aid)
    if found is None:
        return []
    if found.object_key:
        return list(storage.get_json(found.object_key))
    return list(found.rows)
