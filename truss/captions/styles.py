"""The caption styles a clip can be rendered with (the clip's `caption_style` field)."""

from __future__ import annotations

WORDS = "words"  # word-by-word highlight, the short-video look
LINES = "lines"  # plain subtitles, up to two lines
NONE = "none"  # no burned-in captions
CAPTION_STYLES = (WORDS, LINES, NONE)
DEFAULT_STYLE = WORDS
LABELS = {
    WORDS: "Word by word (each word lights up as it is spoken)",
    LINES: "Plain subtitles (two lines)",
    NONE: "No captions",
}


def is_style(value: str) -> bool:
    return value in CAPTION_STYLES
