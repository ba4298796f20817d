"""The video's Gemini upload, remembered on its asset item (`gemini_file`,
`gemini_file_expires_at`) so a re-analysis within the file's 48 hours reuses it instead of
uploading the whole video again. The pipeline hands this cache to the analyzer, which never
sees the table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from truss.data import assets
from truss.data.table import NotFound, Table

if TYPE_CHECKING:
    from truss.analysis.gemini import UploadedFile

REUSE_MARGIN_S = 30 * 60  # an uploaded file expiring sooner than this is uploaded again
ASSUMED_LIFE_S = 47 * 3600  # when the API gives no expiry (files live 48 hours)


class AssetFileCache:
    """One asset's Gemini upload: the FileCache of truss.analysis.gemini."""

    def __init__(self, table: Table, cid: str, aid: str) -> None:
        self.table, self.cid, self.aid = table, cid, aid

    def lookup(self, video: Path) -> str | None:
        """The remembered upload's name while it has more than REUSE_MARGIN_S to live."""
        try:
            asset = assets.get(self.table, self.cid, self.aid)
        except NotFound:
            return None
        fresh = asset.gemini_file_expires_at > time.time() + REUSE_MARGIN_S
        return asset.gemini_file if asset.gemini_file and fresh else None

    def store(self, video: Path, file: UploadedFile) -> None:
        """Remember the upload on the asset; Conflict when the asset is gone or being deleted
        (the analyzer then deletes the file, which nobody else could find)."""
        expires = file.expires_at.timestamp() if file.expires_at else time.time() + ASSUMED_LIFE_S
        assets.remember_gemini_file(self.table, self.cid, self.aid, file.name, int(expires))
