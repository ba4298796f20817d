"""A word-timed transcript: what every source produces and every consumer reads.

Times are seconds in the *source video* (so a trimmed clip still finds its words); the
render, the exports and the page shift them to the clip's own timeline."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

GEMINI = "gemini"
OFFLINE = "offline"  # the bundled offline recogniser: rough
UPLOAD = "upload"  # a subtitle file the creator uploaded
SOURCE_LABELS = {
    GEMINI: "from Gemini",
    OFFLINE: "rough: recognised offline",
    UPLOAD: "from your subtitle file",
}
MAX_WORDS = 5000  # a 10-minute clip spoken fast; bounds the stored JSON and the page


class TranscriptError(ValueError):
    """A transcript that can't be used; the message says what to do."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    source: str
    words: tuple[Word, ...] = ()
    corrected: bool = False  # the creator changed words on the clip page
    span: tuple[float, float] | None = None  # the part of the source a recogniser heard

    @property
    def rough(self) -> bool:
        """Recognised offline and not yet checked by the creator."""
        return self.source == OFFLINE and not self.corrected

    @property
    def label(self) -> str:
        label = SOURCE_LABELS.get(self.source, self.source)
        return label + (", corrected by you" if self.corrected else "")

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    def covers(self, start: float, end: float) -> bool:
        """Whether the recogniser heard all of [start, end) (an upload or a correction
        counts as covering every window: the creator chose those words)."""
        if self.span is None or self.corrected:
            return True
        return self.span[0] <= start + 0.05 and self.span[1] >= end - 0.05

    def within(self, start: float, end: float) -> tuple[Word, ...]:
        """The words spoken (mostly) inside the window [start, end)."""
        return tuple(w for w in self.words if start <= (w.start + w.end) / 2 < end)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "source": self.source,
            "corrected": self.corrected,
            "span": list(self.span) if self.span else None,
            "words": [[round(w.start, 3), round(w.end, 3), w.text] for w in self.words],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        words = tuple(Word(float(s), float(e), str(t)) for s, e, t in data.get("words", []))
        span = data.get("span")
        heard = (float(span[0]), float(span[1])) if span else None
        return cls(str(data["source"]), words, bool(data.get("corrected", False)), heard)


def make(
    source: str, words: list[Word] | tuple[Word, ...], span: tuple[float, float] | None = None
) -> Transcript:
    """A transcript of clean words: whitespace-free, non-empty, in time order, end >= start."""
    cleaned: list[Word] = []
    for word in sorted(words, key=lambda w: (w.start, w.end)):
        for part in word.text.split():
            cleaned.append(Word(max(0.0, word.start), max(word.start, word.end), part))
    if len(cleaned) > MAX_WORDS:
        raise TranscriptError(
            f"This transcript has {len(cleaned)} words; a clip's can have at most {MAX_WORDS}."
        )
    return Transcript(source, tuple(cleaned), span=span)


def spread(text: str, start: float, end: float) -> list[Word]:
    """The words of `text` spread over [start, end] in proportion to their length (a cue of
    a subtitle file, or corrected words where the recogniser heard something else)."""
    parts = text.split()
    if not parts:
        return []
    total = sum(len(p) + 1 for p in parts)
    words, at = [], start
    for part in parts:
        length = (end - start) * (len(part) + 1) / total
        words.append(Word(round(at, 3), round(at + length, 3), part))
        at += length
    return words


def correct(transcript: Transcript, text: str, start: float, end: float) -> Transcript:
    """The transcript with the window's words replaced by `text`, keeping the timings: words
    matched one to one keep their own times; where the creator typed more or fewer words,
    the new words share the time of the ones they replace."""
    old = transcript.within(start, end)
    new = text.split()
    if not new:
        raise TranscriptError("The transcript can't be empty. Type the words that are said.")
    if not old:
        raise TranscriptError("This clip has no timed words to correct yet.")
    matcher = difflib.SequenceMatcher(a=[w.text for w in old], b=new, autojunk=False)
    fixed: list[Word] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        replaced = old[a0:a1]
        if op in ("equal", "replace") and a1 - a0 == b1 - b0:
            fixed += [Word(w.start, w.end, t) for w, t in zip(replaced, new[b0:b1], strict=True)]
        elif replaced:  # replace with a different count, or delete
            fixed += spread(" ".join(new[b0:b1]), replaced[0].start, replaced[-1].end)
        else:  # insert: squeeze between the neighbours
            left = fixed[-1].end if fixed else old[0].start
            right = old[a0].start if a0 < len(old) else old[-1].end
            fixed += spread(" ".join(new[b0:b1]), left, max(left, right))
    outside = [w for w in transcript.words if w not in old]
    result = make(transcript.source, [*outside, *fixed])
    return Transcript(result.source, result.words, corrected=True, span=transcript.span)
