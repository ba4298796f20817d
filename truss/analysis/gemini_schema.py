"""What we ask Gemini to answer, and how we clean what it answers (pure functions, no SDK).

The schema sent to Gemini marks every field required; parsing is lenient about the
non-essential ones (hook, reason, hashtags, transcript, chapters, summary), strict about
the ones a clip cannot exist without (start, end, title, score).

Moment rules (decided here, tested in tests/unit/test_gemini.py):
- times are clamped to [0, duration]; an empty or inverted window is dropped;
- shorter than half the minimum clip length: dropped (a 4 s "clip" is not one);
- longer than the maximum but at most 1.5x it: trimmed to the maximum from its start;
- longer than 1.5x the maximum: dropped (the model did not find a moment, it found a section);
- text fields are cleaned and capped (truss.analysis.limits: no control characters, plain
  one-line titles, hooks and reasons, hashtags of letters/digits/_ only, at most 8);
- scores are clamped to 0-100; at most MAX_CANDIDATES valid moments (best first) go on;
  `refine` may move edges, but a refined window that breaks
  the rules above is ignored in favour of the model's own window;
- two moments overlapping by more than half the shorter one: the higher score wins;
- sorted by score (highest first), then capped to max_moments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from truss.analysis import limits
from truss.analysis.base import Chapter, ClipLengths, Moment, Usage

Refine = Callable[[float, float], tuple[float, float]]

MIN_LENGTH_FACTOR = 0.5
MAX_LENGTH_FACTOR = 1.5
HEAVY_OVERLAP = 0.5
MAX_CANDIDATES = 200  # valid moments kept (best first) before overlaps are compared


def _all_required(schema: dict[str, Any]) -> None:
    """Ask Gemini for every property, even the ones we parse leniently."""
    schema["required"] = list(schema.get("properties", {}))


class MomentAnswer(BaseModel):
    model_config = ConfigDict(json_schema_extra=_all_required, allow_inf_nan=False)

    start_seconds: float = Field(description="Clip start, seconds from the start of the video")
    end_seconds: float = Field(description="Clip end, seconds from the start of the video")
    title: str = Field(description="Short catchy title for the clip")
    hook: str = Field(default="", description="The opening line or visual that grabs viewers")
    virality_score: float = Field(description="0-100: how likely this clip is to do well")
    score_reason: str = Field(default="", description="One sentence: why this score")
    hashtags: list[str] = Field(default_factory=list, description="3-6 relevant hashtags")
    transcript: str = Field(default="", description="What is said during the clip")


class ChapterAnswer(BaseModel):
    model_config = ConfigDict(json_schema_extra=_all_required, allow_inf_nan=False)

    start_seconds: float = Field(description="Chapter start in seconds")
    end_seconds: float = Field(description="Chapter end in seconds")
    title: str = Field(description="Chapter title")
    summary: str = Field(default="", description="One or two sentences on the chapter")


class GeminiAnswer(BaseModel):
    """Clip-worthy moments, chapters and a summary of one video (sent as response_schema)."""

    model_config = ConfigDict(json_schema_extra=_all_required, allow_inf_nan=False)

    moments: list[MomentAnswer] = Field(description="Best clip-worthy moments, best first")
    chapters: list[ChapterAnswer] = Field(default_factory=list, description="Chapters in order")
    summary: str = Field(default="", description="Two or three sentences on the whole video")


def parse_answer_text(text: str | None) -> GeminiAnswer | None:
    """Validate raw model text against the schema; None when it does not validate."""
    if not text:
        return None
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        return GeminiAnswer.model_validate_json(body)
    except ValueError:  # pydantic.ValidationError is a ValueError
        return None


def clean_moments(
    answers: Iterable[MomentAnswer],
    duration: float,
    lengths: ClipLengths,
    max_moments: int,
    refine: Refine | None = None,
) -> list[Moment]:
    """Apply the module's moment rules; never returns the whole video as a fallback."""
    moments = [m for a in answers if (m := _to_moment(a, duration, lengths)) is not None]
    moments = sorted(moments, key=lambda m: -m.score)[:MAX_CANDIDATES]
    if refine is not None:
        moments = [_refined(m, refine, duration, lengths) for m in moments]
    kept = drop_heavy_overlaps(moments)
    return kept[: max(0, max_moments)]


def _to_moment(answer: MomentAnswer, duration: float, lengths: ClipLengths) -> Moment | None:
    window = _valid_window(answer.start_seconds, answer.end_seconds, duration, lengths)
    if window is None:
        return None
    return Moment(  # cleans and caps every text field (truss.analysis.limits)
        start=window[0],
        end=window[1],
        title=answer.title,
        hook=answer.hook,
        score=limits.clean_score(answer.virality_score),
        reason=answer.score_reason,
        hashtags=tuple(answer.hashtags),
        transcript=answer.transcript,
    )


def _valid_window(
    start: float, end: float, duration: float, lengths: ClipLengths
) -> tuple[float, float] | None:
    """Clamp, then drop or trim by length; None when the window is unusable."""
    start, end = _clamp(start, 0.0, duration), _clamp(end, 0.0, duration)
    length = end - start
    if length <= 0 or length < lengths.min_s * MIN_LENGTH_FACTOR:
        return None
    if length > lengths.max_s * MAX_LENGTH_FACTOR:
        return None
    return start, min(end, start + lengths.max_s)


def _refined(moment: Moment, refine: Refine, duration: float, lengths: ClipLengths) -> Moment:
    start, end = refine(moment.start, moment.end)
    window = _valid_window(start, end, duration, lengths)
    if window is None:
        return moment
    return replace(moment, start=window[0], end=window[1])


def drop_heavy_overlaps(moments: Iterable[Moment]) -> list[Moment]:
    """Best score first; a moment overlapping a kept one by > half the shorter is dropped."""
    kept: list[Moment] = []
    for moment in sorted(moments, key=lambda m: (-m.score, m.start)):
        if not any(_heavy_overlap(moment, other) for other in kept):
            kept.append(moment)
    return kept


def _heavy_overlap(a: Moment, b: Moment) -> bool:
    overlap = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.duration, b.duration)
    return shorter > 0 and overlap > HEAVY_OVERLAP * shorter


def clean_chapters(answers: Iterable[ChapterAnswer], duration: float) -> list[Chapter]:
    """Clamp, sort and de-overlap chapters (overlapping windows repeat them)."""
    chapters: list[Chapter] = []
    for answer in sorted(answers, key=lambda c: c.start_seconds):
        start = _clamp(answer.start_seconds, 0.0, duration)
        end = _clamp(answer.end_seconds, 0.0, duration)
        if chapters:
            start = max(start, chapters[-1].end)
        if end - start >= 1.0:
            chapters.append(Chapter(start, end, answer.title, answer.summary))
        if len(chapters) == limits.MAX_CHAPTERS:
            break
    return chapters


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


@dataclass(frozen=True)
class Window:
    """A stretch of the source, in seconds, asked about in one request."""

    start: float
    end: float


def plan_windows(duration: float, window_s: float, overlap_s: float) -> list[Window]:
    """One window for most videos; equal overlapping windows, none longer than window_s."""
    if duration <= window_s:
        return [Window(0.0, duration)]
    overlap = min(overlap_s, window_s / 2)
    count = math.ceil((duration - overlap) / (window_s - overlap))
    length = (duration + (count - 1) * overlap) / count
    step = length - overlap
    return [Window(i * step, min(duration, i * step + length)) for i in range(count)]


def build_prompt(duration: float, lengths: ClipLengths, max_moments: int, window: Window) -> str:
    """The instructions sent with the video; all times are absolute seconds."""
    scope = ""
    if window.start > 0 or window.end < duration:
        scope = (
            f"\nThis request covers only the part from {window.start:.0f} s to "
            f"{window.end:.0f} s. Pick moments and chapters inside that part, but give every "
            "time in seconds from the start of the full video."
        )
    return (
        "You are an editor who cuts long videos into short vertical clips for TikTok, "
        "YouTube Shorts and Instagram Reels.\n"
        f"The video is {_clock(duration)} long ({duration:.1f} seconds).{scope}\n"
        f"Find up to {max_moments} moments that work on their own as clips of "
        f"{lengths.min_s:g} to {lengths.max_s:g} seconds: a strong hook in the first seconds, "
        "one complete idea, a payoff. Start and end on sentence boundaries.\n"
        "For each moment give start_seconds and end_seconds (numbers of seconds, not "
        "timestamps), a title, the hook, a virality_score from 0 to 100 with a one-sentence "
        "score_reason, a few hashtags and the transcript of what is said.\n"
        "Also split the video into chapters in order (start_seconds, end_seconds, title, "
        "summary) and write a two or three sentence summary of the whole video.\n"
        "If nothing is worth clipping, return an empty moments list."
    )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def add_usage(total: Usage, more: Usage, media_seconds: float = 0.0) -> Usage:
    return Usage(
        input_tokens=total.input_tokens + more.input_tokens,
        output_tokens=total.output_tokens + more.output_tokens,
        media_seconds=total.media_seconds + more.media_seconds + media_seconds,
    )


def estimate_cost_usd(usage: Usage, input_price_per_m: float, output_price_per_m: float) -> float:
    """Token cost in USD from per-million-token prices."""
    return (
        usage.input_tokens * input_price_per_m + usage.output_tokens * output_price_per_m
    ) / 1_000_000
