"""A clip's reframing plan: what the analysis pass found and the layout it resolves to.

`analyse()` looks at the clip's window (truss.reframe.sample) with a FaceDetector; `plan()`
turns that into a `Plan` for one layout: the `follow` crop path, the `split` speakers. AUTO
resolves here, per clip: `follow` when faces are seen in at least FACE_SHARE of the analysed
frames, `fit` otherwise (slides, screen recordings, wide shots keep the whole picture)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from truss.analysis.base import StreamInfo
from truss.ffmpeg import Source
from truss.reframe import layouts, path
from truss.reframe.detect import Box, FaceDetector, HaarFaceDetector
from truss.reframe.sample import Samples, cut_times, sample

FACE_SHARE = 0.3  # AUTO follows when faces are in at least this share of analysed frames
MOTION_LEVEL = 20  # a pixel change (0-255) that counts as motion, above sensor noise
MIN_MOTION = 0.01  # share of changed pixels below which a frame has no motion to follow
SPEAKER_GAP = 0.2  # two speakers' centres are at least this share of the width apart
SPEAKER_SHARE = 0.15  # each speaker is in at least this share of the face detections


@dataclass(frozen=True)
class Analysis:
    """Faces (source pixels) per analysed frame, cuts, and where motion is when no face."""

    times: list[float]
    faces: list[list[Box]]
    motion: list[float | None]  # centre x of the most motion per frame, source pixels
    cuts: list[float]
    source_w: int
    source_h: int
    duration: float

    @property
    def face_share(self) -> float:
        return sum(1 for found in self.faces if found) / max(1, len(self.faces))


@dataclass(frozen=True)
class Plan:
    layout: str  # never AUTO
    crop_w: int = 0  # follow: the 9:16 window's width in source pixels
    path: path.CropPath | None = None  # follow
    speakers: tuple[Box, ...] = field(default_factory=tuple)  # split: top, bottom
    note: str = ""  # why the plan differs from what was asked, for the log


def crop_width(source_w: int, source_h: int, width: int, height: int) -> int:
    """The width of a full-height window with the output's aspect ratio, even."""
    return min(source_w, int(source_h * width / height / 2) * 2)


def analyse(
    source: Source, start: float, duration: float, probe: StreamInfo, tmp: Path,
    detector: FaceDetector | None = None,
) -> Analysis:  # fmt: skip
    seen = sample(source, start, duration, probe, tmp)
    return analysis_of(seen, detector or HaarFaceDetector(), duration)


def analysis_of(seen: Samples, detector: FaceDetector, duration: float) -> Analysis:
    faces = [[_to_source(box, seen.scale) for box in detector.faces(f)] for f in seen.frames]
    crop = crop_width(seen.source_w, seen.source_h, 9, 16) / seen.scale
    motion = [
        None,
        *(_motion_centre(a, b, crop) for a, b in zip(seen.frames, seen.frames[1:], strict=False)),
    ]
    return Analysis(
        times=seen.times,
        faces=faces,
        motion=[None if m is None else m * seen.scale for m in motion],
        cuts=cut_times(seen.thumbs),
        source_w=seen.source_w,
        source_h=seen.source_h,
        duration=duration,
    )


def _to_source(box: Box, scale: float) -> Box:
    return Box(box.x * scale, box.y * scale, box.w * scale, box.h * scale)


def _motion_centre(before: np.ndarray, after: np.ndarray, window: float) -> float | None:
    """The centre of the changed pixels inside the crop-wide band of columns holding the
    most of them (two things moving apart: the busier one, not the middle between)."""
    changed = np.abs(after.astype(np.int16) - before.astype(np.int16)) > MOTION_LEVEL
    if changed.mean() < MIN_MOTION:
        return None
    columns = changed.sum(axis=0).astype(np.float64)
    width = max(1, min(len(columns), int(window)))
    sums = np.convolve(columns, np.ones(width), mode="valid")
    start = int(np.argmax(sums))
    band = columns[start : start + width]
    return float(start + (band * np.arange(len(band))).sum() / band.sum() + 0.5)


def resolve(layout: str, analysis: Analysis) -> str:
    if layout != layouts.AUTO:
        return layout
    return layouts.FOLLOW if analysis.face_share >= FACE_SHARE else layouts.FIT


def plan(layout: str, analysis: Analysis, width: int, height: int) -> Plan:
    """The plan for `layout` (AUTO resolved); split without two speakers follows instead."""
    chosen = resolve(layout, analysis)
    if chosen == layouts.SPLIT:
        speakers = two_speakers(analysis)
        if speakers:
            return Plan(layouts.SPLIT, speakers=speakers)
        chosen, note = layouts.FOLLOW, "split asked but fewer than two speakers seen"
    else:
        note = ""
    if chosen != layouts.FOLLOW:
        return Plan(chosen, note=note)
    crop = crop_width(analysis.source_w, analysis.source_h, width, height)
    targets = subject_track(analysis, crop)
    route = path.follow(
        targets, analysis.times, analysis.cuts, analysis.duration, crop, analysis.source_w
    )
    return Plan(layouts.FOLLOW, crop_w=crop, path=route, note=note)


def subject_track(analysis: Analysis, crop_w: int) -> list[float | None]:
    """The main subject's centre per frame: the biggest face, favouring the one near the
    subject of the frame before; in a shot with no face at all, the most motion."""
    shots = [0.0, *analysis.cuts, analysis.duration + 1]
    track: list[float | None] = []
    previous: float | None = None
    for i, t in enumerate(analysis.times):
        shot = next(k for k in range(len(shots) - 1) if shots[k] <= t < shots[k + 1])
        if i and t >= shots[shot] and analysis.times[i - 1] < shots[shot]:
            previous = None  # a new shot: no continuity across the cut
        found = analysis.faces[i]
        if found:
            best = max(found, key=lambda box: _subject_score(box, previous, crop_w))
            previous = best.cx
            track.append(best.cx)
        else:
            track.append(None)
    return _motion_where_faceless(analysis, track, shots)


def _subject_score(box: Box, previous: float | None, crop_w: int) -> float:
    if previous is None:
        return box.area
    return box.area / (1.0 + abs(box.cx - previous) / crop_w)


def _motion_where_faceless(
    analysis: Analysis, track: list[float | None], shots: list[float]
) -> list[float | None]:
    """A shot in which no face was seen follows its motion instead."""
    out = list(track)
    for a, b in itertools.pairwise(shots):
        idx = [i for i, t in enumerate(analysis.times) if a <= t < b]
        if idx and all(track[i] is None for i in idx):
            for i in idx:
                out[i] = analysis.motion[i]
    return out


def two_speakers(analysis: Analysis) -> tuple[Box, Box] | None:
    """The two people to stack (left one on top): two groups of face centres far enough
    apart, each seen often enough; their median boxes."""
    boxes = [box for found in analysis.faces for box in found]
    if len(boxes) < 2:
        return None
    xs = sorted(box.cx for box in boxes)
    gaps = [(b - a, i) for i, (a, b) in enumerate(itertools.pairwise(xs))]
    gap, at = max(gaps)
    split_x = (xs[at] + xs[at + 1]) / 2
    left = [box for box in boxes if box.cx < split_x]
    right = [box for box in boxes if box.cx >= split_x]
    enough = SPEAKER_SHARE * len(boxes)
    if gap < SPEAKER_GAP * analysis.source_w or len(left) < enough or len(right) < enough:
        return None
    return _median_box(left), _median_box(right)


def _median_box(boxes: list[Box]) -> Box:
    def med(values: list[float]) -> float:
        return float(np.median(values))

    return Box(
        med([b.x for b in boxes]), med([b.y for b in boxes]),
        med([b.w for b in boxes]), med([b.h for b in boxes]),
    )  # fmt: skip
