"""Shared by the pipeline tests: an asset that is `uploaded` (its video: tests.support.media)."""

from __future__ import annotations

from pathlib import Path

from truss.data import assets
from truss.data.assets import Asset
from truss.extensions import get_storage, get_table


def uploaded_asset(
    source: Path | bytes, cid: str = "C1", aid: str = "01AAAAAAAAAAAAAAAAAAAAAAAA"
) -> Asset:
    table, storage = get_table(), get_storage()
    asset = assets.create(
        table, cid, aid, title="My talk", file_name="talk.mp4", expected_size=10,
        declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
    )  # fmt: skip
    body = source if isinstance(source, bytes) else source.read_bytes()
    storage.put_bytes(asset.source_key, body, "video/mp4")
    return assets.transition(table, cid, aid, assets.UPLOADING, assets.UPLOADED, size=len(body))
