"""The built-in analyzer: ranks windows of a video by sound and picture signals, no model.

It does not understand content; it finds the loud, busy parts. Per 0.5 s bin (see
`truss.media.measure_signals`) the engagement curve is

    engagement = 0.50 * loud + 0.20 * cuts + 0.15 * onset + 0.15 * motion      (with audio)
    engagement = 0.60 * cuts + 0.40 * motion                                     (no audio)

    loud   = (dB - p10) / (p95 - p10) of the video's own levels, clipped to 0..1
    cuts   = hard cuts within 5 s of the bin / 3, clipped to 0..1
    onset  = rise in level over the previous 2 s / 20 dB, clipped to 0..1
    motion = (encoded bytes in the bin / the median bin - 1) / 2, clipped to 0..1

Moments are picked greedily: the best window of `min_s` seconds (highest mean engagement) not
overlapping an earlier pick, grown one bin at a time towards the better neighbour while that
bin's engagement is at least 60% of the seed's mean and the window is shorter than `max_s`;
then each edge snaps to a cut, else a quiet bin, within 2 s (`snap_edges`).

    score = round(100 * (0.7 * window mean engagement + 0.3 * window peak engagement))

Scores compare moments of the same video; the scale is relative to that video's own levels.
A video shorter than `min_s` yields one moment spanning the whole video (it is already a
short clip). After the first pick, a window scoring under MIN_SCORE ends the search (nothing
left stands out). Chapters start at cuts (else quiet moments) at least max(30 s, duration / 10)
apart, so there are at most ~10.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

from truss import media
from truss.analysis.base import AnalysisResult, Chapter, ClipLengths, Moment, StreamInfo, Usage
from truss.media import Signals

SNAP_S = 2.0
GROW_RATIO = 0.6
CHAPTER_MIN_S = 30.0
MAX_CHAPTERS = 10
MIN_SCORE = 5  # after the first moment, windows scoring lower are not worth a clip


def clock(seconds: float) -> str:
    """1:23 or 1:02:03."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _clip01(value: float) -> float:
    return max(0.0, min(1.0, value))


def engagement(signals: Signals) -> list[float]:
    """The per-bin engagement curve (formula in the module docstring)."""
    n, step = len(signals.loudness_db), signals.bin_s
    cut_near = [
        _count_between(signals.cuts, (i + 0.5) * step - 5, (i + 0.5) * step + 5) for i in range(n)
    ]
    cuts = [_clip01(c / 3) for c in cut_near]
    motion = [_clip01((v - 1) / 2) for v in signals.visual_change]
    if not signals.has_audio:
        return [0.6 * c + 0.4 * m for c, m in zip(cuts, motion, strict=True)]
    levels = signals.loudness_db
    ranked = sorted(levels)
    low, high = ranked[int(0.1 * (n - 1))], ranked[int(0.95 * (n - 1))]
    loud = [_clip01((db - low) / (high - low)) if high > low else 0.0 for db in levels]
    back = max(1, round(2 / step))
    onset = [_clip01((levels[i] - levels[max(0, i - back)]) / 20) for i in range(n)]
    parts = zip(loud, cuts, onset, motion, strict=True)
    return [0.5 * lo + 0.2 * c + 0.15 * on + 0.15 * m for lo, c, on, m in parts]


def _count_between(times: Sequence[float], lo: float, hi: float) -> int:
    return bisect_right(times, hi) - bisect_left(times, lo)


def _nearest(times: Sequence[float], t: float, within: float) -> float | None:
    """The time in sorted times closest to t, if within `within` seconds."""
    i = bisect_left(times, t)
    near = [x for x in times[max(0, i - 1) : i + 1] if abs(x - t) <= within]
    return min(near, key=lambda x: abs(x - t)) if near else None


def _snap(t: float, signals: Signals, within: float) -> float:
    """t moved to the nearest cut, else the nearest quiet bin, within `within` seconds."""
    cut = _nearest(signals.cuts, t, within)
    if cut is not None:
        return cut
    quiet = _nearest(signals.quiet, t, within)
    return t if quiet is None else quiet


def snap_edges(
    start: float,
    end: float,
    signals: Signals,
    within: float = SNAP_S,
    lengths: ClipLengths | None = None,
) -> tuple[float, float]:
    """Move a clip's edges onto nearby cuts or quiet moments; an edge that would break the
    length range (or the video's bounds) stays where it was."""
    lo_len = lengths.min_s if lengths else 1.0
    hi_len = lengths.max_s if lengths else float("inf")
    new_start = min(max(0.0, _snap(start, signals, within)), signals.duration)
    if not lo_len <= end - new_start <= hi_len:
        new_start = start
    new_end = min(max(0.0, _snap(end, signals, within)), signals.duration)
    if not lo_len <= new_end - new_start <= hi_len:
        new_end = end
    return round(new_start, 3), round(new_end, 3)


class SignalAnalyzer:
    """Chapters and moments from loudness, cuts and motion (no model, no cost)."""

    name = "signals"

    def analyze(
        self, video: Path, probe: StreamInfo, lengths: ClipLengths, max_moments: int = 8
    ) -> AnalysisResult:
        signals = media.measure_signals(video, probe)
        return AnalysisResult(
            chapters=chapters(signals),
            moments=pick_moments(signals, lengths, max_moments),
            usage=Usage(media_seconds=probe.duration),
            summary=_summary(signals),
            analyzer=self.name,
        )


def _summary(signals: Signals) -> str:
    sound = "with sound" if signals.has_audio else "without sound"
    return (
        f"{clock(signals.duration)} of video {sound}, {len(signals.cuts)} hard cuts; "
        "moments ranked by loudness, cuts and motion (no content understanding)."
    )


def pick_moments(signals: Signals, lengths: ClipLengths, max_moments: int) -> list[Moment]:
    """Non-overlapping top windows of the engagement curve, best first."""
    curve = engagement(signals)
    step = signals.bin_s
    if signals.duration < lengths.min_s:
        return [_moment(0.0, signals.duration, signals, curve)] if max_moments > 0 else []
    seed_bins = max(1, round(lengths.min_s / step))
    max_bins = max(seed_bins, int(lengths.max_s / step))
    taken = [False] * len(curve)
    moments: list[Moment] = []
    while len(moments) < max_moments:
        seed = _best_seed(curve, taken, seed_bins)
        if seed is None:
            break
        lo, hi = _grow(curve, taken, seed, seed + seed_bins, max_bins)
        start, end = _fit(lo * step, min(hi * step, signals.duration), signals, lengths, moments)
        first = min(lo, signals.bin_at(start))
        for i in range(first, max(hi, signals.bin_at(end) + 1)):
            taken[i] = True
        moment = _moment(start, end, signals, curve)
        if moments and moment.score < MIN_SCORE:
            break
        moments.append(moment)
    return sorted(moments, key=lambda m: -m.score)


def _best_seed(curve: list[float], taken: list[bool], size: int) -> int | None:
    """Start bin of the free window of `size` bins with the highest engagement sum."""
    best, best_sum = None, -1.0
    window = sum(curve[:size])
    blocked = sum(taken[:size])
    for i in range(len(curve) - size + 1):
        if i:
            window += curve[i + size - 1] - curve[i - 1]
            blocked += taken[i + size - 1] - taken[i - 1]
        if not blocked and window > best_sum + 1e-9:
            best, best_sum = i, window
    return best


def _grow(
    curve: list[float], taken: list[bool], lo: int, hi: int, max_bins: int
) -> tuple[int, int]:
    """Extend [lo, hi) towards the better free neighbour while it stays engaging."""
    floor = GROW_RATIO * statistics.fmean(curve[lo:hi])
    while hi - lo < max_bins:
        left = curve[lo - 1] if lo > 0 and not taken[lo - 1] else -1.0
        right = curve[hi] if hi < len(curve) and not taken[hi] else -1.0
        if max(left, right) < floor:
            break
        lo, hi = (lo - 1, hi) if left > right else (lo, hi + 1)
    return lo, hi


def _fit(
    start: float, end: float, signals: Signals, lengths: ClipLengths, others: list[Moment]
) -> tuple[float, float]:
    """Snap edges, then keep clear of the moments already picked."""
    new_start, new_end = snap_edges(start, end, signals, lengths=lengths)
    for other in others:
        if new_start < other.end and other.start < new_end:
            return start, end
    return new_start, new_end


def _moment(start: float, end: float, signals: Signals, curve: list[float]) -> Moment:
    lo, hi = signals.bin_at(start), max(signals.bin_at(start) + 1, signals.bin_at(end))
    window = curve[lo:hi]
    score = round(100 * (0.7 * statistics.fmean(window) + 0.3 * max(window)))
    return Moment(
        start=start,
        end=end,
        title=f"Moment at {clock(start)}",
        hook=_hook(start, end, signals),
        score=max(0, min(100, score)),
        reason=_reason(start, end, signals),
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _hook(start: float, end: float, signals: Signals) -> str:
    """The most striking signal inside the window, in a few words."""
    lo, hi = signals.bin_at(start), max(signals.bin_at(start) + 1, signals.bin_at(end))
    cuts = _count_between(signals.cuts, start, end)
    if signals.has_audio:
        peak = max(range(lo, hi), key=lambda i: signals.loudness_db[i])
        rise = signals.loudness_db[peak] - statistics.median(signals.loudness_db)
        if rise >= 6:
            return (
                f"Sound jumps {rise:.0f} dB above the usual level at {clock(peak * signals.bin_s)}"
            )
    if cuts:
        return f"{_plural(cuts, 'scene change')} in {end - start:.0f} s"
    return f"A steady {end - start:.0f} s stretch from {clock(start)}"


def _reason(start: float, end: float, signals: Signals) -> str:
    """Plain words on why the signals ranked this window (not what it is about)."""
    lo, hi = signals.bin_at(start), max(signals.bin_at(start) + 1, signals.bin_at(end))
    parts = []
    if signals.has_audio:
        usual = statistics.median(signals.loudness_db)
        level = statistics.fmean(signals.loudness_db[lo:hi])
        loudest = max(range(len(signals.loudness_db)), key=lambda i: signals.loudness_db[i])
        if lo <= loudest < hi:
            parts.append("has the loudest moment of the video")
        parts.append(f"{round(level - usual):+d} dB against the video's usual level")
    cuts = _count_between(signals.cuts, start, end)
    parts.append(f"{_plural(cuts, 'cut')} in {end - start:.0f} s")
    motion = statistics.fmean(signals.visual_change[lo:hi])
    if motion > 1.3:
        parts.append(f"{motion:.1f}x the usual motion")
    return "Ranked by sound and picture signals only: " + ", ".join(parts) + "."


def chapters(signals: Signals) -> list[Chapter]:
    """Chapters split at cuts (else quiet moments), each at least ~max(30 s, 1/10) long."""
    shortest = max(CHAPTER_MIN_S, signals.duration / MAX_CHAPTERS)
    bounds = [0.0]
    for t in signals.cuts or signals.quiet:
        if t - bounds[-1] >= shortest and signals.duration - t >= shortest / 2:
            bounds.append(t)
    bounds.append(signals.duration)
    return [
        Chapter(start=a, end=b, title=f"Part {n} ({clock(a)}\u2013{clock(b)})")
        for n, (a, b) in enumerate(pairwise(bounds), start=1)
    ]
