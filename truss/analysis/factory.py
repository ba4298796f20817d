"""Choose the analyzer: Gemini when configured (or a key is set), else the signal analyzer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from truss.analysis.base import Analyzer, StreamInfo

if TYPE_CHECKING:
    from truss.analysis.gemini import FileCache


def wants_gemini(config: Mapping[str, Any]) -> bool:
    choice = config["ANALYZER"]
    return choice == "gemini" or (choice == "auto" and bool(config["GEMINI_API_KEY"]))


def build_analyzer(
    config: Mapping[str, Any], video: Path, probe: StreamInfo, file_cache: FileCache | None = None
) -> Analyzer:
    """The analyzer for one video; Gemini's clip edges are refined by the video's own signals,
    and its upload is remembered in `file_cache` (the pipeline's: analyzers never see the table)."""
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
        file_cache=file_cache,
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
