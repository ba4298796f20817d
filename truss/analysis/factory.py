"""Choose the analyzer: Gemini when configured (or a key is set), else the signal analyzer."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from truss.analysis.base import Analyzer, StreamInfo
from truss.data import keys
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

    def lookup(self, video: Path) -> str | None:
        item = self.table.get(self.key)
        name = item.get("gemini_file", "")
        fresh = float(item.get("gemini_file_expires_at", 0)) > time.time() + REUSE_MARGIN_S
        return name if name and fresh else None

    def store(self, video: Path, file: Any) -> None:
        expires = file.expires_at.timestamp() if file.expires_at else time.time() + 47 * 3600
        self.table.update(
            self.key, {"gemini_file": file.name, "gemini_file_expires_at": int(expires)}
        )


def build_analyzer(
    config: Mapping[str, Any], table: Table, asset: Any, video: Path, probe: StreamInfo
) -> Analyzer:
    """The analyzer for one video; Gemini's clip edges are refined by the video's own signals."""
    if not wants_gemini(config):
        from truss.analysis.signals import SignalAnalyzer

        return SignalAnalyzer()
    from truss import media
    from truss.analysis.gemini import DEFAULT_MODEL, GeminiAnalyzer, GeminiSettings
    from truss.analysis.signals import snap_edges

    signals = media.measure_signals(video, probe)
    settings = GeminiSettings(
        model=config["GEMINI_MODEL"] or DEFAULT_MODEL,
        api_key=config["GEMINI_API_KEY"] or None,
        base_url=config["GEMINI_BASE_URL"] or None,
        input_price_per_m=config["GEMINI_INPUT_PRICE_PER_M"],
        output_price_per_m=config["GEMINI_OUTPUT_PRICE_PER_M"],
        poll_interval_s=config["GEMINI_POLL_INTERVAL_S"],
        retry_initial_delay_s=config["GEMINI_RETRY_INITIAL_DELAY_S"],
    )
    return GeminiAnalyzer(
        settings,
        refine=lambda start, end: snap_edges(start, end, signals),
        file_cache=AssetFileCache(table, asset.creator_id, asset.id),
    )
