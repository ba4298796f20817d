"""What one video holds in S3 now: its source and its clips' current renders, as counted
towards the creator's storage (truss.data.usage keeps `stored_bytes` on each item)."""

from __future__ import annotations

from truss.data import keys
from truss.data.table import Table
from truss.data.usage import STORED


def stored_bytes(table: Table, cid: str, aid: str) -> int:
    """The source's bytes plus every clip's render (one GetItem, one Query on GSI2)."""
    source = table.find(keys.asset(cid, aid)) or {}
    renders = table.query_all(keys.asset_clips_pk(cid, aid), keys.clip_prefix(), index=keys.GSI2)
    total = int(source.get(STORED) or source.get("size") or 0)
    return total + sum(int(item.get(STORED) or 0) for item in renders)
