"""Shared by the pipeline tests: an asset that is `uploaded` (its video: tests.support.media)."""

from __future__ import annotations

from pathlib import Path

from truss.data import assets
from truss.data.assets import Asset
from truss.extensions import get_storage, get_table

# What tests that never look at a render's picture render at: a 180x320 render of a few
# seconds takes ~0.3 s where 720x1280 takes ~1 s (the same code and ffmpeg filters).
SMALL_RENDER = (180, 320)
SMALL_RENDER_SETTINGS = {"RENDER_SIZE": "180x320"}  # the app's setting for the same


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
