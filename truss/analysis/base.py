"""The Analyzer interface: a local video file in, chapters and scored moments out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from truss.analysis import limits


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


def _set(obj: object, **values: object) -> None:
    """Assign cleaned fields on a frozen dataclass (only from its own __post_init__)."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Chapter:
    """A part of the video; title and summary are cleaned and capped (truss.analysis.limits)."""

    start: float
    end: float
    title: str
    summary: str = ""

    def __post_init__(self) -> None:
        _set(
            self,
            title=limits.clean_line(self.title, limits.CHAPTER_TITLE_CHARS) or "Untitled chapter",
            summary=limits.clean_line(self.summary, limits.CHAPTER_SUMMARY_CHARS),
        )


@dataclass(frozen=True)
class Moment:
    """A candidate clip: a window of the source with a 0-100 score and why.

    Analyzer output is untrusted: every text field is cleaned and capped on construction
    (truss.analysis.limits), the score clamped to 0-100, so a clip item stays small."""

    start: float
    end: float
    title: str
    hook: str
    score: int
    reason: str
    hashtags: tuple[str, ...] = ()
    transcript: str = ""

    def __post_init__(self) -> None:
        hook = limits.clean_line(self.hook, limits.HOOK_CHARS)
        _set(
            self,
            title=limits.clean_line(self.title, limits.TITLE_CHARS)
            or limits.clean_line(hook, limits.TITLE_CHARS)
            or "Untitled moment",
            hook=hook,
            score=limits.clean_score(float(self.score)),
            reason=limits.clean_line(self.reason, limits.REASON_CHARS),
            hashtags=limits.clean_hashtags(self.hashtags),
            transcript=limits.clean_block(self.transcript, limits.TRANSCRIPT_CHARS),
        )

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
    """What an analyzer found; the summary is capped and chapters are at most MAX_CHAPTERS."""

    chapters: list[Chapter]
    moments: list[Moment]
    usage: Usage = field(default_factory=Usage)
    summary: str = ""
    analyzer: str = ""

    def __post_init__(self) -> None:
        _set(
            self,
            chapters=list(self.chapters[: limits.MAX_CHAPTERS]),
            summary=limits.clean_line(self.summary, limits.SUMMARY_CHARS),
        )


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
