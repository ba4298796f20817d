"""Fonts for burned-in captions, passed to libass explicitly (its `fontsdir`).

DejaVu Sans Bold (fonts-dejavu-core) draws Latin, Greek, Cyrillic, Arabic and Hebrew;
WenQuanYi Zen Hei (fonts-wqy-zenhei) draws Chinese, Japanese and Korean. Both are Debian
packages (`.ci/run` installs them; production images need them too). When one is missing
the render still works, and `missing_scripts` names the scripts it can't draw."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

from truss import config

BASE = "DejaVu Sans"
CJK_FONT = "WenQuanYi Zen Hei"
LATIN, RTL, CJK = "latin", "rtl", "cjk"
SCRIPT_NAMES = {LATIN: "Latin", RTL: "Arabic and Hebrew", CJK: "Chinese, Japanese and Korean"}
FONT_DIRS = config.font_dirs()
FONT_FILES = {  # the font of each script group: its family name and its file
    LATIN: (BASE, "DejaVuSans-Bold.ttf"),
    RTL: (BASE, "DejaVuSans-Bold.ttf"),
    CJK: (CJK_FONT, "wqy-zenhei.ttc"),
}


def script_of(ch: str) -> str:
    code = ord(ch)
    if 0x0590 <= code <= 0x08FF or 0xFB1D <= code <= 0xFEFF:
        return RTL
    if (
        0x1100 <= code <= 0x11FF
        or 0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x3FFFF
    ):
        return CJK
    return LATIN


def is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def font_for(script: str) -> str:
    return FONT_FILES[script][0]


def runs(text: str) -> Iterator[tuple[str, str]]:
    """(font family, text) runs: consecutive characters drawn with the same font."""
    current_font, current = BASE, ""
    for ch in text:
        font = font_for(script_of(ch)) if not ch.isspace() else current_font
        if font != current_font and current:
            yield current_font, current
            current = ""
        current_font = font
        current += ch
    if current:
        yield current_font, current


def find(name: str) -> Path | None:
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob(name)) if folder.is_dir() else []:
            return path
    return None


def scripts_in(text: str) -> set[str]:
    return {script_of(ch) for ch in text if not ch.isspace()}


def missing_scripts(text: str) -> list[str]:
    """Names of the scripts in `text` that no installed caption font can draw."""
    return sorted(SCRIPT_NAMES[s] for s in scripts_in(text) if find(FONT_FILES[s][1]) is None)


def fonts_dir(workdir: Path) -> Path:
    """A folder of links to the caption fonts that are installed, for libass's fontsdir."""
    folder = workdir / "fonts"
    folder.mkdir(exist_ok=True)
    for _family, name in set(FONT_FILES.values()):
        found = find(name)
        if found is not None and not (folder / name).exists():
            (folder / name).symlink_to(found)
    return folder
