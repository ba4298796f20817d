"""How long and what shape analyzer text may be: model output is untrusted input.

Every Moment, Chapter and AnalysisResult cleans its own fields with these on construction
(truss.analysis.base), so whatever an analyzer answers, a clip item stays far below
DynamoDB's 400 KB and shows as plain text. The text limits are the ones a creator's own
edits have (truss.services.clips), so a model's clip can always be edited and saved again.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable

TITLE_CHARS = 200
HOOK_CHARS = 300
REASON_CHARS = 500
TRANSCRIPT_CHARS = 5000  # "what is said during the clip": at most ~90 s of speech
CHAPTER_TITLE_CHARS = 200
CHAPTER_SUMMARY_CHARS = 1000
SUMMARY_CHARS = 2000
MAX_CHAPTERS = 300
MAX_HASHTAGS = 8
HASHTAG_CHARS = 50
ELLIPSIS = "\u2026"
# control and invisible formatting characters (bidi overrides, zero-width...), except line
# breaks and tabs, which multi-line fields keep
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
_BLANK_LINES = re.compile(r"\n{3,}")
_NOT_WORD = re.compile(r"\W+")


def clean_line(value: object, limit: int) -> str:
    """One line of plain text: no control characters, single spaces, at most `limit`."""
    text = _visible(value, limit, keep="")
    return _shorten(" ".join(text.split()), limit)


def clean_block(value: object, limit: int) -> str:
    """Multi-line plain text (a transcript): lines kept, no control characters, capped."""
    text = _visible(value, limit, keep="\n")
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _shorten(_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip(), limit)


def clean_hashtags(tags: Iterable[object]) -> tuple[str, ...]:
    """'#Big Launch!', 'ai' → ('#BigLaunch', '#ai'): letters, digits and _ only, no repeats
    (ignoring case), at most MAX_HASHTAGS of at most HASHTAG_CHARS."""
    cleaned: dict[str, str] = {}
    for tag in tags:
        word = _NOT_WORD.sub("", _visible(tag, HASHTAG_CHARS * 4, keep=""))[:HASHTAG_CHARS]
        if word:
            cleaned.setdefault(word.casefold(), f"#{word}")
        if len(cleaned) == MAX_HASHTAGS:
            break
    return tuple(cleaned.values())


def clean_score(value: float) -> int:
    """A 0-100 integer score (not-a-number is 0)."""
    return 0 if math.isnan(value) else round(min(100.0, max(0.0, value)))


def _visible(value: object, limit: int, keep: str) -> str:
    """str(value) without invisible characters; line breaks and tabs not in `keep` become
    spaces. Only the first 4 x limit characters are looked at (a 5 MB title costs nothing)."""
    text = str(value)[: limit * 4 + 16].replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in keep:
            kept.append(ch)
        elif ch in "\t\n":
            kept.append(" ")
        elif unicodedata.category(ch) not in _INVISIBLE:
            kept.append(ch)
    return "".join(kept)


def _shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS
