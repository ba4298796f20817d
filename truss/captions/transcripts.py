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
VTT_TIME = re.compile(r"(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})")


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


def vtt_seconds(stamp: str) -> float | None:
    """Seconds of a WebVTT timestamp (`hh:mm:ss.ttt` or `mm:ss.ttt`), None if it isn't one."""
    found = VTT_TIME.fullmatch(stamp.strip())
    if found is None:
        return None
    hours, minutes, seconds, millis = found.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def check_vtt_timings(text: str) -> None:
    """Refuse the first cue whose times can't be read (webvtt-py would skip it silently)."""
    lines = text.splitlines()
    for number in timing_lines(text):
        if lines[number - 1].startswith("NOTE"):
            continue
        first, _, rest = lines[number - 1].partition("-->")
        parts = rest.split()
        if vtt_seconds(first) is None or not parts or vtt_seconds(parts[0]) is None:
            raise TranscriptError(
                f"Line {number} of the WebVTT file has cue times that can't be read "
                "(write them as 00:00:01.000 --> 00:00:02.500). Fix it and upload again."
            )


def parse_vtt(text: str) -> list[Cue]:
    check_vtt_timings(text)
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)).captions)
    except webvtt.errors.MalformedFileError as exc:
        raise TranscriptError(
            "Line 1 of the WebVTT file must say WEBVTT. Is it an SRT file? Name it .srt."
        ) from exc
    cues = []
    for caption in captions:  # its own *_in_seconds drop the milliseconds
        start, end = vtt_seconds(caption.start), vtt_seconds(caption.end)
        if start is not None and end is not None:
            cues.append(Cue(start, end, caption.text))
    return cues


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


def words_in(cues: list[Cue], offset: float, first: float, last: float) -> list[Word]:
    """The words of the cues that start within [first, last), moved by `offset` onto the
    source video's timeline, each cue cut at `last`."""
    words: list[Word] = []
    for cue in cues:
        if first <= cue.start < last:
            end = min(cue.end, last)
            words += spread(plain(cue.text), offset + cue.start, offset + end)
    return words


def from_cues(cues: list[Cue], clip_start: float, clip_length: float) -> Transcript:
    """The cues' words on the source video's timeline. A file made for the clip counts from
    its start; a file made for the whole video (cues past the clip's length) is read on the
    video's times."""
    whole_video = clip_start > 0 and any(c.start >= clip_length + 1 for c in cues)
    if whole_video:
        words = words_in(cues, 0.0, clip_start, clip_start + clip_length)
    else:
        words = words_in(cues, clip_start, 0.0, clip_length)
    if not words:
        raise TranscriptError(
            f"None of this file's subtitles fall inside the clip's {clip_length:.0f} s. "
            "Its times should count from the clip's start (or from the video's start)."
        )
    return make(UPLOAD, words)
