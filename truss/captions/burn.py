"""The render's caption overlay: an ffmpeg filter fragment that burns a clip's transcript in.

`truss.services.pipeline` appends it to the picture's filter chain once the picture is
`width` x `height` (the final 9:16 size)."""

from __future__ import annotations

from pathlib import Path

from truss.captions import styles
from truss.data.clips import Clip
from truss.storage import Storage


def caption_overlay(
    clip: Clip, style: str, workdir: Path, width: int, height: int, storage: Storage
) -> str | None:
    """An `ass=` filter fragment for the clip's transcript in `style` (the .ass file is
    written into `workdir`), or None for style "none" or a clip without a transcript."""
    if style == styles.NONE:
        return None
    return None  # filled in by the captions work (transcript read from storage)
