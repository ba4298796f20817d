"""Choose the analyzer: Gemini when configured (or a key is set), else the signal analyzer."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from truss.analysis.base import Analyzer, StreamInfo
from truss.data import assets, keys
from truss.data.table import Table

REUSE_MARGIN_S = 30 * 60  # an uploaded file expiring sooner than this is uploaded again


def wants_gemini(config: Mapping[str, Any]) -> bool:
    choice = config["ANALYZER"]
    return choice == "gemini" or (choice == "auto" and bool(config["GEMINI_API_KEY"]))


class AssetFileCache:
    """Remembers the video's Gemini upload on the asset item, so a re-analysis within its
    48 hours reuses it instead of uploading the whole video again."""

    def __init__(self, table: Table, cid: str, aid: str) -> None:
        self.table, self.key = table, keys.asset(cid, aid)
        self.cid, self.aid = cid, aid

    def lookup(self, video: Path) -> str | None:
        item = self.table.find(self.key) or {}
        name = item.get("gemini_file", "")
        fresh = float(item.get("gemini_file_expires_at", 0)) > time.time() + REUSE_MARGIN_S
        return name if name and fresh else None

    def store(self, video: Path, file: Any) -> None:
        """Remember the upload on the asset; Conflict when the asset is gone or being deleted
        (the analyzer then deletes the file, which nobody else could find)."""
        expires = file.expires_at.timestamp() if file.expires_at else time.time() + 47 * 3600
        assets.remember_gemini_file(self.table, self.cid, self.aid, file.name, int(expires))


def build_analyzer(
    config: Mapping[str, Any], table: Table, asset: Any, video: Path, probe: StreamInfo
) -> Analyzer:
    """The analyzer for one video; Gemini's clip edges are refined by the video's own signals."""
    if not wants_gemini(config):
        from truss.analysis.signals import SignalAnalyzer

        return SignalAnalyzer()
    from truss import media
    from truss.analysis.gemini import GeminiAnalyzer
    from truss.analysis.signals import snap_edges

    signals = media.measure_signals(video, probe)
    return GeminiAnalyzer(
        gemini_settings(config),
        refine=lambda start, end: snap_edges(start, end, signals),
        file_cache=AssetFileCache(table, asset.creator_id, asset.id),
    )


def gemini_settings(config: Mapping[str, Any]) -> Any:
    from truss.analysis.gemini import DEFAULT_MODEL, GeminiSettings

    return GeminiSettings(
        model=config["GEMINI_MODEL"] or DEFAULT_MODEL,
        api_key=config["GEMINI_API_KEY"] or None,
        base_url=config["GEMINI_BASE_URL"] or None,
        input_price_per_m=config["GEMINI_INPUT_PRICE_PER_M"],
        output_price_per_m=config["GEMINI_OUTPUT_PRICE_PER_M"],
        poll_interval_s=config["GEMINI_POLL_INTERVAL_S"],
        retry_initial_delay_s=config["GEMINI_RETRY_INITIAL_DELAY_S"],
    )


def gemini_file_deleter(config: Mapping[str, Any]) -> Callable[[str], None] | None:
    """What deletes a video's Gemini upload (files.delete) when the video is deleted; None
    when Gemini isn't configured here (the file then expires within 48 hours)."""
    if not (wants_gemini(config) or config["GEMINI_API_KEY"]):
        return None
    from truss.analysis.gemini import GeminiAnalyzer

    return GeminiAnalyzer(gemini_settings(config)).delete_file
