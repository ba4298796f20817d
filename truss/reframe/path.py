"""The crop path of `follow`: where the 9:16 window's centre is at each moment of a clip.

From one subject position per analysed frame (a face, else the most motion) to a path a
camera operator could have made:
- per shot (scene cuts split the clip), a median over a few samples drops one-off detections
  and gaps are filled from the nearest seen position;
- a dead zone: the window holds still while the subject stays within DEAD_ZONE of its centre,
  so a speaker swaying or a detection wobbling never moves it;
- when the subject leaves the dead zone (in two samples running) the window pans, eased in
  and out (smoothstep), to where the subject will be when the pan ends (the whole clip is
  known, so it looks ahead), at most MAX_SPEED crop widths a second;
- at a scene cut the window jumps to the new shot's subject in one frame: a hard cut, never a
  slow pan across the cut.
Positions are in source pixels; the window is `crop_w` wide and never leaves the picture.
"""

from __future__ import annotations

import itertools
import statistics
from bisect import bisect_right
from dataclasses import dataclass

DEAD_ZONE = 0.12  # of the crop width, either side of the window's centre
MAX_SPEED = 1.2  # crop widths a second, the fastest pan
MIN_PAN_S = 0.6  # the shortest pan (a shorter one looks like a jerk)
LEAD_S = 0.25  # a pan starts this much before the subject is seen out of the dead zone
MEDIAN_SAMPLES = 5


@dataclass(frozen=True)
class Piece:
    """The window's centre goes from c0 to c1 over [t0, t1), eased; c0 == c1 holds still."""

    t0: float
    t1: float
    c0: float
    c1: float

    def at(self, t: float) -> float:
        if self.t1 <= self.t0 or self.c0 == self.c1:
            return self.c1
        u = min(1.0, max(0.0, (t - self.t0) / (self.t1 - self.t0)))
        return self.c0 + (self.c1 - self.c0) * u * u * (3 - 2 * u)  # smoothstep


@dataclass(frozen=True)
class CropPath:
    pieces: tuple[Piece, ...]  # in time order, covering the clip; a cut starts a new piece
    crop_w: int
    source_w: int

    def centre_at(self, t: float) -> float:
        starts = [piece.t0 for piece in self.pieces]
        return self.pieces[max(0, bisect_right(starts, t) - 1)].at(t)

    def left_at(self, t: float) -> int:
        """The window's left edge at t, an even pixel inside the picture."""
        left = round((self.centre_at(t) - self.crop_w / 2) / 2) * 2
        return max(0, min(self.source_w - self.crop_w, left))


def still(centre: float, duration: float, crop_w: int, source_w: int) -> CropPath:
    return CropPath((Piece(0.0, duration, centre, centre),), crop_w, source_w)


def follow(
    targets: list[float | None], times: list[float], cuts: list[float], duration: float,
    crop_w: int, source_w: int,
) -> CropPath:  # fmt: skip
    """The path following `targets` (subject centre per sample time, None: not seen)."""
    low, high = crop_w / 2, source_w - crop_w / 2
    bounds = [0.0, *(c for c in sorted(cuts) if 0 < c < duration), duration]
    pieces: list[Piece] = []
    for shot_start, shot_end in itertools.pairwise(bounds):
        idx = [i for i, t in enumerate(times) if shot_start <= t < shot_end]
        seen = _filled([targets[i] for i in idx], default=source_w / 2)
        xs = [min(high, max(low, x)) for x in _median(seen)]
        shot_times = [times[i] for i in idx]
        pieces += _camera(shot_times, xs, shot_start, shot_end, crop_w, source_w / 2)
    return CropPath(tuple(pieces), crop_w, source_w)


def _filled(values: list[float | None], default: float) -> list[float]:
    """Gaps take the nearest seen value (earlier first); all unseen: `default`."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return [default] * len(values)
    out = []
    for i, value in enumerate(values):
        if value is None:
            value = min(known, key=lambda k: (abs(k[0] - i), k[0] > i))[1]
        out.append(value)
    return out


def _median(values: list[float], size: int = MEDIAN_SAMPLES) -> list[float]:
    half = size // 2
    return [statistics.median(values[max(0, i - half) : i + half + 1]) for i in range(len(values))]


def _interpolate(times: list[float], xs: list[float], t: float) -> float:
    i = bisect_right(times, t)
    if i == 0:
        return xs[0]
    if i >= len(times):
        return xs[-1]
    t0, t1 = times[i - 1], times[i]
    return xs[i - 1] + (xs[i] - xs[i - 1]) * (t - t0) / (t1 - t0)


def _camera(
    times: list[float], xs: list[float], start: float, end: float, crop_w: int, middle: float
) -> list[Piece]:
    """Holds and eased pans over one shot."""
    if not xs:
        return [Piece(start, end, middle, middle)]
    dead = DEAD_ZONE * crop_w
    centre, held_from, pieces, i = xs[0], start, [], 0
    while i < len(xs):
        outside = abs(xs[i] - centre) > dead
        stays_out = i + 1 >= len(xs) or abs(xs[i + 1] - centre) > dead
        if not (outside and stays_out):
            i += 1
            continue
        pan_from = max(held_from, times[i] - LEAD_S)
        goal = xs[i]
        for _ in range(3):  # aim where the subject will be when the pan ends
            length = max(MIN_PAN_S, abs(goal - centre) / (MAX_SPEED * crop_w))
            pan_to = min(end, pan_from + length)
            goal = _interpolate(times, xs, pan_to)
        if pan_from > held_from:
            pieces.append(Piece(held_from, pan_from, centre, centre))
        pieces.append(Piece(pan_from, pan_to, centre, goal))
        centre, held_from = goal, pan_to
        while i < len(xs) and times[i] < pan_to:
            i += 1
    if held_from < end:
        pieces.append(Piece(held_from, end, centre, centre))
    return pieces


def jitter(positions: list[float]) -> float:
    """The back-and-forth of a path sampled per frame: the sum of every move that goes
    against the direction of the move before it (a steady pan or a hold adds nothing; a
    camera that wobbles adds each wobble). In the positions' unit."""
    total, last_direction = 0.0, 0
    for a, b in itertools.pairwise(positions):
        step = b - a
        if abs(step) < 1e-9:
            continue
        direction = 1 if step > 0 else -1
        if last_direction and direction != last_direction:
            total += abs(step)
        last_direction = direction
    return total
