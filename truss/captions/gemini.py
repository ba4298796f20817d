"""Word timings from Gemini for one clip's window of a video it already has (the analysis's
uploaded file): one request per clip, since a whole video's words overflow one answer.

Nothing in the answer is trusted: words outside the window, with negative length or empty
text are dropped, times are clamped to the window and sorted. An answer given relative to
the window (every word inside [0, window length] while none is inside the window) is moved
onto the video's timeline."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from truss.analysis.base import AnalysisError, Usage
from truss.analysis.gemini import GeminiAnalyzer, UploadedFile
from truss.analysis.gemini_schema import Window, add_usage
from truss.captions.model import GEMINI, MAX_WORDS, Transcript, Word, make

log = logging.getLogger(__name__)
UNREADABLE = "Gemini's word timings for this clip couldn't be read twice"
SLACK_S = 1.0  # a word this far outside the window is Gemini's mistake, not a rounding


class WordAnswer(BaseModel):
    start_seconds: float = Field(description="When the word starts, seconds from video start")
    end_seconds: float = Field(description="When the word ends, seconds from video start")
    word: str = Field(description="The word as spoken, with its punctuation")


class WordsAnswer(BaseModel):
    """Every word spoken in the window, in order (sent as response_schema)."""

    words: list[WordAnswer] = Field(description="The spoken words in order; empty if none")


def prompt(start: float, end: float) -> str:
    return (
        f"Transcribe, word by word, everything spoken from {start:.1f} s to {end:.1f} s of "
        "this video. For each word give start_seconds and end_seconds (seconds from the "
        "start of the full video, not of this part) and the word exactly as spoken, with "
        "its punctuation. Leave out music, sounds and speaker names. If nobody speaks, "
        "answer with an empty list of words."
    )


def read(text: str | None) -> WordsAnswer | None:
    if not text:
        return None
    try:
        return WordsAnswer.model_validate_json(text)
    except ValidationError:
        return None


def clean(answer: WordsAnswer, start: float, end: float) -> list[Word]:
    words = [(w.start_seconds, w.end_seconds, " ".join(w.word.split())) for w in answer.words]
    words = [(s, e, t) for s, e, t in words if t and e >= s][:MAX_WORDS]
    inside = [w for w in words if start - SLACK_S <= w[0] <= end + SLACK_S]
    relative = all(0 <= s <= end - start + SLACK_S for s, _, _ in words)
    if not inside and words and relative and start > 0:
        inside = [(s + start, e + start, t) for s, e, t in words]
    return [
        Word(round(min(max(s, start), end), 3), round(min(max(e, s, start), end), 3), t)
        for s, e, t in inside
    ]


def transcribe(
    analyzer: GeminiAnalyzer, file: UploadedFile, duration: float, start: float, end: float
) -> tuple[Transcript, Usage]:
    """Gemini's timed words of [start, end) and what the requests cost (asks once more when
    the answer doesn't validate; AnalysisError after that, or when the API refuses)."""
    spent = Usage()
    for _ in range(2):
        text, usage = analyzer.ask_json(
            file, duration, prompt(start, end), Window(start, end), WordsAnswer
        )
        spent = add_usage(spent, usage, 0.0)
        answer = read(text)
        if answer is not None:
            return make(GEMINI, clean(answer, start, end), span=(start, end)), spent
    raise AnalysisError(UNREADABLE, usage=spent)


def for_windows(
    analyzer: object, video: Path, duration: float, windows: list[tuple[float, float]]
) -> tuple[list[Transcript | None], Usage]:
    """Gemini's words for each clip window of a video it has just analysed (its upload is
    reused), and what the requests cost. Another analyzer, or a window Gemini can't answer
    for, gives None: that clip's render falls back to the offline recogniser."""
    none: list[Transcript | None] = [None] * len(windows)
    if not isinstance(analyzer, GeminiAnalyzer) or not windows:
        return none, Usage()
    cache = analyzer.file_cache
    try:
        file = analyzer.ensure_file(video, cache.lookup(video) if cache else None)
    except AnalysisError as exc:
        log.warning("no Gemini file for the clips' words: %s", exc)
        return none, exc.usage or Usage()
    found, spent = [], Usage()
    for start, end in windows:
        try:
            transcript, usage = transcribe(analyzer, file, duration, start, end)
        except AnalysisError as exc:
            log.warning("Gemini's words for %.1f-%.1f s: %s", start, end, exc)
            transcript, usage = None, exc.usage or Usage()
        found.append(transcript if transcript is not None and transcript.words else None)
        spent = add_usage(spent, usage, 0.0)
    return found, spent
