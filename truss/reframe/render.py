"""What the render and the clip page's preview call: the picture filter of a clip's layout.

Portrait and square sources skip the analysis: they keep the fit-and-pad picture whatever
the layout. `centre` and `fit` need no analysis either; `follow`, `split` and `auto` run the
analysis pass over the clip's window first."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from truss.analysis.base import StreamInfo
from truss.ffmpeg import MediaError, Source, input_args
from truss.media import run_ffmpeg
from truss.reframe import layouts
from truss.reframe.detect import FaceDetector
from truss.reframe.filters import picture_filter
from truss.reframe.plan import Plan, analyse, plan

log = logging.getLogger(__name__)
NEEDS_ANALYSIS = frozenset({layouts.AUTO, layouts.FOLLOW, layouts.SPLIT})
PREVIEW_LEAD_S = 2.0  # a preview analyses this much before the frame (the path settles)


@dataclass(frozen=True)
class Picture:
    filter: str  # ffmpeg filter chain: source picture → width x height
    layout: str  # the layout used (AUTO resolved; split without two speakers: follow)
    analysis_s: float  # seconds spent analysing (0: none needed)


def picture(
    layout: str, source: Source, start: float, end: float, probe: StreamInfo,
    width: int, height: int, workdir: Path, detector: FaceDetector | None = None,
    frozen_at: float | None = None,
) -> Picture:  # fmt: skip
    """The picture filter of `layout` for [start, end) of source (times in the filter are
    from `start`); files it needs go into `workdir`, the folder ffmpeg runs in."""
    if probe.width <= probe.height:
        return Picture(picture_filter(Plan(layouts.CENTRE), probe, width, height, workdir),
                       layouts.CENTRE, 0.0)  # fmt: skip
    began = time.monotonic()
    if layout in NEEDS_ANALYSIS:
        try:
            found = analyse(source, start, end - start, probe, workdir, detector)
        except (ImportError, RuntimeError) as exc:  # no face model installed: still render
            log.warning("reframe: no face detection (%s), the centre crop is used", exc)
            return picture(layouts.CENTRE, source, start, end, probe, width, height, workdir)
        chosen = plan(layout, found, width, height)
    else:
        chosen = Plan(layout if layouts.is_layout(layout) else layouts.CENTRE)
    if chosen.note:
        log.info("reframe: %s", chosen.note)
    spent = time.monotonic() - began
    text = picture_filter(chosen, probe, width, height, workdir, frozen_at)
    return Picture(text, chosen.layout, round(spent, 3) if layout in NEEDS_ANALYSIS else 0.0)


def preview_still(
    layout: str, source: Source, probe: StreamInfo, at: float, window: tuple[float, float],
    dest: Path, workdir: Path, size: tuple[int, int] = (360, 640),
    detector: FaceDetector | None = None,
) -> str:  # fmt: skip
    """A JPEG at `dest` of the clip's frame at `at` (seconds of the source) in `layout`;
    only the seconds before it are analysed. Returns the layout used."""
    start, end = window
    at = min(max(at, start), max(start, end - 0.1))
    lead_from = max(start, at - PREVIEW_LEAD_S)
    width, height = size
    chosen = picture(
        layout, source, lead_from, at + 0.5, probe, width, height, workdir, detector,
        frozen_at=at - lead_from,
    )  # fmt: skip
    args = ["-y", "-v", "error", "-ss", f"{at:.3f}", *input_args(source), "-frames:v", "1"]
    args += ["-vf", chosen.filter, "-q:v", "4", "-f", "image2", "-c:v", "mjpeg", str(dest)]
    run_ffmpeg(args, timeout=60, what="Making the preview", cwd=str(workdir))
    if not dest.is_file() or dest.stat().st_size == 0:
        raise MediaError("Making the preview failed: no picture could be read there.")
    return chosen.layout
