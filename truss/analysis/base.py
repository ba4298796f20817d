"""The Analyzer interface: a local video file in, chapters and scored moments out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StreamInfo:
    """What ffmpeg says about a video file (see truss.media.probe)."""

    duration: float
    width: int
    height: int
    fps: float
    has_audio: bool
    video_codec: str = ""
    audio_codec: str = ""


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str
    summary: str = ""


@dataclass(frozen=True)
class Moment:
    """A candidate clip: a window of the source with a 0-100 score and why."""

    start: float
    end: float
    title: str
    hook: str
    score: int
    reason: str
    hashtags: tuple[str, ...] = ()
    transcript: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Usage:
    """What an analysis cost: model tokens (0 for the signal analyzer) and seconds of media."""

    input_tokens: int = 0
    output_tokens: int = 0
    media_seconds: float = 0.0


@dataclass(frozen=True)
class ClipLengths:
    """Wanted clip length range in seconds (settings TRUSS_CLIP_MIN_S / TRUSS_CLIP_MAX_S)."""

    min_s: float = 15.0
    max_s: float = 60.0


@dataclass(frozen=True)
class AnalysisResult:
    chapters: list[Chapter]
    moments: list[Moment]
    usage: Usage = field(default_factory=Usage)
    summary: str = ""
    analyzer: str = ""


class AnalysisError(Exception):
    """An analysis that cannot finish; the message is shown to the creator as is. `usage`
    is what the run spent before it stopped (tokens of a failed run still cost money)."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class Analyzer(Protocol):
    name: str

    def analyze(
        self, video: Path, probe: StreamInfo, lengths: ClipLengths, max_moments: int = 8
    ) -> AnalysisResult: ...
