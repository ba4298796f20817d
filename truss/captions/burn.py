"""The render's caption overlay: an ffmpeg filter fragment that burns a clip's transcript in.

`truss.services.pipeline` appends it to the picture's filter chain once the picture is
`width` x `height` (the final 9:16 size). Given the table and the source video, a clip with
no transcript yet gets one first (the offline recogniser on the clip's window, labelled
rough), so the clip page and the search have words even when no captions are burned in; a
re-render reuses the stored transcript and the creator's corrections."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from flask import current_app, has_app_context

from truss import ffmpeg
from truss.analysis.base import AnalysisError
from truss.captions import ass, exports, fonts, offline, store, styles
from truss.captions.model import Transcript, Word
from truss.data.clips import Clip
from truss.data.table import Conflict, NotFound, Table
from truss.storage import Storage

log = logging.getLogger(__name__)
SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")  # nothing the filtergraph would read as syntax


def caption_overlay(
    clip: Clip, style: str, workdir: Path, width: int, height: int, storage: Storage,
    table: Table | None = None, source: ffmpeg.Source | None = None,
) -> str | None:  # fmt: skip
    """An `ass=` filter fragment for the clip's transcript in `style` (the .ass file is
    written into `workdir`), or None for style "none" or a clip without words."""
    transcript = ensure_transcript(clip, storage, table, source)
    if style not in styles.CAPTION_STYLES or style == styles.NONE or transcript is None:
        return None
    words = exports.on_clip(transcript.within(clip.start, clip.end), clip.start)
    if not words:
        return None
    return write_overlay(words, style, workdir, width, height)


def write_overlay(words: list[Word], style: str, workdir: Path, width: int, height: int) -> str:
    """Write the .ass file and the fonts folder; the `ass` filter that draws them."""
    path = workdir / "captions.ass"
    path.write_text(ass.document(words, style, width, height), encoding="utf-8")
    folder = fonts.fonts_dir(workdir)
    for part in (str(path), str(folder)):
        if not SAFE_PATH.fullmatch(part):
            raise ValueError(f"render folder {part!r} has characters ffmpeg filters can't take")
    return f"ass=filename={path}:fontsdir={folder}"


def recogniser_on() -> bool:
    """Whether renders may transcribe (TRUSS_CAPTIONS_RECOGNISER; on outside an app)."""
    return not has_app_context() or current_app.config.get("CAPTIONS_RECOGNISER") != "off"


def ensure_transcript(
    clip: Clip, storage: Storage, table: Table | None, source: ffmpeg.Source | None
) -> Transcript | None:
    """The stored transcript; without one, or when the clip was trimmed past what the
    recogniser heard (and given the table and the source video), the offline recogniser's,
    stored for next time. A recogniser failure keeps what there was (maybe nothing) rather
    than failing the render."""
    found = store.load(storage, clip)
    if found is not None and found.covers(clip.start, clip.end):
        return found
    if source is None or table is None or not recogniser_on():
        return found
    try:
        transcript = offline.transcribe(source, clip.start, clip.end)
    except (AnalysisError, OSError) as exc:
        log.warning("clip %s: offline transcription failed: %s", clip.id, exc)
        return found
    if not transcript.words:
        return found
    try:
        store.save(table, storage, clip, transcript)
    except (Conflict, NotFound):
        return found
    return transcript
