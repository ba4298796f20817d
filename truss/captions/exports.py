"""A clip's captions as SRT or WebVTT files, on the clip's own timeline (0 = its first
frame), cut into the same screens the burned-in captions show."""

from __future__ import annotations

from datetime import timedelta

import srt

from truss.captions.ass import group_lines, screen_end
from truss.captions.model import Word

CHARS_PER_LINE = 32
FORMATS = {"srt": "application/x-subrip", "vtt": "text/vtt"}


def on_clip(words: tuple[Word, ...] | list[Word], clip_start: float) -> list[Word]:
    """Words moved to the clip's timeline (a word that began before the cut starts at 0)."""
    return [
        Word(
            max(0.0, round(w.start - clip_start, 3)), max(0.0, round(w.end - clip_start, 3)), w.text
        )
        for w in words
    ]


def subtitles(words: list[Word]) -> list[srt.Subtitle]:
    screens = group_lines(words, CHARS_PER_LINE, 2)
    subs = []
    for i, screen in enumerate(screens):
        next_start = screens[i + 1][0].start if i + 1 < len(screens) else None
        end = max(screen_end(screen, next_start), screen[0].start + 0.01)
        subs.append(
            srt.Subtitle(
                index=i + 1,
                start=timedelta(seconds=screen[0].start),
                end=timedelta(seconds=end),
                content=" ".join(w.text for w in screen),
            )
        )
    return subs


def to_srt(words: list[Word]) -> str:
    return srt.compose(subtitles(words), reindex=False)


def vtt_time(delta: timedelta) -> str:
    millis = round(delta.total_seconds() * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def vtt_text(text: str) -> str:
    """WebVTT cue text: `&`, `<` and `>` escaped, no `-->` inside."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("--&gt;", "-- &gt;")


def to_vtt(words: list[Word]) -> str:
    blocks = ["WEBVTT", ""]
    for sub in subtitles(words):
        blocks += [f"{vtt_time(sub.start)} --> {vtt_time(sub.end)}", vtt_text(sub.content), ""]
    return "\n".join(blocks)


def export(words: list[Word], fmt: str) -> str:
    return to_srt(words) if fmt == "srt" else to_vtt(words)
