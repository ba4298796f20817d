"""Choose the analyzer: Gemini when configured (or a key is set), else the signal analyzer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from truss.analysis.base import Analyzer, StreamInfo


def wants_gemini(config: Mapping[str, Any]) -> bool:
    choice = config["ANALYZER"]
    return choice == "gemini" or (choice == "auto" and bool(config["GEMINI_API_KEY"]))


def build_analyzer(
    config: Mapping[str, Any], asset: Any, video: Path, probe: StreamInfo
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
        input_price_per_m=config["GEMINI_INPUT_PRICE_PER_M"],
        output_price_per_m=config["GEMINI_OUTPUT_PRICE_PER_M"],
    )
    return GeminiAnalyzer(settings, refine=lambda start, end: snap_edges(start, end, signals))
