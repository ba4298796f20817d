"""ASS subtitles for libass: the word-by-word highlight and plain two-line styles.

Placement keeps clear of the short-video apps' own UI: the bottom ~20 % (caption, music,
buttons' labels) and the right ~15 % (like, comment, share buttons) are covered on TikTok,
Shorts and Reels, so text sits above the bottom quarter and leaves the right side free.
Any text is safe: override braces, backslashes and line breaks are escaped, so `{\\b1}`
shows as typed. Each run of Arabic/Hebrew or CJK text gets a font that has its glyphs
(truss.captions.fonts); libass shapes and orders right-to-left text (FriBidi, HarfBuzz)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from truss.captions import fonts, styles
from truss.captions.model import Word

HIGHLIGHT = "&H0000E5FF&"  # ASS colours are &HBBGGRR: a warm yellow
BOTTOM_CLEAR = 0.24  # share of the height kept free at the bottom
RIGHT_CLEAR = 0.16  # share of the width kept free at the right
LEFT_MARGIN = 0.06
GAP_HOLD_S = 0.6  # a line stays up this long past its last word when nobody speaks next


@dataclass(frozen=True)
class Layout:
    width: int
    height: int

    @property
    def font_size(self) -> int:
        return max(12, round(self.height * 0.042))

    @property
    def chars_per_line(self) -> int:
        """How many average characters fit between the margins (bold sans ~0.55 em wide)."""
        usable = self.width * (1 - RIGHT_CLEAR - LEFT_MARGIN)
        return max(8, int(usable / (self.font_size * 0.58)))


def escape(text: str) -> str:
    """Text shown as typed: a backslash can't start an escape (a word joiner follows it),
    braces can't open an override block, line breaks become spaces."""
    text = re.sub(r"\s", " ", text)
    text = text.replace("\\", "\\\u2060")
    return text.replace("{", "\\{").replace("}", "\\}")


def timestamp(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def width_of(text: str) -> int:
    """Display width in average Latin characters (CJK glyphs are about two)."""
    return sum(2 if fonts.script_of(ch) == fonts.CJK else 1 for ch in text)


def group_lines(words: list[Word], max_chars: int, max_lines: int) -> list[list[Word]]:
    """Words in screens of at most `max_lines` lines, a new screen also at a pause."""
    screens: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        text = " ".join(w.text for w in [*current, word])
        paused = bool(current) and word.start - current[-1].end > 0.8
        if current and (paused or width_of(text) > max_chars * max_lines):
            screens.append(current)
            current = []
        current.append(word)
    if current:
        screens.append(current)
    return screens


def styled(text: str) -> str:
    """Escaped text with a font switch around every run of a script DejaVu can't draw."""
    out = []
    for run_font, run in fonts.runs(text):
        run_text = escape(run)
        out.append(
            f"{{\\fn{run_font}}}{run_text}{{\\fn{fonts.BASE}}}"
            if run_font != fonts.BASE
            else run_text
        )
    return "".join(out)


def header(layout: Layout) -> str:
    margin_l = round(layout.width * LEFT_MARGIN)
    margin_r = round(layout.width * RIGHT_CLEAR)
    margin_v = round(layout.height * BOTTOM_CLEAR)
    outline = max(2, round(layout.font_size * 0.09))
    return "\n".join([
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {layout.width}",
        f"PlayResY: {layout.height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Caption,{fonts.BASE},{layout.font_size},&H00FFFFFF,&H00FFFFFF,&H00000000,"
        f"&H80000000,-1,0,0,0,100,100,0,0,1,{outline},1,2,{margin_l},{margin_r},{margin_v},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])  # fmt: skip


def dialogue(start: float, end: float, text: str) -> str:
    return f"Dialogue: 0,{timestamp(start)},{timestamp(end)},Caption,,0,0,0,,{text}"


def screen_end(screen: list[Word], next_start: float | None) -> float:
    end = screen[-1].end + GAP_HOLD_S
    return min(end, next_start) if next_start is not None else end


def events(words: list[Word], style: str, layout: Layout) -> Iterable[str]:
    """One event per screen ("lines"), or per word with that word highlighted ("words")."""
    max_lines = 2
    screens = group_lines(words, layout.chars_per_line, max_lines)
    for i, screen in enumerate(screens):
        next_start = screens[i + 1][0].start if i + 1 < len(screens) else None
        end = screen_end(screen, next_start)
        rtl = any(fonts.is_rtl(w.text) for w in screen)
        if style == styles.LINES or rtl:  # colour switches would break Arabic joining
            yield dialogue(screen[0].start, end, styled(" ".join(w.text for w in screen)))
            continue
        for j, word in enumerate(screen):
            until = screen[j + 1].start if j + 1 < len(screen) else end
            parts = [
                f"{{\\c{HIGHLIGHT}}}{styled(w.text)}{{\\c&H00FFFFFF&}}"
                if k == j
                else styled(w.text)
                for k, w in enumerate(screen)
            ]
            yield dialogue(word.start, max(until, word.start + 0.01), " ".join(parts))


def document(words: list[Word], style: str, width: int, height: int) -> str:
    """The whole .ass file for words already on the clip's timeline (0 = clip start)."""
    layout = Layout(width, height)
    return header(layout) + "\n" + "\n".join(events(words, style, layout)) + "\n"
