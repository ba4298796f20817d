"""Where a clip's timed words come from besides the recognisers: a subtitle file the creator
uploads (SRT with `srt`, WebVTT with `webvtt-py`). Its times count from the clip's start, as
in a subtitle file made for the clip; a broken file is refused with the line to fix."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass

import srt
import webvtt

from truss.captions.model import UPLOAD, Transcript, TranscriptError, Word, make, spread

MAX_BYTES = 1_000_000
TAG = re.compile(r"<[^>]*>")  # <b>, <i>, <c.yellow>, <v Speaker>: styling, not words
TIMING = re.compile(r"-->")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise TranscriptError("This subtitle file is over 1 MB. Upload the clip's part only.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranscriptError(
            f"Line {line} isn't UTF-8 text. Save the subtitle file as UTF-8 and upload it again."
        ) from exc


def timing_lines(text: str) -> list[int]:
    """1-based numbers of the lines holding a cue's times (`a --> b`), in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if TIMING.search(line)]


def line_at(text: str, char: int) -> int:
    return text[:char].count("\n") + 1


def plain(text: str) -> str:
    """A cue's words without markup (tags, entities) and line breaks."""
    return " ".join(html.unescape(TAG.sub("", text)).split())


def parse_srt(text: str) -> list[Cue]:
    try:
        subs = list(srt.parse(text))
    except srt.SRTParseError as exc:
        line = line_at(text, exc.actual_start if exc.expected_start == 0 else exc.expected_start)
        raise TranscriptError(
            f"Line {line} of the SRT file isn't a subtitle block (a number, a line "
            "`00:00:01,000 --> 00:00:02,500`, then the text). Fix that line and upload it again."
        ) from exc
    return [Cue(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subs]


def parse_vtt(text: str) -> list[Cue]:
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)).captions)
    except webvtt.errors.MalformedFileError as exc:
        raise TranscriptError(
            "Line 1 of the WebVTT file must say WEBVTT. Is it an SRT file? Name it .srt."
        ) from exc
    lines = timing_lines(text)
    if len(captions) != len(lines):  # webvtt-py skips a cue it can't read: find which
        read = {(c.start, c.end) for c in captions}
        for number in lines:
            times = text.splitlines()[number - 1].split("-->")
            if (
                times[0].strip(),
                times[1].split()[0].strip() if times[1].split() else "",
            ) not in read:
                raise TranscriptError(
                    f"Line {number} of the WebVTT file has cue times that can't be read "
                    "(write them as 00:00:01.000 --> 00:00:02.500). Fix it and upload again."
                )
    return [Cue(c.start_in_seconds, c.end_in_seconds, c.text) for c in captions]


def check_times(cues: list[Cue], text: str) -> None:
    lines = timing_lines(text)
    for i, cue in enumerate(cues):
        if cue.end < cue.start:
            line = lines[i] if i < len(lines) else i + 1
            raise TranscriptError(
                f"Line {line}: this subtitle ends before it starts. Fix its times and upload again."
            )


def parse(data: bytes, filename: str = "") -> list[Cue]:
    """The cues of an SRT or WebVTT file (told apart by content, then by name)."""
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    is_vtt = text.lstrip().startswith("WEBVTT") or filename.lower().endswith(".vtt")
    cues = parse_vtt(text) if is_vtt else parse_srt(text)
    if not cues:
        raise TranscriptError("This file has no subtitles in it. Upload an SRT or WebVTT file.")
    check_times(cues, text)
    return cues


def from_cues(cues: list[Cue], clip_start: float, clip_length: float) -> Transcript:
    """The cues' words on the source video's timeline (cue times count from the clip start);
    cues after the clip's end are left out."""
    words: list[Word] = []
    for cue in cues:
        if cue.start >= clip_length:
            continue
        end = min(cue.end, clip_length)
        words += spread(plain(cue.text), clip_start + cue.start, clip_start + end)
    if not words:
        raise TranscriptError(
            f"None of this file's subtitles fall inside the clip's {clip_length:.0f} s. "
            "Its times should count from the clip's start."
        )
    return make(UPLOAD, words)
