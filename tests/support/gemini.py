"""Shared by the Gemini tests: the analyzer set up against the fake Gemini server
(tests/support/fake_gemini.py), the model's answers, a stream's probe, a file that isn't a video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.fake_gemini import API_KEY, FakeGemini
from truss.analysis.base import StreamInfo
from truss.analysis.gemini import GeminiAnalyzer, GeminiSettings

# Every setting the google-genai client reads from the environment (the tests clear them).
GENAI_ENV = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_ENTERPRISE",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
)


def make_analyzer(fake: FakeGemini, **overrides: Any) -> GeminiAnalyzer:
    refine = overrides.pop("refine", None)
    file_cache = overrides.pop("file_cache", None)
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": fake.base_url,
        "poll_interval_s": 0.01,
        "active_timeout_s": 5.0,
        "retry_attempts": 3,
        "retry_initial_delay_s": 0.01,
        "retry_max_delay_s": 0.02,
    }
    values.update(overrides)
    return GeminiAnalyzer(GeminiSettings(**values), refine=refine, file_cache=file_cache)


def probe(duration: float) -> StreamInfo:
    return StreamInfo(duration=duration, width=1920, height=1080, fps=30.0, has_audio=True)


def moment(start: float, end: float, score: float = 80, **extra: Any) -> dict[str, Any]:
    return {
        "start_seconds": start,
        "end_seconds": end,
        "title": extra.get("title", f"Moment at {start:g}"),
        "hook": "Wait for it",
        "virality_score": score,
        "score_reason": "Strong hook and payoff",
        "hashtags": extra.get("hashtags", ["#funny"]),
        "transcript": "so then I said...",
    }


def answer(*moments: dict[str, Any], chapters: list[dict[str, Any]] | None = None) -> dict:
    return {
        "moments": list(moments),
        "chapters": chapters
        if chapters is not None
        else [{"start_seconds": 0, "end_seconds": 300, "title": "Intro", "summary": "Hello"}],
        "summary": "A talk about things.",
    }


def not_a_video(path: Path) -> Path:
    """A small file that starts like an MP4 (what the analyzer uploads; the fake never reads it)."""
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    return path
