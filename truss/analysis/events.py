"""Highlight events found in a video's signals: bursts, shouts, stings and montages.

Each detector is one small function over `truss.media.Signals` (0.5 s bins):

- `local_rise`: each bin's level over the *local* baseline, the louder of the usual talk level
  (75th percentile) 4-16 s before and 4-16 s after it. A sound that starts and stays (a hum,
  a music bed) has no rise once it has started, and one at the very start or end of the video
  (an intro or outro bed) has no "before" or "after" to rise from: only bursts that come and
  go rise.
- `bursts`: runs of bins rising >= BURST_DB over the baseline (NOISY_BURST_DB for broadband
  bins where the sound around is not broadband: `local_flatness`) for 1-12 s, with at least
  a third of each bin's frames loud (a mic bump fills a few frames of one bin: no burst); one
  bin will do for a shout-sized rise filling most of it.
- `classify`: a burst's kind from its sound. Broadband (mean spectral flatness >= NOISY) is
  applause-like (cheering too); one voice (syllable gaps: spread_db >= VOICE_SPREAD) far above
  the talk (>= SHOUT_DB) is a shout; a changing, many-voiced sound without gaps (flux >= BUSY)
  is laughter-like; a steady tonal sound starting on a cut is a music sting. Anything else
  is not a highlight (a louder speaker, a music swell).
- `montages`: >= MONTAGE_CUTS cuts within MONTAGE_S seconds (cut density, never one cut).

An event's strength (0-1) feeds the clip's score (truss.analysis.signals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from truss.media import Signals

BASE_NEAR_S, BASE_FAR_S = 4.0, 16.0
BURST_DB = 6.0
NOISY_BURST_DB = -2.0  # a broadband (applause-like) bin only needs to be as loud as the talk
SHOUT_DB = 9.0
MIN_BURST_S, MAX_BURST_S = 1.0, 12.0
LOUD_SHARE = 0.35
FULL_SHARE = 0.6
NOISY = 0.2
BUSY = 6.0  # dB of spectral change per frame: many voices, not one held chord
VOICE_SPREAD = 6.0
STING_CUT_S = 1.0
MONTAGE_CUTS, MONTAGE_S = 4, 4.0


@dataclass(frozen=True)
class Event:
    """A highlight candidate: what it sounds or looks like, where, and how strong (0-1)."""

    kind: str  # "laughter", "applause", "shout", "sting", "montage"
    start: float
    end: float
    strength: float
    label: str  # what it is like, for the clip's reason: "laughter-like burst"
    detail: str  # the measurement behind it: "9 dB above the usual sound around it"

    @property
    def length(self) -> float:
        return self.end - self.start


def local_rise(signals: Signals) -> list[float]:
    """Each bin's level over its local baseline in dB (-inf where one side is missing)."""
    levels = np.asarray(signals.loudness_db)
    near, far = round(BASE_NEAR_S / signals.bin_s), round(BASE_FAR_S / signals.bin_s)
    rise = np.full(len(levels), -np.inf)
    for i in range(len(levels)):
        before = levels[max(0, i - far) : max(0, i - near)]
        after = levels[i + near : i + far]
        if len(before) >= near and len(after) >= near:
            base = max(np.percentile(before, 75), np.percentile(after, 75))
            rise[i] = levels[i] - base
    return rise.tolist()


def local_flatness(signals: Signals) -> list[float]:
    """Each bin's usual spectral flatness around it: the median 4-16 s before and after (1.0
    where a side is missing). A broadband burst must stand out from a bed that is not."""
    assert signals.sound is not None
    flat = np.asarray(signals.sound.flatness)
    near, far = round(BASE_NEAR_S / signals.bin_s), round(BASE_FAR_S / signals.bin_s)
    usual = np.ones(len(flat))
    for i in range(len(flat)):
        before = flat[max(0, i - far) : max(0, i - near)]
        after = flat[i + near : i + far]
        if len(before) >= near and len(after) >= near:
            usual[i] = float(np.median(np.concatenate([before, after])))
    return usual.tolist()


def _loud_share(signals: Signals, i: int, floor_db: float) -> float:
    """The share of bin i's frames louder than floor_db."""
    assert signals.sound is not None
    k = signals.sound.frames_per_bin()
    frames = signals.sound.frame_db[i * k : (i + 1) * k]
    return sum(f >= floor_db for f in frames) / max(1, len(frames))


def bursts(signals: Signals) -> list[tuple[int, int, float]]:
    """(first bin, end bin, peak rise dB) of sounds that come and go, 1-12 s long."""
    if signals.sound is None:
        return []
    rise = local_rise(signals)
    flat, usual_flat = signals.sound.flatness, local_flatness(signals)
    loud = [
        (r >= BURST_DB or (r >= NOISY_BURST_DB and flat[i] >= NOISY > usual_flat[i]))
        and _loud_share(signals, i, signals.loudness_db[i] - r + min(3.0, r - 3.0)) >= LOUD_SHARE
        for i, r in enumerate(rise)
    ]
    runs, i = [], 0
    while i < len(loud):
        if not loud[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(loud) and (loud[j + 1] or (j + 2 < len(loud) and loud[j + 2])):
            j += 1
        length = (j + 1 - i) * signals.bin_s
        if MIN_BURST_S <= length <= MAX_BURST_S or _short_shout(signals, i, j + 1, rise):
            runs.append((i, j + 1, max(rise[i : j + 1])))
        i = j + 1
    return runs


def _short_shout(signals: Signals, lo: int, hi: int, rise: list[float]) -> bool:
    """A burst shorter than MIN_BURST_S still counts when it is a shout-sized rise filling
    most of its bin (a short yell; a mic bump fills only a few frames)."""
    return (
        hi - lo == 1
        and rise[lo] >= SHOUT_DB
        and (_loud_share(signals, lo, signals.loudness_db[lo] - rise[lo] + 3.0) >= FULL_SHARE)
    )


def classify(signals: Signals, lo: int, hi: int, rise_db: float) -> Event | None:
    """The kind of the burst in bins [lo, hi), or None when it is no highlight."""
    assert signals.sound is not None
    sound, step = signals.sound, signals.bin_s
    start, end = lo * step, hi * step
    flat = float(np.mean(sound.flatness[lo:hi]))
    flux = float(np.mean(sound.flux[lo:hi]))
    spread = float(np.mean(sound.spread_db[lo:hi]))
    strength = max(0.0, min(1.0, (rise_db - BURST_DB + 4) / 12))
    above = f"{rise_db:.0f} dB above the usual sound around it"
    if flat >= NOISY:
        return Event("applause", start, end, strength, "applause-like burst", f"broadband, {above}")
    if spread >= VOICE_SPREAD and rise_db >= SHOUT_DB:
        return Event("shout", start, end, strength * 0.9, "shout", f"one voice {above}")
    if flux >= BUSY and spread < VOICE_SPREAD:
        return Event(
            "laughter", start, end, strength, "laughter-like burst", f"many voices, {above}"
        )
    if flux < BUSY and any(abs(c - start) <= STING_CUT_S for c in signals.cuts):
        return Event(
            "sting", start, end, strength * 0.85, "music sting on a cut", f"tonal, {above}"
        )
    return None


def montages(signals: Signals) -> list[Event]:
    """Stretches with at least MONTAGE_CUTS cuts within MONTAGE_S seconds, merged."""
    cuts, found = signals.cuts, list[tuple[float, float]]()
    for i in range(len(cuts) - MONTAGE_CUTS + 1):
        if cuts[i + MONTAGE_CUTS - 1] - cuts[i] <= MONTAGE_S:
            start, end = cuts[i], cuts[i + MONTAGE_CUTS - 1]
            if found and start <= found[-1][1]:
                found[-1] = (found[-1][0], max(found[-1][1], end))
            else:
                found.append((start, end))
    events = []
    for start, end in found:
        count = sum(start <= c <= end for c in cuts)
        rate = count / max(end - start, 0.5)
        strength = min(1.0, 0.4 + 0.06 * count)
        detail = f"{count} cuts, {rate:.1f} a second"
        events.append(Event("montage", start, end, strength, "montage", detail))
    return events


def find(signals: Signals) -> list[Event]:
    """Every highlight event of the video, strongest first."""
    events = montages(signals)
    for lo, hi, rise in bursts(signals):
        event = classify(signals, lo, hi, rise)
        if event is not None and not any(_overlap(event, m) for m in events):
            events.append(event)
    return sorted(events, key=lambda e: -e.strength)


def _overlap(a: Event, b: Event) -> bool:
    return a.start < b.end and b.start < a.end


def speech_bins(signals: Signals) -> list[bool]:
    """Where someone talks (an energy / spectral VAD): syllable gaps within the bin (frame
    levels spread >= VOICE_SPREAD dB), not broadband noise, and within 20 dB of the talk."""
    if signals.sound is None:
        return [False] * len(signals.loudness_db)
    sound = signals.sound
    talk = float(np.percentile(signals.loudness_db, 75))
    return [
        spread >= VOICE_SPREAD and flat < NOISY and level >= talk - 20
        for spread, flat, level in zip(sound.spread_db, sound.flatness, sound.level_db, strict=True)
    ]


def speech_share(signals: Signals, start: float, end: float) -> float:
    """The share of bins between start and end that hold speech."""
    lo, hi = signals.bin_at(max(0.0, start)), signals.bin_at(end)
    talk = speech_bins(signals)[lo:hi]
    return sum(talk) / len(talk) if talk else 0.0
