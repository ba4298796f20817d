"""The built-in analyzer: finds the moments a person would clip from sound and picture signals.

It does not understand content; it finds *events* (truss.analysis.events): a laughter-like or
applause-like burst, a shout, a music sting on a cut, a montage. Sound features per 0.5 s bin
come from the one coarse ffmpeg pass (truss.media.measure_signals, truss.analysis.features).
A sustained loud sound (a hum, a music bed), a single cut or a short mic bump is no event, so
it gets no clip. Each event becomes one moment:

    score = round(100 * (0.5 + 0.5 * strength))                       (50-100)
    strength: burst  = (rise over the local talk level - 6 dB + 4) / 12, clipped to 0..1
                       (x 0.9 for a shout, x 0.85 for a sting)
              montage = 0.4 + 0.06 * cuts in it, clipped to 0..1

Edges (`edges`): the clip starts at the pause before a lead-in of about LEAD_S seconds (the
line before a laugh, the play before a cheer) and ends at the first pause after the event
(within TAIL_S). A clip shorter than the configured minimum gets more lead-in (still starting
at a pause); a longer one than the maximum loses lead-in. A video with no event gets no
moments (the summary says so; the creator can still add clips). A video shorter than `min_s`
yields one moment spanning the whole video (it is already a short clip; score 50 without an
event).

Chapters start at cuts (else quiet moments) at least max(30 s, duration / 10) apart, so there
are at most ~10.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

from truss import media
from truss.analysis import events
from truss.analysis.base import AnalysisResult, Chapter, ClipLengths, Moment, StreamInfo, Usage
from truss.media import Signals

SNAP_S = 2.0
CHAPTER_MIN_S = 30.0
MAX_CHAPTERS = 10
LEAD_S = 6.0  # context before an event: the line before a laugh, the play before a cheer
TAIL_S = 4.0  # the clip ends at the first pause within this long after the event
PAUSE_S = 0.25
NO_HIGHLIGHT = (
    "no laughter, applause, shout, music sting or montage stood out, so no clips were made "
    "(you can still add your own)"
)
KIND_TITLES = {
    "laughter": "Laughter",
    "applause": "Applause",
    "shout": "A shout",
    "sting": "Music sting",
    "montage": "Montage",
    "whole": "The whole video",
}


def clock(seconds: float) -> str:
    """1:23 or 1:02:03."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


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
    """Chapters and moments from sound events and cut density (no model, no cost)."""

    name = "signals"

    def analyze(
        self, video: Path, probe: StreamInfo, lengths: ClipLengths, max_moments: int = 8
    ) -> AnalysisResult:
        signals = media.measure_signals(video, probe)
        moments = pick_moments(signals, lengths, max_moments)
        return AnalysisResult(
            chapters=chapters(signals),
            moments=moments,
            usage=Usage(media_seconds=probe.duration),
            summary=_summary(signals, moments),
            analyzer=self.name,
        )


def _summary(signals: Signals, moments: list[Moment]) -> str:
    sound = "with sound" if signals.has_audio else "without sound"
    found = (
        f"{_plural(len(moments), 'moment')} found by sound events and cut density"
        if moments
        else NO_HIGHLIGHT
    )
    return f"{clock(signals.duration)} of video {sound}, {len(signals.cuts)} hard cuts; {found}."


def pick_moments(signals: Signals, lengths: ClipLengths, max_moments: int) -> list[Moment]:
    """One moment per event (strongest first), edges at pauses, none overlapping."""
    moments: list[Moment] = []
    if max_moments <= 0:
        return moments
    found = events.find(signals)
    if signals.duration < lengths.min_s:  # already a short clip: the whole video
        whole = events.Event("whole", 0.0, signals.duration, 0.0, "short video", "all of it")
        return [_moment(found[0] if found else whole, 0.0, signals.duration, signals)]
    spots = pauses(signals)
    for event in found:
        start, end = edges(event, signals, lengths, spots)
        if any(start < m.end and m.start < end for m in moments):
            start, end = _clear_of(event, start, end, moments, lengths, signals.duration)
            if any(start < m.end and m.start < end for m in moments):
                continue  # no room for it between the clips of stronger events
        moments.append(_moment(event, start, end, signals))
        if len(moments) == max_moments:
            break
    return sorted(moments, key=lambda m: -m.score)


def _clear_of(
    event: events.Event,
    start: float,
    end: float,
    others: list[Moment],
    lengths: ClipLengths,
    duration: float,
) -> tuple[float, float]:
    """The edges moved off earlier moments next to the event, the end pushed out again to
    keep the minimum length (the caller drops it if it still overlaps)."""
    for other in others:
        if other.end <= event.start and start < other.end:
            start = other.end
        if other.start >= event.end and end > other.start:
            end = other.start
    if end - start < lengths.min_s:
        end = min(duration, start + lengths.min_s)
    return start, end


def pauses(signals: Signals) -> list[float]:
    """Mid-points of pauses: runs of >= PAUSE_S of frames 15 dB under the usual talk level."""
    sound = signals.sound
    if sound is None:
        return []
    talk = statistics.median(signals.loudness_db)
    quiet = [f <= talk - 15 for f in sound.frame_db]
    need = max(1, round(PAUSE_S / sound.frame_s))
    found, run_start = [], None
    for i, q in enumerate([*quiet, False]):
        if q and run_start is None:
            run_start = i
        elif not q and run_start is not None:
            if i - run_start >= need:
                found.append(round((run_start + i) / 2 * sound.frame_s, 3))
            run_start = None
    return found


def edges(
    event: events.Event, signals: Signals, lengths: ClipLengths, spots: list[float]
) -> tuple[float, float]:
    """The clip around an event: a lead-in from a pause (or cut) before it, the end at the
    first pause after it, the length within the configured range."""
    marks = sorted({*spots, *signals.cuts}) if signals.has_audio else list(signals.cuts)
    lead = LEAD_S if signals.has_audio else 2.0
    start = _mark_before(marks, event.start - lead, event.start - lead - 4)
    after = [t for t in marks if event.end + 0.3 <= t <= event.end + TAIL_S]
    end = after[0] if after else event.end + min(2.0, TAIL_S)
    if end - start < lengths.min_s:
        want = end - lengths.min_s
        start = _mark_before(marks, want, want - 3)
    if end - start > lengths.max_s:
        start = end - lengths.max_s
    if start < 0:
        start, end = 0.0, min(signals.duration, max(end, lengths.min_s))
    end = min(end, signals.duration)
    if end - start < lengths.min_s:
        start = max(0.0, end - lengths.min_s)
    return round(start, 3), round(end, 3)


def _mark_before(marks: list[float], at: float, earliest: float) -> float:
    """The latest mark at or before `at` and not before `earliest`, else `at` itself."""
    i = bisect_right(marks, at)
    return marks[i - 1] if i and marks[i - 1] >= earliest else at


def _moment(event: events.Event, start: float, end: float, signals: Signals) -> Moment:
    score = round(100 * (0.5 + 0.5 * event.strength))
    return Moment(
        start=start,
        end=end,
        title=f"{KIND_TITLES[event.kind]} at {clock(event.start)}",
        hook=f"{KIND_TITLES[event.kind]} at {clock(event.start)}, {_seconds(event.length)}",
        score=max(0, min(100, score)),
        reason=_reason(event, start, signals),
    )


def _seconds(length: float) -> str:
    return f"{length:.1f} s" if length < 1 else f"{length:.0f} s"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _reason(event: events.Event, start: float, signals: Signals) -> str:
    """The signals that made this clip, in plain words (not what it is about)."""
    if event.kind == "whole":
        return "Shorter than the shortest clip: the whole video is the clip."
    lead = event.start - start
    after = " after speech" if events.speech_share(signals, start, event.start) >= 0.3 else ""
    label = event.label[0].upper() + event.label[1:]
    return (
        f"{label}{after}, {_seconds(event.length)} ({event.detail}); "
        f"the clip starts {lead:.0f} s before it."
    )


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
